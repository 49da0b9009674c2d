/** Settings passed to a function as JSON, or the word `none` when they are off (MLSHIP_CHALLENGER, MLSHIP_PROMOTION_POLICY). */
export const NONE_SETTING = 'none';

/** The setting's JSON, or undefined for `none`; `what` names it in the error. */
export function jsonOrNone(raw: string, what: string): unknown {
  if (raw === NONE_SETTING) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`${what} must be JSON or "${NONE_SETTING}", got ${raw}`);
  }
}

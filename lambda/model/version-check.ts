/**
 * The model/manifest version check behind `POST /predict`. During a model update the Serving stack moves
 * traffic to the new model before the Api stack gives the predict function the new manifest: for that
 * window the function would check bodies against one schema and answer with another model's output.
 * An answer from a model the function was not configured with is refused as 503 MODEL_VERSION_MISMATCH
 * (with Retry-After: the window closes when the Api stack's update lands), never passed on. A shadow's
 * predictions from a version not accepted become that shadow's MODEL_VERSION_MISMATCH: the answer stands.
 */
import { ApiError } from '../../contract/errors';
import type { InvocationResponse } from '../../contract/prediction';
import type { Backend } from './backend';

type ModelRef = InvocationResponse['model'];

const refOf = (m: ModelRef): string => `${m.name}/${m.version}`;

/**
 * `backend`, answering only for the models in `configured` (every version the function serves: one, or
 * a champion and a challenger), or in `current()` when given (those and the registered versions the
 * routing state in force names); `onMismatch` sees each refused answer (for a metric).
 */
export function versionChecked(
  backend: Backend,
  configured: readonly ModelRef[],
  onMismatch?: (answered: ModelRef) => void,
  current?: () => readonly ModelRef[],
): Backend {
  if (configured.length === 0) throw new Error('versionChecked needs at least one configured model version.');
  const fixed = new Set(configured.map(refOf));
  const acceptedNow = current === undefined ? () => fixed : () => new Set([...fixed, ...current().map(refOf)]);
  return {
    kind: backend.kind,
    async invoke(body, expectedPredictions, deadline, version, shadow) {
      const answer = await backend.invoke(body, expectedPredictions, deadline, version, shadow);
      const accepted = acceptedNow();
      if (!accepted.has(refOf(answer.model))) {
        const expected = [...accepted].join(', ');
        onMismatch?.(answer.model);
        throw new ApiError(
          'MODEL_VERSION_MISMATCH',
          `The model server answered as ${refOf(answer.model)}; this API is configured for ${expected}. A model update is in progress; retry shortly.`,
          undefined,
          { answered: refOf(answer.model), configured: [...accepted] },
        );
      }
      const s = answer.shadow;
      if (s === undefined || !('predictions' in s) || accepted.has(refOf({ name: answer.model.name, version: s.version }))) return answer;
      return { ...answer, shadow: { version: s.version, ms: s.ms, error: 'MODEL_VERSION_MISMATCH' } };
    },
  };
}

/**
 * JSON bodies parsed with bounded work: the nesting depth is checked by one linear scan before
 * `JSON.parse` sees the text, so millions of `[` cost a scan that stops at the limit, not a parse and a
 * validation walk over every level.
 */
import { ApiError, errorMessage } from './errors';
import { LIMITS } from './limits';

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_ARRAY = 91;
const OPEN_OBJECT = 123;
const CLOSE_ARRAY = 93;
const CLOSE_OBJECT = 125;

/** Throws INVALID_JSON when arrays and objects nest deeper than `maxDepth` (strings are skipped). */
export function checkJsonDepth(text: string, maxDepth: number = LIMITS.maxJsonDepth): void {
  // A text shorter than the limit cannot nest deeper than it.
  if (text.length <= maxDepth) return;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    // Digits, commas, dots, signs, colons and quotes are all below '[': one comparison for most characters.
    if (c < OPEN_ARRAY) {
      if (c === QUOTE) i = stringEnd(text, i);
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) throw new ApiError('INVALID_JSON', `The JSON nests deeper than ${maxDepth} levels.`);
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
}

/** Index of the quote closing the string opened at `open` (or the end): found natively, escapes respected. */
function stringEnd(text: string, open: number): number {
  let q = open;
  for (;;) {
    q = text.indexOf('"', q + 1);
    if (q === -1) return text.length;
    // A quote preceded by an odd number of backslashes is escaped.
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
  }
}

/** What some Windows tools (Excel, PowerShell) write before a UTF-8 text's first character. */
export const BYTE_ORDER_MARK = 0xfeff;

/**
 * `JSON.parse` after the depth check; a malformed body is INVALID_JSON with the parser's reason. A leading
 * byte order mark (what some Windows tools write) is ignored, as RFC 8259 allows.
 */
export function parseJsonBounded(text: string, maxDepth: number = LIMITS.maxJsonDepth): unknown {
  const json = text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text;
  checkJsonDepth(json, maxDepth);
  try {
    return JSON.parse(json);
  } catch (e) {
    throw new ApiError('INVALID_JSON', `The body is not valid JSON: ${errorMessage(e)}`);
  }
}

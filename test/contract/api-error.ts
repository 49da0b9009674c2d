/** Test support: the code and field of the ApiError a call throws. */
import { ApiError } from '../../contract/errors';

export function codeOf(fn: () => unknown): { code: string; field?: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('expected an ApiError');
}

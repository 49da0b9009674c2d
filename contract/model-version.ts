/**
 * The form of a model version, apart from the manifest and the routing rules that both use it, so
 * neither imports the other for it.
 */
import * as z from 'zod/mini';

/** A model version: header-safe (letters, digits, `.`, `_`, `-`), so it travels in a header and a custom attribute. */
export const MODEL_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const versionSchema = z.string().check(z.regex(MODEL_VERSION_PATTERN, 'letters, digits, dots, dashes and underscores (max 64)'));

/**
 * What the routes read from a request, as zod schemas that parse and document at once: path parameters,
 * query strings and JSON bodies. The functions' common handler parses each request with its route's
 * schemas before the route runs (`lambda/http/route-parse.ts`), and the OpenAPI document is drawn from
 * the same objects. A schema that can fail carries its refusal: the stable code and message a caller gets.
 */
import * as z from 'zod/mini';
import type { ModelSchemas } from './api-schemas';
import type { ErrorCode } from './errors';
import { FORMATS, LIMITS } from './limits';
import type { ModelManifest } from './manifest';

// ---- refusals --------------------------------------------------------------------------------------

/** What the API answers when a value fails its schema. */
export interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Kept apart from zod's global registry, which `z.toJSONSchema` would copy into the document. */
const REFUSALS = z.registry<Refusal>();

/**
 * `schema`, refused with `code` and `message`. On a field: any failure of its value. On an object (a
 * route's params, query or body): a value that is no object, unknown or missing fields, cross-field checks.
 */
export function refusing<T extends z.core.$ZodType>(schema: T, code: ErrorCode, message: string): T {
  REFUSALS.add(schema, { code, message });
  return schema;
}

/** The refusal of `schema`, looking through `optional` and `default` (where a field's own schema sits). */
export function refusalOf(schema: z.core.$ZodType): Refusal | undefined {
  let s: z.core.$ZodType | undefined = schema;
  while (s !== undefined) {
    const found = REFUSALS.get(s);
    if (found !== undefined) return found;
    const def: z.core.$ZodTypeDef = s._zod.def;
    s = def.type === 'optional' || def.type === 'default' ? (def as z.core.$ZodOptionalDef).innerType : undefined;
  }
  return undefined;
}

/** A check across an object's fields, refused with the object's code, `message` and `field`. */
function acrossFields<T>(ok: (value: T) => boolean, field: string, message: string) {
  return z.refine<T>(ok, { path: [field], message, params: { acrossFields: true } });
}

/** Whether `issue` is one of an `acrossFields` check (its message speaks for itself). */
export function isAcrossFields(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && issue.params?.acrossFields === true;
}

// ---- parameters ------------------------------------------------------------------------------------

/** The check of a format; later checks of the same value only run on a value that passed it. */
const pattern = (re: RegExp) => z.regex(new RegExp(re.source), { abort: true });

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_WINDOW_MS = FORMATS.maxSummaryWindowDays * UNIT_MS.d;

/** `15m`, `1h`, `24h`, `7d`… in milliseconds, or undefined when malformed or longer than `maxSummaryWindowDays`. */
function windowLength(window: string): number | undefined {
  const m = FORMATS.summaryWindow.exec(window);
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > MAX_WINDOW_MS ? undefined : ms;
}

/** A summary window the query schema admitted (`window` of `GET /metrics/summary`). */
export type SummaryWindow = z.output<typeof PARAMETERS.window>;

/** The length of an admitted summary window, in milliseconds. */
export function summaryWindowMs(window: SummaryWindow): number {
  const ms = windowLength(window);
  // Unreachable for a parsed window: the brand is only given by the schema's own check.
  if (ms === undefined) throw new Error(`${window} is not a summary window.`);
  return ms;
}

/** `from` / `to`: an ISO 8601 time of the calendar, normalized to the form the log's keys use. */
function isoTime(field: 'from' | 'to', description: string) {
  return refusing(
    z.string().check(
      pattern(FORMATS.isoTime),
      z.refine((s) => !Number.isNaN(Date.parse(s)), { abort: true }),
      z.overwrite((s) => new Date(s).toISOString()),
      z.describe(description),
    ),
    'INVALID_QUERY',
    `${field} must be an ISO 8601 time such as 2025-01-31T12:00:00Z.`,
  );
}

/** Path, query and header parameters; each one a request can fail carries its refusal. */
export const PARAMETERS = {
  id: refusing(
    z.string().check(pattern(FORMATS.predictionId), z.describe('A prediction id: 26 characters of Crockford base32.')),
    'INVALID_ID',
    'Not a prediction id (26 characters of Crockford base32).',
  ),
  // A query string's digits (no sign, exponent or spaces; four are plenty), then the range.
  limit: refusing(
    z.pipe(
      z.string().check(z.regex(/^\d{1,4}$/)),
      z.pipe(
        z.transform(Number),
        z.int().check(z.minimum(1), z.maximum(LIMITS.maxPageSize), z.describe(`Items per page (default ${LIMITS.defaultPageSize}).`)),
      ),
    ),
    'INVALID_QUERY',
    `limit must be an integer from 1 to ${LIMITS.maxPageSize}.`,
  ),
  // Checked against the caller's own index partition by the route (INVALID_CURSOR there too).
  cursor: refusing(
    z.string().check(z.minLength(1), z.describe('The `cursor` of the previous page, as it was answered.')),
    'INVALID_CURSOR',
    'The cursor is not one this API issued; start again without it.',
  ),
  version: refusing(
    z.string().check(z.minLength(1), z.maxLength(FORMATS.maxVersionLength), z.describe('Only predictions of this model version.')),
    'INVALID_QUERY',
    `version must be 1-${FORMATS.maxVersionLength} characters.`,
  ),
  from: isoTime('from', 'Oldest prediction time, inclusive: an ISO 8601 date, or date and time with a zone.'),
  to: isoTime('to', 'Newest prediction time, inclusive: an ISO 8601 date, or date and time with a zone.'),
  window: refusing(
    z
      .string()
      .check(
        pattern(FORMATS.summaryWindow),
        z.refine((w) => windowLength(w) !== undefined),
        z.describe(
          `Minutes, hours or days back from now (15m, 1h, 24h, 7d, 90d), at most ${FORMATS.maxSummaryWindowDays}d; default 24h. ` +
            `Windows over ${FORMATS.maxLogSummaryWindowHours}h are answered from the analytics store over whole UTC days (ANALYTICS_OFF where the deployment has none).`,
        ),
      )
      .brand<'SummaryWindow'>(),
    'INVALID_QUERY',
    `window must look like 15m, 1h, 24h or 7d (at most ${FORMATS.maxSummaryWindowDays}d).`,
  ),
  // Documents the header; `POST /predict` checks it itself, with its body (lambda/log/idempotency.ts).
  idempotencyKey: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(LIMITS.maxIdempotencyKeyLength),
      pattern(FORMATS.idempotencyKey),
      z.describe('Repeat-safe key: the same key and body within a day return the first answer and log nothing.'),
    ),
} as const;

// ---- what each route reads -------------------------------------------------------------------------

/** An object whose fields are read from strings (path segments, query string parameters). */
type StringFields = z.ZodMiniObject<Record<string, z.core.$ZodType<unknown, string | undefined>>>;
/** Path parameters: one schema per `{name}` of the route's path. */
export type ParamsSchema = StringFields;
/** Query string parameters the route reads (anything else is ignored); each optional or defaulted. */
export type QuerySchema = StringFields;

/** A request body: the model's schema of it (by its OpenAPI component name) and who parses it. */
export type BodySpec =
  /** JSON parsed by the common handler before the route runs: media type, size, syntax, then `schema`. */
  | {
      readonly parsedBy: 'handler';
      readonly component: keyof ModelSchemas;
      /** The body's schema for the served model (the one `modelSchemas` names `component`). */
      readonly schema: (m: ModelManifest) => z.core.$ZodType;
      /** Largest body accepted (413 above it). */
      readonly maxBytes: number;
    }
  /** Read by the route itself (`POST /predict`: JSON, CSV rows, images and S3 references); documented here. */
  | {
      readonly parsedBy: 'route';
      readonly component: keyof ModelSchemas;
      /** Tabular models also take `text/csv`, one instance per line. */
      readonly csv: boolean;
    };

export const PREDICTION_PARAMS = refusing(z.object({ id: PARAMETERS.id }), 'INVALID_ID', 'Send a prediction id in the path.');

/** The Open Inference Protocol's model address; a name or version not served is the route's 404. */
export const V2_MODEL_PARAMS = refusing(z.object({ name: z.string() }), 'NOT_FOUND', 'Name the model in the path.');
export const V2_MODEL_VERSION_PARAMS = refusing(
  z.object({ name: z.string(), version: z.string() }),
  'NOT_FOUND',
  'Name the model and its version in the path.',
);

export const DASHBOARD_FILE_PARAMS = refusing(z.object({ file: z.string() }), 'NOT_FOUND', 'Name a dashboard file in the path.');

export const LIST_PREDICTIONS_QUERY = refusing(
  z
    .object({
      limit: z._default(PARAMETERS.limit, LIMITS.defaultPageSize),
      cursor: z.optional(PARAMETERS.cursor),
      version: z.optional(PARAMETERS.version),
      from: z.optional(PARAMETERS.from),
      to: z.optional(PARAMETERS.to),
    })
    .check(acrossFields((q) => q.from === undefined || q.to === undefined || q.from <= q.to, 'from', '"from" is after "to".')),
  'INVALID_QUERY',
  'Query parameters: limit, cursor, version, from, to.',
);

export const METRICS_SUMMARY_QUERY = refusing(
  z.object({ window: z._default(PARAMETERS.window, PARAMETERS.window.parse('24h')) }),
  'INVALID_QUERY',
  'Query parameters: window.',
);

// ---- bodies ----------------------------------------------------------------------------------------

/** Labels a refused feedback names (a model may have many). */
const LABELS_NAMED = 20;

/**
 * `POST /predictions/{id}/feedback`: the label (one of the model's labels, or a number for regression) and
 * whether it replaces feedback given before. Unknown fields are refused rather than ignored.
 */
export function feedbackRequestSchema(m: ModelManifest) {
  const label =
    m.output.kind === 'classification'
      ? refusing(
          z.enum(m.output.labels as [string, ...string[]]),
          'INVALID_LABEL',
          `"label" must be one of the model's labels: ${m.output.labels.slice(0, LABELS_NAMED).join(', ')}${m.output.labels.length > LABELS_NAMED ? ', …' : ''}.`,
        )
      : refusing(z.number(), 'INVALID_LABEL', '"label" must be a finite number for a regression model.');
  return refusing(
    z.strictObject({
      label,
      replace: z.optional(
        refusing(
          z
            .boolean()
            .check(z.describe('Replace the feedback given before (it moves to `feedbackHistory`); without it a second feedback is 409.')),
          'INVALID_BODY',
          '"replace" must be true or false.',
        ),
      ),
    }),
    'INVALID_BODY',
    'Send {"label": …, "replace"?: true}.',
  );
}

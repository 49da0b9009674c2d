/**
 * A synthetic prediction log for the analytics benchmark: one model (breast-cancer, 30 features), two
 * versions over the days, feature values drawn from the training baseline's bins (a few features drift
 * in the later days), labels from the class priors, feedback on a share of the predictions. Seeded, so
 * every run makes the same log. Records have the log item's exact shape (`PredictionRecord`); store
 * them with `encodeRecord`, as the API does.
 */
import { isCategorical, type ModelBaseline } from '../../contract/baseline';
import type { FeatureType } from '../../contract/manifest';
import { float32Decimal, type PredictionRecord } from '../../contract/prediction-log';

/** mulberry32: a small seeded PRNG (the bench must be repeatable, Math.random is not). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped id (26 Crockford characters: time, then randomness), as the API issues. */
function ulid(ms: number, r: () => number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32] + out;
    t = Math.floor(t / 32);
  }
  for (let i = 0; i < 16; i++) out += CROCKFORD[Math.floor(r() * 32)];
  return out;
}

export interface LogShape {
  model: string;
  labels: string[];
  baseline: ModelBaseline;
  /** The manifest's feature types, in the baseline's order: values are logged as the API logs them. */
  featureTypes: readonly FeatureType[];
  rows: number;
  days: number;
  /** First day, UTC midnight. */
  start: Date;
  /** Share of predictions that get feedback. @default 0.3 */
  feedbackShare?: number;
}

/** Four significant digits, like the training data's measurements. */
function round4(x: number): number {
  return Number(x.toPrecision(4));
}

/** An index drawn by the shares (the last index takes whatever the others leave). */
function pick(shares: readonly number[], r: () => number): number {
  let u = r();
  let i = 0;
  while (i < shares.length - 1 && u > shares[i]) u -= shares[i++];
  return i;
}

/**
 * A value of a feature as the API logs it: floats as float32 shortest decimals, ints whole, bools as
 * booleans; a categorical feature's "any other value" share becomes a value training never saw.
 */
function featureValue(f: ModelBaseline['features'][number], type: FeatureType, shift: number, r: () => number): number | string | boolean {
  const bin = pick(f.proportions, r);
  if (isCategorical(f)) {
    const value = bin < f.categories.length ? f.categories[bin] : `unseen-${Math.floor(r() * 100)}`;
    return type === 'bool' ? value === 'true' : value;
  }
  // A value inside the bin (outer bins run to the training min/max).
  const lo = bin === 0 ? f.min : f.edges[bin - 1];
  const hi = bin === f.edges.length ? f.max : f.edges[bin];
  const x = lo + r() * (hi - lo) + shift;
  return type === 'int' ? Math.round(x) : type === 'float' ? float32Decimal(round4(x)) : round4(x);
}

/**
 * The records of one day, in time order. Version 1.0.0 answers the first two thirds of the days, 1.1.0
 * the rest; from then on the first three numeric features drift up by half a standard deviation.
 */
export function dayOfLog(shape: LogShape, day: number): PredictionRecord[] {
  const r = rng(0x5eed + day);
  const perDay = Math.floor(shape.rows / shape.days) + (day < shape.rows % shape.days ? 1 : 0);
  const dayStart = shape.start.getTime() + day * 86_400_000;
  const late = day >= Math.floor((shape.days * 2) / 3);
  const version = late ? '1.1.0' : '1.0.0';
  const priors = Object.entries(shape.baseline.classPriors ?? Object.fromEntries(shape.labels.map((l) => [l, 1 / shape.labels.length])));
  if (shape.featureTypes.length !== shape.baseline.features.length)
    throw new Error(`${shape.featureTypes.length} feature types for ${shape.baseline.features.length} baseline features`);
  const out: PredictionRecord[] = new Array(perDay);
  for (let i = 0; i < perDay; i++) {
    const ms = dayStart + Math.floor((i / perDay) * 86_400_000);
    const createdAt = new Date(ms).toISOString();
    const id = ulid(ms, r);
    const inputValues = shape.baseline.features.map((f, j) =>
      featureValue(f, shape.featureTypes[j], late && j < 3 && !isCategorical(f) ? f.std / 2 : 0, r),
    );
    const label =
      priors[
        pick(
          priors.map(([, share]) => share),
          r,
        )
      ][0];
    const p = 0.5 + r() / 2;
    const probabilities = Object.fromEntries(shape.labels.map((l) => [l, l === label ? p : (1 - p) / (shape.labels.length - 1)]));
    const record: PredictionRecord = {
      id,
      model: shape.model,
      modelVersion: version,
      createdAt,
      inputValues,
      label,
      probabilities,
      latencyMs: round4(1 + -Math.log(1 - r()) * 3),
      requestId: `${ulid(ms, r).toLowerCase()}`,
      apiKeyId: `key${Math.floor(r() * 5)}`,
      expiresAt: Math.floor(ms / 1000) + 365 * 86_400,
    };
    if (r() < (shape.feedbackShare ?? 0.3)) {
      const right = r() < (late ? 0.88 : 0.95);
      const given = right ? label : shape.labels.find((l) => l !== label);
      if (given === undefined) throw new Error(`shape ${shape.model} needs a second label for wrong feedback`);
      record.feedback = { label: given, givenAt: new Date(ms + 3_600_000).toISOString() };
    }
    out[i] = record;
  }
  return out;
}

/**
 * The size DynamoDB bills and stores for an item (the documented rules): attribute names and string
 * values in UTF-8 bytes, numbers about one byte per two significant digits plus one, 1 byte for a
 * boolean or null, and 3 bytes plus 1 per element for a list or map.
 */
export function dynamoItemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + attributeSize(value);
  return size;
}

function attributeSize(v: unknown): number {
  const a = v as { S?: string; N?: string; BOOL?: boolean; NULL?: boolean; L?: unknown[]; M?: Record<string, unknown> };
  if (a.S !== undefined) return Buffer.byteLength(a.S);
  if (a.N !== undefined) {
    const digits =
      a.N.replace(/^-/, '')
        .replace(/[eE].*$/, '')
        .replace('.', '')
        .replace(/^0+/, '')
        .replace(/0+$/, '') || '0';
    return Math.ceil(digits.length / 2) + 1;
  }
  if (a.BOOL !== undefined || a.NULL !== undefined) return 1;
  if (a.L !== undefined) return 3 + a.L.reduce<number>((s, x) => s + 1 + attributeSize(x), 0);
  if (a.M !== undefined) return 3 + Object.entries(a.M).reduce((s, [k, x]) => s + 1 + Buffer.byteLength(k) + attributeSize(x), 0);
  throw new Error(`Unknown attribute value ${JSON.stringify(v)}`);
}

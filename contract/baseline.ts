/**
 * Training statistics written beside a model (`baseline.json`, by `models/export_tools.py`): per-feature
 * decile bins and class priors. The scheduled quality job and the web dashboard compare live inputs and
 * predicted classes with them to measure drift.
 */
import * as z from 'zod/mini';
import { featureCount, type ModelManifest } from './manifest';
import './zod-messages';

const share = z.number().check(z.minimum(0), z.maximum(1));

/** A numeric distribution: summary statistics and decile bins. */
const numericDistribution = {
  mean: z.number(),
  std: z.number().check(z.nonnegative()),
  min: z.number(),
  max: z.number(),
  /** The k − 1 interior cut points; bin i holds v with edges[i−1] < v <= edges[i] (outer bins open-ended). */
  edges: z.array(z.number()),
  /** Training share of each of the k bins. */
  proportions: z.array(share).check(z.minLength(1)),
};

const featureBaseline = z.object({ name: z.string().check(z.minLength(1)), ...numericDistribution });

/** Metrics of the trained model on held-out rows: the reference the quality thresholds are relative to. */
const heldOutEvaluation = z.object({
  /** Held-out rows the metrics were computed on. */
  rows: z.int().check(z.positive()),
  /** Classifiers: accuracy and macro-averaged F1. */
  accuracy: z.optional(share),
  macroF1: z.optional(share),
  /** Regression: mean absolute and root-mean-square error. */
  mae: z.optional(z.number().check(z.nonnegative())),
  rmse: z.optional(z.number().check(z.nonnegative())),
});

/** A string or bool feature: the training share of each value, then of any value not listed. */
const categoricalBaseline = z.object({
  name: z.string().check(z.minLength(1)),
  kind: z.literal('categorical'),
  /** Training values (bool features as "true" / "false"). */
  categories: z.array(z.string()).check(z.minLength(1)),
  /** Training share of each category, then of any other value: categories.length + 1 entries. */
  proportions: z.array(share).check(z.minLength(2)),
});

export const baselineSchema = z
  .object({
    /** Training rows the statistics were computed on. */
    rows: z.int().check(z.positive()),
    bins: z.int().check(z.minimum(1)),
    /** One entry per model input value, in the model's input order (tabular features, or image pixels). */
    features: z.array(z.union([categoricalBaseline, featureBaseline])).check(z.minLength(1)),
    /** Training share of each class label (classifiers only). */
    classPriors: z.optional(z.record(z.string(), share)),
    /** Regression only: the model's predicted values on the training rows, binned like a feature (decile edges). */
    prediction: z.optional(z.object(numericDistribution)),
    /** The trained model's metrics on held-out rows. */
    evaluation: z.optional(heldOutEvaluation),
  })
  .check(
    z.superRefine((b, ctx) => {
      b.features.forEach((f, i) => {
        if ('kind' in f) {
          if (f.proportions.length !== f.categories.length + 1)
            ctx.addIssue({
              code: 'custom',
              input: f.proportions,
              path: ['features', i, 'proportions'],
              message: `expected ${f.categories.length + 1} proportions (each category, then any other value)`,
            });
          return;
        }
        checkBins(f, b.bins, ['features', i], ctx);
      });
      if (b.prediction !== undefined) checkBins(b.prediction, b.bins, ['prediction'], ctx);
    }),
  );

/** A numeric distribution has `bins` proportions and `bins` − 1 ascending edges. */
function checkBins(
  d: { edges: number[]; proportions: number[] },
  bins: number,
  path: (string | number)[],
  ctx: { addIssue: (issue: { code: 'custom'; input: unknown; path: (string | number)[]; message: string }) => void },
): void {
  if (d.proportions.length !== bins)
    ctx.addIssue({ code: 'custom', input: d.proportions, path: [...path, 'proportions'], message: `expected ${bins} proportions` });
  if (d.edges.length !== bins - 1)
    ctx.addIssue({ code: 'custom', input: d.edges, path: [...path, 'edges'], message: `expected ${bins - 1} edges` });
  if (d.edges.some((e, j) => e < (d.edges[j - 1] ?? -Infinity)))
    ctx.addIssue({ code: 'custom', input: d.edges, path: [...path, 'edges'], message: 'edges must be ascending' });
}

export type ModelBaseline = z.output<typeof baselineSchema>;
export type FeatureBaseline = ModelBaseline['features'][number];
export type NumericFeatureBaseline = Exclude<FeatureBaseline, { kind: 'categorical' }>;
export type CategoricalFeatureBaseline = Extract<FeatureBaseline, { kind: 'categorical' }>;

export function isCategorical(f: FeatureBaseline): f is CategoricalFeatureBaseline {
  return 'kind' in f && f.kind === 'categorical';
}

export const BASELINE_FILE = 'baseline.json';

/** Parses and checks a baseline; the error lists every problem with its path. */
export function parseBaseline(raw: unknown, source = BASELINE_FILE): ModelBaseline {
  const result = baselineSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`Invalid model baseline ${source}:\n  - ${problems.join('\n  - ')}`);
  }
  return result.data;
}

/**
 * Optional field of the `GET /model` answer: the served model's baseline, when the meta function has it.
 * The dashboard measures feature drift against it; without it the dashboard compares the newest
 * predictions with the older ones it loaded and says so.
 */
export const MODEL_INFO_BASELINE_FIELD = 'baseline';

/** A baseline from another model would yield confident nonsense: its features must be the model's inputs. */
export function checkBaselineMatches(manifest: ModelManifest, baseline: ModelBaseline): void {
  const n = featureCount(manifest);
  if (baseline.features.length !== n) {
    throw new Error(
      `The baseline describes ${baseline.features.length} features but model ${manifest.name} takes ${n} values per instance`,
    );
  }
  if (manifest.input.kind === 'tabular') {
    const i = manifest.input.features.findIndex((f, j) => f.name !== baseline.features[j]?.name);
    if (i !== -1)
      throw new Error(`Baseline feature ${i} is "${baseline.features[i]?.name}" but the model's is "${manifest.input.features[i]?.name}"`);
  }
  const classifier = manifest.output.kind === 'classification';
  if (classifier && baseline.prediction !== undefined)
    throw new Error(
      `The baseline holds a predicted-value distribution, which only a regression model has; model ${manifest.name} is a classifier`,
    );
  const evaluation: Partial<Record<'accuracy' | 'macroF1' | 'mae' | 'rmse', number>> = baseline.evaluation ?? {};
  const foreign = (classifier ? (['mae', 'rmse'] as const) : (['accuracy', 'macroF1'] as const)).find((k) => evaluation[k] !== undefined);
  if (foreign !== undefined)
    throw new Error(`The baseline's held-out ${foreign} does not apply to model ${manifest.name}, a ${manifest.output.kind} model`);
  if (manifest.output.kind === 'classification' && baseline.classPriors !== undefined) {
    const labels = new Set(manifest.output.labels);
    const unknown = Object.keys(baseline.classPriors).find((l) => !labels.has(l));
    if (unknown !== undefined) throw new Error(`The baseline's class prior "${unknown}" is not one of the model's labels`);
  }
}

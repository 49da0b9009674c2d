/**
 * Training statistics written beside a model (`baseline.json`, by `models/export_tools.py`): per-feature
 * decile bins and class priors. The scheduled quality job and the web dashboard compare live inputs and
 * predicted classes with them to measure drift.
 */
import * as z from 'zod';

const featureBaseline = z.object({
  name: z.string().min(1),
  mean: z.number(),
  std: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
  /** The k − 1 interior cut points; bin i holds v with edges[i−1] < v <= edges[i] (outer bins open-ended). */
  edges: z.array(z.number()),
  /** Training share of each of the k bins. */
  proportions: z.array(z.number().min(0).max(1)).min(1),
});

export const baselineSchema = z
  .object({
    /** Training rows the statistics were computed on. */
    rows: z.number().int().positive(),
    bins: z.number().int().min(1),
    /** One entry per model input value, in the model's input order (tabular features, or image pixels). */
    features: z.array(featureBaseline).min(1),
    /** Training share of each class label (classifiers only). */
    classPriors: z.record(z.string(), z.number().min(0).max(1)).optional(),
  })
  .superRefine((b, ctx) => {
    b.features.forEach((f, i) => {
      if (f.proportions.length !== b.bins) ctx.addIssue({ code: 'custom', path: ['features', i, 'proportions'], message: `expected ${b.bins} proportions` });
      if (f.edges.length !== b.bins - 1) ctx.addIssue({ code: 'custom', path: ['features', i, 'edges'], message: `expected ${b.bins - 1} edges` });
      if (f.edges.some((e, j) => j > 0 && e < f.edges[j - 1])) ctx.addIssue({ code: 'custom', path: ['features', i, 'edges'], message: 'edges must be ascending' });
    });
  });

export type ModelBaseline = z.infer<typeof baselineSchema>;
export type FeatureBaseline = ModelBaseline['features'][number];

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

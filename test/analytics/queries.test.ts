/**
 * Each named query on DuckDB against answers worked out by hand (test/analytics/fixtures.ts), the same
 * answers with every row delivered twice, and the dialect rules that keep the SQL runnable on Athena.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tableColumns } from '../../contract/analytics';
import {
  NAMED_QUERIES,
  type NamedQuery,
  namedQueriesFor,
  namedQuerySql,
  PORTABLE_FUNCTIONS,
  parameterCount,
  QUERY_PSI_EPSILON,
  summarySql,
  versionQualitySql,
} from '../../contract/analytics-queries';
import { featurePsi, PSI_EPSILON } from '../../contract/drift';
import { parseManifest } from '../../contract/manifest';
import { compactClosedDays } from '../../lambda/analytics/compact';
import type { AnalyticsRow } from '../../lambda/analytics/engine';
import { predictionRow } from '../../lambda/analytics/log-rows';
import { objectsOf } from '../../lambda/analytics/store';
import { analyticsVersions } from '../../lambda/log/summary';
import { type AnalyticsDb, openAnalyticsDb } from '../../local/analytics/duckdb';
import { folderObjectStore } from '../../local/analytics/folder-store';
import { defined } from '../support/defined';
import {
  BASELINE,
  EARLIER_FEEDBACK,
  expectRows,
  feedbackRows,
  MANIFEST,
  normalize,
  OTHER_MODEL_RECORDS,
  predictionRows,
  RECORDS,
  tempStore,
  throughLog,
  writeStore,
} from './fixtures';

const SINCE = '2026-01-01';
/** The queries of the classifier fixture. */
const CLASSIFIER_QUERIES = namedQueriesFor(MANIFEST, BASELINE).filter((q) => q !== 'regression-error-by-day');

/**
 * How the fixture log reached the store: once; a second time in other batches; compacted (both days
 * closed) and then delivered again, stale feedback included; with only day 1 compacted; beside another model's rows.
 */
const DELIVERIES = ['once', 'twice', 'compacted, then again', 'day 1 compacted', 'beside another model'] as const;
type Delivery = (typeof DELIVERIES)[number];

/** The same rows again in other batches (other keys): a redelivery that did not land on the same objects. */
async function deliverAgain(root: string): Promise<void> {
  await writeStore(root, 'predictions', predictionRows(RECORDS.slice(0, 3)));
  await writeStore(root, 'predictions', predictionRows(RECORDS.slice(1)));
  await writeStore(root, 'feedback', feedbackRows(RECORDS.slice(0, 2)));
}

async function openWith(delivery: Delivery | boolean): Promise<{ db: AnalyticsDb; root: string }> {
  const how: Delivery = delivery === true ? 'twice' : delivery === false ? 'once' : delivery;
  const root = tempStore();
  await writeStore(root, 'predictions', predictionRows(RECORDS));
  await writeStore(root, 'feedback', feedbackRows([...RECORDS, EARLIER_FEEDBACK]));
  if (how !== 'once') await deliverAgain(root);
  if (how === 'compacted, then again') {
    await compactClosedDays(folderObjectStore(root), MANIFEST, { now: new Date('2026-02-01T00:00:00Z') });
    // After compaction: the same batches again, and p4's superseded feedback, older than the compacted one.
    await deliverAgain(root);
    await writeStore(root, 'feedback', feedbackRows([EARLIER_FEEDBACK]));
  }
  if (how === 'beside another model') {
    await writeStore(root, 'predictions', predictionRows(OTHER_MODEL_RECORDS));
    await writeStore(root, 'feedback', feedbackRows(OTHER_MODEL_RECORDS));
  }
  if (how === 'day 1 compacted') await compactClosedDays(folderObjectStore(root), MANIFEST, { now: new Date('2026-01-02T12:00:00Z') });
  return { db: await openAnalyticsDb(root, MANIFEST, { threads: 1 }), root };
}

/** The hand-worked answers (see fixtures.ts for the log). */
const ln = Math.log;
const eps = 1e-4;
const psiV2a = (eps - 0.25) * ln(eps / 0.25) + (eps - 0.5) * ln(eps / 0.5) + (1 - 0.25) * ln(1 / 0.25);
const psiV2b = (1 - 0.5) * ln(1 / 0.5) + 2 * (eps - 0.25) * ln(eps / 0.25);
// Categorical c against red .5, o'k .3, other .2. Version 1: red ×3, blue (other) ×1 → .75/0/.25.
const psiV1c = (0.75 - 0.5) * ln(0.75 / 0.5) + (eps - 0.3) * ln(eps / 0.3) + (0.25 - 0.2) * ln(0.25 / 0.2);
// Version 2: o'k (a quote inside the SQL literal) → 0/1/0.
const psiV2c = (eps - 0.5) * ln(eps / 0.5) + (1 - 0.3) * ln(1 / 0.3) + (eps - 0.2) * ln(eps / 0.2);
// Bool d against true .75, false .25, other 0: version 1 has the training shares (the empty bin's 0 meets 0 → 0);
// version 2 is one false → 0/1/0.
const psiV2d = (eps - 0.75) * ln(eps / 0.75) + (1 - 0.25) * ln(1 / 0.25);
/** The classifier fixture's answers (regression-error-by-day is a regressor's: quality-queries.test.ts). */
const EXPECTED: Record<Exclude<NamedQuery, 'regression-error-by-day'>, Record<string, unknown>[]> = {
  // day 1: p1 right, p2 wrong, p4 right (its corrected label), p3 without feedback.
  'accuracy-by-day': [
    { day: '2026-01-01', version: '1', predictions: 4, with_feedback: 3, correct: 2, accuracy: 2 / 3 },
    { day: '2026-01-02', version: '2', predictions: 1, with_feedback: 1, correct: 1, accuracy: 1 },
  ],
  'confusion-matrix': [
    { day: '2026-01-01', version: '1', predicted: 'no', actual: 'no', n: 1 },
    { day: '2026-01-01', version: '1', predicted: 'yes', actual: 'no', n: 1 },
    { day: '2026-01-01', version: '1', predicted: 'yes', actual: 'yes', n: 1 },
    { day: '2026-01-02', version: '2', predicted: 'yes', actual: 'yes', n: 1 },
  ],
  // Latest labels: version 1 p1 yes→yes, p2 yes→no, p4 no→no (p3 has no feedback); version 2 p5 yes→yes.
  // v1 no: support 2 (p2, p4), predicted 1 (p4), TP 1 → P 1, R 1/2, F1 2·1/(2 + 1) = 2/3.
  // v1 yes: support 1 (p1), predicted 2 (p1, p2), TP 1 → P 1/2, R 1, F1 2/3. Macro 2/3; weighted (2·2/3 + 1·2/3)/3 = 2/3.
  // v2 yes: everything 1; "no" occurs in no version-2 pair, so it has no row.
  'class-metrics': [
    {
      version: '1',
      label: 'no',
      support: 2,
      predicted: 1,
      true_positives: 1,
      precision: 1,
      recall: 0.5,
      f1: 2 / 3,
      macro_f1: 2 / 3,
      weighted_f1: 2 / 3,
    },
    {
      version: '1',
      label: 'yes',
      support: 1,
      predicted: 2,
      true_positives: 1,
      precision: 0.5,
      recall: 1,
      f1: 2 / 3,
      macro_f1: 2 / 3,
      weighted_f1: 2 / 3,
    },
    {
      version: '2',
      label: 'yes',
      support: 1,
      predicted: 1,
      true_positives: 1,
      precision: 1,
      recall: 1,
      f1: 1,
      macro_f1: 1,
      weighted_f1: 1,
    },
  ],
  // Every fixture prediction has probability 0.75 for its label → bin ⌊7.5⌋ = 7 of 10, [0.7, 0.8).
  // Version 1: p1 right, p2 wrong, p4 right → accuracy 2/3, ECE |2/3 − 0.75| = 1/12. Version 2: p5 right → ECE 0.25.
  calibration: [
    { version: '1', bin: 7, lower: 0.7, upper: 0.8, n: 3, mean_confidence: 0.75, accuracy: 2 / 3, ece: 1 / 12 },
    { version: '2', bin: 7, lower: 0.7, upper: 0.8, n: 1, mean_confidence: 0.75, accuracy: 1, ece: 0.25 },
  ],
  // P(yes): p1 predicted yes at 0.75 (a positive), p2 yes at 0.75 and p4 no at 0.75, so 0.25 (negatives).
  // Version 1: the positive ties one negative (1/2) and beats the other (1) → 1.5/2. Version 2: no negative, no AUC.
  'roc-auc': [
    { version: '1', positive_label: 'yes', positives: 1, negatives: 2, roc_auc: 0.75 },
    { version: '2', positive_label: 'yes', positives: 1, negatives: 0, roc_auc: null },
  ],
  // Version 1, a = [0.5, 1, 1.5, 3] → bins 0,0,1,2: shares .5/.25/.25 against .25/.5/.25 → 0.5·ln 2.
  // b = [5, 15, 25, 10] → bins 0,1,2,0: the training shares exactly → 0. Ordered by PSI, then name.
  'feature-drift': [
    { version: '1', feature_index: 3, feature: 'c', predictions: 4, psi: psiV1c },
    { version: '1', feature_index: 1, feature: 'a', predictions: 4, psi: 0.5 * ln(2) },
    { version: '1', feature_index: 2, feature: 'b', predictions: 4, psi: 0 },
    { version: '1', feature_index: 4, feature: 'd', predictions: 4, psi: 0 },
    // Version 2, one row: a = 2.5 → bin 2 (all of it), b = 5 → bin 0.
    { version: '2', feature_index: 4, feature: 'd', predictions: 1, psi: psiV2d },
    { version: '2', feature_index: 1, feature: 'a', predictions: 1, psi: psiV2a },
    { version: '2', feature_index: 3, feature: 'c', predictions: 1, psi: psiV2c },
    { version: '2', feature_index: 2, feature: 'b', predictions: 1, psi: psiV2b },
  ],
  'prediction-drift': [
    // Version 1 predicted yes twice and no twice, the priors exactly; version 2 only yes.
    { version: '1', feature_index: 1, feature: 'predicted_label', predictions: 4, psi: 0 },
    {
      version: '2',
      feature_index: 1,
      feature: 'predicted_label',
      predictions: 1,
      psi: (1 - 0.5) * ln(1 / 0.5) + (1e-4 - 0.5) * ln(1e-4 / 0.5),
    },
  ],
  // Nearest rank over [10, 20, 30, 40]: p50 = 2nd, p90 and p99 = 4th.
  'latency-percentiles': [
    { day: '2026-01-01', version: '1', predictions: 4, p50: 20, p90: 40, p99: 40, max_ms: 40 },
    { day: '2026-01-02', version: '2', predictions: 1, p50: 5, p90: 5, p99: 5, max_ms: 5 },
  ],
  // No shadow predictions in this log: each version's answered ones, graded by feedback, and their latency.
  'versions-side-by-side': [
    {
      day: '2026-01-01',
      version: '1',
      answered: 4,
      shadow: 0,
      agreement: null,
      graded: 3,
      accuracy: 2 / 3,
      error_rate: null,
      p50: 20,
      p99: 40,
    },
    { day: '2026-01-02', version: '2', answered: 1, shadow: 0, agreement: null, graded: 1, accuracy: 1, error_rate: null, p50: 5, p99: 5 },
  ],
  // Every input of this log is present: 4 predictions of version 1 on day 1 and 1 of version 2 on day 2, none missing.
  'missing-rate-by-day': [
    ...['a', 'b', 'c', 'd'].map((feature) => ({ day: '2026-01-01', version: '1', feature, predictions: 4, missing: 0, missing_rate: 0 })),
    ...['a', 'b', 'c', 'd'].map((feature) => ({ day: '2026-01-02', version: '2', feature, predictions: 1, missing: 0, missing_rate: 0 })),
  ],
  'volume-by-api-key': [
    { day: '2026-01-01', api_key_id: 'k1', predictions: 2 },
    { day: '2026-01-01', api_key_id: '(none)', predictions: 1 },
    { day: '2026-01-01', api_key_id: 'k2', predictions: 1 },
    { day: '2026-01-02', api_key_id: 'k1', predictions: 1 },
  ],
};

describe.each(DELIVERIES)('named queries on DuckDB (rows delivered %s)', (delivery) => {
  let db: AnalyticsDb;
  let root: string;
  beforeAll(async () => ({ db, root } = await openWith(delivery)));
  afterAll(() => {
    db?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(CLASSIFIER_QUERIES)('%s equals the hand-computed answer', async (name) => {
    const got = await db.named(name, BASELINE, SINCE);
    expectRows(got.rows, EXPECTED[name]);
  });

  it('a window starting later leaves the earlier days out', async () => {
    const got = await db.named('accuracy-by-day', BASELINE, '2026-01-02');
    expect(normalize(got.rows)).toEqual([EXPECTED['accuracy-by-day'][1]]);
  });
});

describe('the dashboard summary of a long window', () => {
  it.each(DELIVERIES)('counts each prediction once, latest feedback, window-wide nearest-rank percentiles (delivered %s)', async (dup) => {
    // GIVEN the fixture log (delivered twice when dup), WHEN the summary runs from day 1 and from day 2
    const { db, root } = await openWith(dup);
    try {
      const sql = summarySql(MANIFEST);
      const rows = (since: string) => db.query(sql, new Array<string>(parameterCount(sql)).fill(since)).then((r) => r.rows);
      // THEN by hand: labels yes p1 p2 p5, no p3 p4; hits p1 p4 (latest "no") p5 of 4 with feedback; latencies 5 10 20 30 40
      expect(await rows(SINCE)).toEqual([
        { predicted_label: 'no', predictions: '2', with_feedback: '1', correct: '1', p50: 30, p90: 40, p99: 40 },
        { predicted_label: 'yes', predictions: '3', with_feedback: '3', correct: '2', p50: 20, p90: null, p99: null },
      ]);
      expect(await rows('2026-01-02')).toEqual([
        { predicted_label: 'yes', predictions: '1', with_feedback: '1', correct: '1', p50: 5, p90: 5, p99: 5 },
      ]);
      // AND a model the store does not hold finds nothing
      expect((await db.query(summarySql({ name: 'absent' }), new Array<string>(parameterCount(sql)).fill(SINCE))).rows).toEqual([]);

      // AND per version, by hand: version 1 predicted yes, yes, no, no against yes, no, –, no (p4's latest);
      // version 2 yes against yes. Rows actual no/yes, columns predicted no/yes.
      const vsql = versionQualitySql(MANIFEST);
      const cells = (await db.query(vsql, new Array<string>(parameterCount(vsql)).fill(SINCE))).rows;
      const [v1, v2] = analyticsVersions(cells as AnalyticsRow[], MANIFEST);
      expect(v1).toMatchObject({ modelVersion: '1', count: 4, feedbackCount: 3 });
      expect(v1?.classification).toEqual({
        count: 3,
        accuracy: 2 / 3,
        classes: [
          { label: 'no', support: 2, predicted: 1, precision: 1, recall: 0.5, f1: 2 / 3 },
          { label: 'yes', support: 1, predicted: 2, precision: 0.5, recall: 1, f1: 2 / 3 },
        ],
        macroF1: 2 / 3,
        weightedF1: 2 / 3,
        confusion: {
          labels: ['no', 'yes'],
          counts: [
            [1, 1],
            [0, 1],
          ],
        },
        // P(yes) 0.75 (p1, yes), 0.75 (p2, no), 0.25 (p4, no): the positive outranks one negative and ties one.
        rocAuc: (1 + 0.5) / (1 * 2),
        // Calibration needs each prediction's probability, which the summary's query does not read.
        ece: null,
      });
      // Version 2 has one outcome only: no AUC.
      expect(v2).toMatchObject({
        modelVersion: '2',
        count: 1,
        feedbackCount: 1,
        classification: { accuracy: 1, macroF1: 1, rocAuc: null },
      });
    } finally {
      db.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('features whose names fold to one column', () => {
  // `Score` and `score` are both f_score once lower-cased: each gets its position appended.
  const rename: Record<string, string> = { a: 'Score', b: 'score' };
  const manifest = parseManifest({
    ...MANIFEST,
    input: {
      kind: 'tabular',
      features: (MANIFEST.input.kind === 'tabular' ? MANIFEST.input.features : []).map((f) => ({ ...f, name: rename[f.name] ?? f.name })),
    },
  });
  const baseline = { ...BASELINE, features: BASELINE.features.map((f) => ({ ...f, name: rename[f.name] ?? f.name })) };

  it('get a column each', () => {
    expect(tableColumns('predictions', manifest).flatMap((c) => (c.featureIndex === undefined ? [] : [c.name]))).toEqual([
      'f_score_0',
      'f_score_1',
      'f_c',
      'f_d',
    ]);
  });

  it('drift per feature is the same as under distinct names', async () => {
    const root = tempStore();
    for (const o of await objectsOf(
      'predictions',
      RECORDS.map((r) => predictionRow(manifest, throughLog(r))),
      manifest,
    )) {
      mkdirSync(dirname(join(root, o.key)), { recursive: true });
      writeFileSync(join(root, o.key), o.body);
    }
    const db = await openAnalyticsDb(root, manifest, { threads: 1 });
    try {
      const byIndex = (rows: Record<string, unknown>[]) =>
        normalize(rows).sort(
          (x, y) => String(x.version).localeCompare(String(y.version)) || Number(x.feature_index) - Number(y.feature_index),
        );
      const want = EXPECTED['feature-drift'].map((r) => ({ ...r, feature: rename[r.feature as string] ?? r.feature }));
      expectRows(byIndex((await db.named('feature-drift', baseline, SINCE)).rows), byIndex(want));
    } finally {
      db.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('feature drift agrees with the quality job', () => {
  it('gives the PSI the quality job computes from the same values, with the same epsilon', async () => {
    expect(QUERY_PSI_EPSILON).toBe(PSI_EPSILON);
    const { db, root } = await openWith(false);
    try {
      const got = normalize((await db.named('feature-drift', BASELINE, SINCE)).rows);
      for (const version of ['1', '2']) {
        const inputs = RECORDS.filter((r) => r.modelVersion === version).map((r) =>
          defined(throughLog(r).inputValues, `input values of ${r.id}`),
        );
        for (const [j, f] of BASELINE.features.entries()) {
          const row = defined(
            got.find((r) => r.version === version && r.feature === f.name),
            `a drift row for version ${version}, feature ${f.name}`,
          );
          expect(row.psi).toBeCloseTo(
            featurePsi(
              f,
              inputs.map((x) => x[j]),
            ),
            9,
          );
        }
      }
    } finally {
      db.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an empty store answers with no rows', async () => {
    const root = tempStore();
    const db = await openAnalyticsDb(root, MANIFEST, { threads: 1 });
    try {
      for (const name of NAMED_QUERIES) expect((await db.named(name, BASELINE, SINCE)).rows).toEqual([]);
    } finally {
      db.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('Athena dialect', () => {
  // The named queries and the dashboard summary the query function runs through Athena.
  const queries = [
    ...NAMED_QUERIES.map((name) => [name, namedQuerySql(name, MANIFEST, BASELINE)] as const),
    ['dashboard summary', summarySql(MANIFEST)] as const,
    ['per-version quality of a binary classifier (with its ROC AUC)', versionQualitySql(MANIFEST)] as const,
    [
      'per-version quality of a classifier of three labels',
      versionQualitySql({ ...MANIFEST, output: { kind: 'classification', tensor: 'p', softmax: false, labels: ['no', 'yes', 'maybe'] } }),
    ] as const,
    ['per-version quality of a regressor', versionQualitySql({ ...MANIFEST, output: { kind: 'regression', tensor: 'y' } })] as const,
    [
      'versions side by side of a regressor',
      namedQuerySql('versions-side-by-side', { ...MANIFEST, output: { kind: 'regression', tensor: 'y' } }, undefined),
    ] as const,
  ];

  it.each(queries)('%s calls only functions both engines define alike', (_name, sql) => {
    const stripped = sql.replace(/'(?:[^']|'')*'/g, "''");
    // Column lists of CTEs (`expected(a, b) AS (`) and of table aliases (`AS x(a, b)`) are not calls.
    const aliases = new Set(
      [...stripped.matchAll(/(\w+)\s*\([^()]*\)\s+AS\s*\(/gi), ...stripped.matchAll(/\bAS\s+(\w+)\s*\(/gi)].map((m) => m[1].toLowerCase()),
    );
    const keywords = new Set(['as', 'over', 'values', 'in', 'sets', 'from']);
    const calls = [...stripped.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)]
      .map((m) => m[1].toLowerCase())
      .filter((f) => !keywords.has(f) && !aliases.has(f));
    expect([...new Set(calls)].filter((f) => !(PORTABLE_FUNCTIONS as readonly string[]).includes(f))).toEqual([]);
  });

  it.each(queries)('%s has no DuckDB-only syntax and no DECIMAL literals', (_name, sql) => {
    const stripped = sql.replace(/'(?:[^']|'')*'/g, "''");
    expect(stripped).not.toMatch(/::|"|\bQUALIFY\b|\bEXCLUDE\b|->|\bLIST\b|\[/i);
    // Trino reads 0.5 as DECIMAL(1,1); the queries write doubles as 5.0E-1.
    expect(stripped.match(/\b\d+\.\d+(?![\dE])/gi) ?? []).toEqual([]);
    expect(parameterCount(sql)).toBeGreaterThanOrEqual(1);
  });

  it('drift queries need a baseline; prediction drift class priors; feature drift and missing rates tabular inputs', () => {
    expect(() => namedQuerySql('feature-drift', MANIFEST, undefined)).toThrow(/baseline/);
    // A baseline that does not fit the manifest's feature types fails with the feature named.
    const [a, b, c, d] = BASELINE.features;
    expect(() =>
      namedQuerySql('feature-drift', MANIFEST, {
        ...BASELINE,
        features: [a, b, b, d].map((f, i) => ({ ...f, name: [a, b, c, d][i].name })),
      }),
    ).toThrow(/"c" has decile bins .* string column/);
    expect(() =>
      namedQuerySql('feature-drift', MANIFEST, {
        ...BASELINE,
        features: [a, c, c, d].map((f, i) => ({ ...f, name: [a, b, c, d][i].name })),
      }),
    ).toThrow(/"b" has categories .* double column/);
    expect(namedQueriesFor(MANIFEST, undefined)).toEqual([
      'accuracy-by-day',
      'confusion-matrix',
      'class-metrics',
      'calibration',
      'roc-auc',
      'latency-percentiles',
      'volume-by-api-key',
      'versions-side-by-side',
    ]);
    expect(namedQueriesFor(MANIFEST, { ...BASELINE, classPriors: undefined })).not.toContain('prediction-drift');
    const image = parseManifest({ ...MANIFEST, input: { kind: 'image', width: 2, height: 1, channels: 1 } });
    expect(namedQueriesFor(image, BASELINE)).toEqual([
      'accuracy-by-day',
      'confusion-matrix',
      'class-metrics',
      'calibration',
      'roc-auc',
      'prediction-drift',
      'latency-percentiles',
      'volume-by-api-key',
      'versions-side-by-side',
    ]);
    // A regressor gets its error query and none about labels.
    const regressor = parseManifest({ ...MANIFEST, output: { kind: 'regression', tensor: 'y' } });
    expect(namedQueriesFor(regressor, { ...BASELINE, classPriors: undefined })).toEqual([
      'regression-error-by-day',
      'feature-drift',
      'latency-percentiles',
      'volume-by-api-key',
      'versions-side-by-side',
      'missing-rate-by-day',
    ]);
    expect(() => namedQuerySql('missing-rate-by-day', MANIFEST, undefined)).toThrow(/baseline/);
    // Three labels: the store's one probability per row cannot rank one-vs-rest, so no ROC AUC query.
    const threeLabels = parseManifest({ ...MANIFEST, output: { kind: 'classification', labels: ['a', 'b', 'c'], tensor: 'p' } });
    expect(namedQueriesFor(threeLabels, undefined)).not.toContain('roc-auc');
    expect(() => namedQuerySql('roc-auc', threeLabels, undefined)).toThrow(/binary classifiers/);
    expect(() => namedQuerySql('roc-auc', regressor, undefined)).toThrow(/binary classifiers/);
  });
});

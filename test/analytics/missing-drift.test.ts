/**
 * The feature-drift named query on a model whose first feature is nullable: rows with that feature
 * missing still count for the other features, and a missing value lands in no bin — the PSI the
 * quality job computes from the same logged values (missing ones left out).
 */
import { rmSync } from 'node:fs';
import { parseBaseline } from '../../contract/baseline';
import { featureDrift } from '../../lambda/quality/analyze';
import { openAnalyticsDb } from '../../local/analytics/duckdb';
import { NULLABLE_MANIFEST, normalize, predictionRows, RECORDS, tempStore, throughLog, writeStore } from './fixtures';

const manifest = NULLABLE_MANIFEST;
const baseline = parseBaseline({
  rows: 100,
  bins: 3,
  features: [
    { name: 'a', mean: 1.5, std: 1, min: 0, max: 3, edges: [1, 2], proportions: [0.25, 0.5, 0.25] },
    { name: 'b', mean: 15, std: 5, min: 0, max: 30, edges: [10, 20], proportions: [0.5, 0.25, 0.25] },
  ],
  classPriors: { no: 0.5, yes: 0.5 },
});
/** Version 1: a = 0.5, missing, 1.5, missing; b = 5, 15, 25, 10. */
const records = RECORDS.slice(0, 4).map((r, i) => ({
  ...r,
  inputValues: [
    [0.5, 5],
    [null, 15],
    [1.5, 25],
    [null, 10],
  ][i],
}));

test('missing values are left out of the bins, and their rows still count for the other features', async () => {
  const root = tempStore();
  await writeStore(root, 'predictions', predictionRows(records, manifest), manifest);
  const db = await openAnalyticsDb(root, manifest, { threads: 1 });
  try {
    const rows = normalize((await db.named('feature-drift', baseline, '2026-01-01')).rows);
    const job = featureDrift(
      baseline.features,
      records.map((r) => throughLog(r).inputValues ?? []),
    );
    // a: two values (bins 0 and 1) of two rows; b: all four rows.
    expect(rows.find((r) => r.feature === 'a')).toMatchObject({ predictions: 2 });
    expect(rows.find((r) => r.feature === 'b')).toMatchObject({ predictions: 4 });
    for (const f of ['a', 'b']) {
      expect(rows.find((r) => r.feature === f)?.psi).toBeCloseTo(job.find((d) => d.feature === f)?.psi as number, 9);
    }
  } finally {
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
});

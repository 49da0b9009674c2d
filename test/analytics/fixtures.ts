/** A small model, baseline and hand-made log for the analytics tests, with the answers worked out by hand. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AnalyticsTable } from '../../contract/analytics';
import { parseBaseline } from '../../contract/baseline';
import { parseManifest } from '../../contract/manifest';
import type { PredictionRecord } from '../../contract/prediction-log';
import { feedbackRow, predictionRow } from '../../lambda/analytics/log-rows';
import { objectsOf } from '../../lambda/analytics/store';

export const MANIFEST = parseManifest({
  name: 'toy',
  version: '1',
  file: 'toy.onnx',
  inputTensor: 'x',
  input: { kind: 'tabular', features: [{ name: 'a', type: 'float' }, { name: 'b', type: 'float' }] },
  output: { kind: 'classification', labels: ['no', 'yes'], tensor: 'p' },
});

/** Feature a: bins (-inf, 1], (1, 2], (2, inf) with training shares 0.25/0.5/0.25; b: (-inf, 10], (10, 20], (20, inf) at 0.5/0.25/0.25. */
export const BASELINE = parseBaseline({
  rows: 100,
  bins: 3,
  features: [
    { name: 'a', mean: 1.5, std: 1, min: 0, max: 3, edges: [1, 2], proportions: [0.25, 0.5, 0.25] },
    { name: 'b', mean: 15, std: 5, min: 0, max: 30, edges: [10, 20], proportions: [0.5, 0.25, 0.25] },
  ],
  classPriors: { no: 0.5, yes: 0.5 },
});

let seq = 0;
function record(over: Partial<PredictionRecord> & { id: string; timestamp: string; label: string; input: number[] }): PredictionRecord {
  seq++;
  return {
    model: 'toy',
    modelVersion: '1',
    createdAt: `${over.timestamp}#${over.id}`,
    output: { label: over.label, probabilities: { [over.label]: 0.75, [over.label === 'yes' ? 'no' : 'yes']: 0.25 } },
    latencyMs: 1,
    requestId: `req-${seq}`,
    ...over,
  };
}

const DAY1 = '2026-01-01T10:00:00.000Z';
const DAY2 = '2026-01-02T10:00:00.000Z';
const fb = (label: string, at = '2026-01-03T00:00:00.000Z') => ({ label, at });

/** The log: four predictions of version 1 on day 1, one of version 2 on day 2. p4's feedback was corrected from yes to no. */
export const RECORDS: PredictionRecord[] = [
  record({ id: 'p1', timestamp: DAY1, label: 'yes', input: [0.5, 5], latencyMs: 10, apiKeyId: 'k1', feedback: fb('yes') }),
  // 1 and 10 sit on a bin edge: they belong to the lower bin.
  record({ id: 'p2', timestamp: DAY1, label: 'yes', input: [1, 15], latencyMs: 20, apiKeyId: 'k1', feedback: fb('no') }),
  record({ id: 'p3', timestamp: DAY1, label: 'no', input: [1.5, 25], latencyMs: 30, apiKeyId: 'k2' }),
  record({ id: 'p4', timestamp: DAY1, label: 'no', input: [3, 10], latencyMs: 40, feedback: fb('no', '2026-01-04T00:00:00.000Z') }),
  record({ id: 'p5', timestamp: DAY2, modelVersion: '2', label: 'yes', input: [2.5, 5], latencyMs: 5, apiKeyId: 'k1', feedback: fb('yes') }),
];
/** p4's first, superseded feedback. */
export const EARLIER_FEEDBACK = { ...RECORDS[3], feedback: fb('yes', '2026-01-03T00:00:00.000Z') };

export const predictionRows = (records: PredictionRecord[]) => records.map((r) => predictionRow(MANIFEST, r));
export const feedbackRows = (records: PredictionRecord[]) => records.flatMap((r) => feedbackRow(r) ?? []);

/** Writes rows as the store does (same keys, same Parquet) into a folder laid out like the bucket. */
export function writeStore(root: string, table: AnalyticsTable, rows: ReturnType<typeof predictionRows> | ReturnType<typeof feedbackRows>): string[] {
  return objectsOf(table, rows, MANIFEST).map((o) => {
    const file = join(root, o.key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, o.body);
    return o.key;
  });
}

export function tempStore(): string {
  return mkdtempSync(join(tmpdir(), 'mlship-analytics-'));
}

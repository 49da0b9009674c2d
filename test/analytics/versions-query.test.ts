/**
 * The `versions-side-by-side` named query on DuckDB against `mlship versions`' own figures
 * (lambda/versions/figures.ts) over the same generated log: a day of shadow mode, a day of a split with
 * some requests answered by the challenger and shadowed by the former champion, some shadow runs failed,
 * feedback on part of the answered predictions; a classifier and a regressor, however the rows reached
 * the store.
 */
import { rmSync } from 'node:fs';
import type { ModelManifest } from '../../contract/manifest';
import type { Prediction } from '../../contract/prediction';
import { type PredictionRecord, shadowRecordsOf } from '../../contract/prediction-log';
import { AGREEMENT_RELATIVE_TOLERANCE, type RoutingState } from '../../contract/versions';
import { compactClosedDays } from '../../lambda/analytics/compact';
import { withShadow } from '../../lambda/log/record-builder';
import { versionFigures } from '../../lambda/versions/figures';
import { openAnalyticsDb } from '../../local/analytics/duckdb';
import { folderObjectStore } from '../../local/analytics/folder-store';
import {
  expectRows,
  feedbackRows,
  MANIFEST,
  normalize,
  predictionRows,
  REGRESSION_MANIFEST,
  shadowRows,
  tempStore,
  writeStore,
} from './fixtures';

const DAYS = ['2026-01-01', '2026-01-02'];

/** A deterministic pseudo-random sequence in [0, 1), so the generated log is the same every run. */
function sequence(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

interface Log {
  /** Answered predictions, shadowed ones with the shadow's outcome inside (as the predict function logs them). */
  answered: PredictionRecord[];
  /** Their shadow predictions as records, as `mlship versions` reads them. */
  shadows: PredictionRecord[];
}

/**
 * Day 1: version 1 answers every request and version 2 shadows it. Day 2: a split, version 2 answering
 * about 30 %, and every fourth request answered by version 2 with version 1 in its shadow. One shadow run
 * in ten fails; about 70 % of the answered predictions get feedback (for the regressor, one in twenty
 * of those a label that is no number).
 */
function generatedLog(manifest: ModelManifest, seed: number): Log {
  const next = sequence(seed);
  const classifier = manifest.output.kind === 'classification';
  const answeredLog: PredictionRecord[] = [];
  for (let i = 0; i < 240; i++) {
    const day = DAYS[i < 120 ? 0 : 1] as string;
    const createdAt = new Date(`${day}T08:00:00.000Z`);
    createdAt.setUTCSeconds(i);
    const promoted = day === DAYS[1] && i % 4 === 0;
    const answeredBy = day === DAYS[0] ? '1' : promoted || next() < 0.3 ? '2' : '1';
    const shadowBy = day === DAYS[0] ? '2' : promoted ? '1' : undefined;
    // Values below 1 too, where the tolerance is absolute.
    const value = next() < 0.3 ? next() : Math.round(next() * 1e5) / 100;
    const label = next() < 0.5 ? 'no' : 'yes';
    const latencyMs = Math.round(next() * 4000) / 100;
    const u = next();
    const truth = classifier ? (next() < 0.7 ? label : label === 'yes' ? 'no' : 'yes') : i % 20 === 0 ? 'abc' : value + (next() - 0.5) * 4;
    const answered: PredictionRecord = {
      id: `a${String(i).padStart(3, '0')}`,
      model: manifest.name,
      modelVersion: answeredBy,
      createdAt: createdAt.toISOString(),
      inputValues: [1, 10, 'red', true],
      ...(classifier ? { label, probabilities: { [label]: 0.75 } } : { predictedValue: value }),
      latencyMs,
      requestId: `req-${i}`,
      ...(u < 0.7 ? { feedback: { label: truth, givenAt: `${DAYS[1]}T20:00:00.000Z` } } : {}),
    };
    if (shadowBy === undefined) {
      answeredLog.push(answered);
      continue;
    }
    const w = next();
    // The classifier's shadow agrees about 80 % of the time; the regressor's within, just beyond or far beyond the tolerance.
    const step = AGREEMENT_RELATIVE_TOLERANCE * Math.max(1, Math.abs(value));
    const shadowValue = w < 0.3 ? value : w < 0.55 ? value + step / 2 : w < 0.8 ? value - 2 * step : value * 1.1 + 1;
    const prediction: Prediction = classifier
      ? { label: w < 0.8 ? label : label === 'yes' ? 'no' : 'yes', probabilities: { yes: 0.5, no: 0.5 } }
      : { value: shadowValue };
    const outcome = next() < 0.1 ? { error: 'SHADOW_TIMEOUT' } : { prediction };
    answeredLog.push(
      withShadow(answered, shadowBy, outcome, new Date(createdAt.getTime() + 1), latencyMs + Math.round(next() * 2000) / 100),
    );
  }
  return { answered: answeredLog, shadows: shadowRecordsOf(answeredLog) };
}

const DELIVERIES = ['once', 'twice', 'compacted, then again'] as const;

/** A store holding `log` as `how` says: written once; its shadow rows again in other batches; or both days compacted and then delivered again. */
async function storeOf(manifest: ModelManifest, log: Log, how: (typeof DELIVERIES)[number]): Promise<string> {
  const root = tempStore();
  const shadowed = log.answered.filter((r) => r.shadow !== undefined);
  const write = async (answered: PredictionRecord[], withShadows: PredictionRecord[]) => {
    await writeStore(root, 'predictions', predictionRows(answered, manifest), manifest);
    await writeStore(root, 'feedback', feedbackRows(answered), manifest);
    // The shadow rows the writer takes out of the answered items.
    await writeStore(root, 'shadow_predictions', shadowRows(withShadows), manifest);
  };
  await write(log.answered, shadowed);
  const again = () => write(log.answered.slice(100), shadowed.slice(30));
  if (how === 'twice') await again();
  if (how === 'compacted, then again') {
    const result = await compactClosedDays(folderObjectStore(root), manifest, { now: new Date('2026-02-01T00:00:00Z') });
    expect(result.partitions.filter((p) => p.table === 'shadow_predictions').map((p) => p.dt)).toEqual(DAYS);
    await again();
  }
  return root;
}

const STATE: RoutingState = {
  champion: '1',
  challenger: '2',
  mode: 'shadow',
  percent: 100,
  updatedAt: '2026-01-01T00:00:00.000Z',
  updatedBy: 'deploy',
};

describe.each([
  ['a classifier', MANIFEST, 11],
  ['a regressor', REGRESSION_MANIFEST, 12],
] as const)('versions-side-by-side of %s', (_what, manifest, seed) => {
  const log = generatedLog(manifest, seed);

  it.each(DELIVERIES)('gives each day and version the figures of mlship versions (rows delivered %s)', async (how) => {
    const root = await storeOf(manifest, log, how);
    const db = await openAnalyticsDb(root, manifest, { threads: 1 });
    try {
      const got = normalize((await db.named('versions-side-by-side', undefined, DAYS[0] as string)).rows);
      const want = DAYS.flatMap((day) => {
        const onDay = (r: PredictionRecord) => r.createdAt.startsWith(day);
        return versionFigures(STATE, log.answered.filter(onDay), log.shadows.filter(onDay), manifest.output.kind).map((f) => ({
          day,
          version: f.version,
          answered: f.answered,
          shadow: f.shadow,
          agreement: f.agreement,
          graded: f.graded,
          ...(manifest.output.kind === 'classification' ? { accuracy: f.accuracy } : { mae: f.mae }),
          error_rate: f.errorRate,
          p50: f.latencyMs.p50,
          p99: f.latencyMs.p99,
        }));
      });
      expectRows(got, want);
      // The log exercises every figure: both versions answer and shadow, agree in part, fail in part, are graded as shadows.
      const [day1v1, , day2v1] = want;
      expect(day1v1?.answered).toBe(120);
      expect(day2v1?.shadow).toBeGreaterThan(20);
      expect(want.map((r) => r.answered)).toEqual([120, 0, expect.any(Number), expect.any(Number)]);
      for (const r of [want[1], want[2]]) {
        expect(r?.agreement).toBeGreaterThan(0.3);
        expect(r?.agreement).toBeLessThan(0.9);
        expect(r?.error_rate).toBeGreaterThan(0);
        expect(r?.graded).toBeGreaterThan(r === want[1] ? 50 : 10);
      }
    } finally {
      db.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('counts no shadow prediction among the answered ones of the other queries', async () => {
    const root = await storeOf(manifest, log, 'once');
    const db = await openAnalyticsDb(root, manifest, { threads: 1 });
    try {
      const rows = normalize((await db.named('latency-percentiles', undefined, DAYS[0] as string)).rows);
      expect(rows.reduce((n, r) => n + Number(r.predictions), 0)).toBe(log.answered.length);
    } finally {
      db.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

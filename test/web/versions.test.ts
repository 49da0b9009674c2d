/** The versions card's figures, without a browser: one time axis for every version, and each version's row. */
import type { PredictionRecord, VersionSummary } from '../../contract/prediction-log';
import { versionRows, versionSeries } from '../../web/src/versions';

function rec(i: number, secondsAfter: number, version: string, latencyMs: number): PredictionRecord {
  return {
    id: `id${i}`,
    model: 'm',
    modelVersion: version,
    createdAt: new Date(Date.UTC(2024, 4, 1, 12, 0, 0) + secondsAfter * 1000).toISOString(),
    label: 'a',
    latencyMs,
    requestId: 'r',
  };
}

describe('versions side by side', () => {
  test('one version: nothing to overlay', () => {
    expect(versionSeries([rec(1, 0, '1.0.0', 2), rec(2, 30, '1.0.0', 3)])).toBeUndefined();
    expect(versionSeries([])).toBeUndefined();
  });

  test('two versions on one time axis: counts and p50 per bucket, oldest version first', () => {
    // GIVEN (newest first, as the API lists them) 1.0.0 at 0 s and 5 s, 2.0.0 at 12 s, 1.0.0 and 2.0.0 at 25 s
    const items = [rec(5, 25, '2.0.0', 9), rec(4, 25, '1.0.0', 4), rec(3, 12, '2.0.0', 7), rec(2, 5, '1.0.0', 3), rec(1, 0, '1.0.0', 1)];
    const s = versionSeries(items);
    // THEN 10 s buckets from 12:00:00, each version's predictions in its own series
    const t0 = Date.UTC(2024, 4, 1, 12, 0, 0) / 1000;
    expect(s).toEqual({
      versions: ['1.0.0', '2.0.0'],
      t: [t0, t0 + 10, t0 + 20],
      count: [
        [2, 0, 1],
        [0, 1, 1],
      ],
      p50: [
        [1, null, 4],
        [null, 7, 9],
      ],
    });
  });

  test("each version's row: the window's counts and quality, the latency of its predictions read, the served one marked", () => {
    const summary: VersionSummary[] = [
      { modelVersion: '1.0.0', count: 40, feedbackCount: 10 },
      {
        modelVersion: '2.0.0',
        count: 12,
        feedbackCount: 0,
        regression: { count: 4, mae: 0.5, rmse: 0.6, meanError: 0.1, r2: null },
      },
    ];
    const items = [rec(1, 0, '1.0.0', 10), rec(2, 1, '1.0.0', 30), rec(3, 2, '2.0.0', 5)];
    expect(versionRows('2.0.0', summary, items)).toEqual([
      { version: '1.0.0', served: false, predictions: 40, feedback: 10, quality: null, p50: 10, p99: 30 },
      { version: '2.0.0', served: true, predictions: 12, feedback: 0, quality: 0.5, p50: 5, p99: 5 },
    ]);
  });
});

/**
 * The micro-batcher's rules, through its public API with a fake `run` (no model): when a queue flushes,
 * how rows are shared and handed back, and how a failure spreads. test/container/batcher.test.ts checks
 * the same batcher on the real model.
 */
import { Batcher } from '../../container/src/batcher';
import { ApiError } from '../../contract/errors';
import type { Row } from '../../contract/manifest';
import type { Prediction } from '../../contract/prediction';

const row = (v: number): Row => Float32Array.of(v);
const rowsOf = (...values: number[]): Row[] => values.map(row);
const valuesOf = (predictions: Prediction[]) => predictions.map((p) => ('value' in p ? p.value : Number.NaN));

/** A model that answers each row with its first value, records every run, and can hold runs until released. */
function fakeModel(opts: { failOn?: number; nonFiniteOn?: number } = {}) {
  const runs: number[][] = [];
  const held: (() => void)[] = [];
  let holding = false;
  const run = async (rows: readonly Row[]): Promise<Prediction[]> => {
    const values = rows.map((r) => Number(r[0]));
    runs.push(values);
    if (holding) await new Promise<void>((r) => held.push(r));
    if (opts.failOn !== undefined && values.includes(opts.failOn)) throw new Error('boom');
    if (opts.nonFiniteOn !== undefined && values.includes(opts.nonFiniteOn)) throw new ApiError('NON_FINITE_OUTPUT', 'NaN');
    return values.map((value) => ({ value }));
  };
  return {
    run,
    runs,
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const r of held.splice(0)) r();
    },
  };
}

/** Lets the current event-loop turn end (the batcher flushes an idle queue then). */
const nextTurn = () => new Promise((r) => setImmediate(r));

afterEach(() => jest.useRealTimers());

describe('Batcher', () => {
  it('runs a lone request at the end of the turn', async () => {
    // GIVEN an idle batcher
    const model = fakeModel();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxDelayUs: 1000 });
    // WHEN one request arrives
    const answer = batcher.submit(rowsOf(1, 2));
    // THEN it waits for nothing but the end of the turn, and gets its own rows back
    expect(model.runs).toEqual([]);
    await nextTurn();
    expect(model.runs).toEqual([[1, 2]]);
    expect(valuesOf(await answer)).toEqual([1, 2]);
  });

  it('shares one run among requests of the same turn and gives each exactly its rows, in order', async () => {
    const model = fakeModel();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxDelayUs: 1000 });
    const answers = await Promise.all([batcher.submit(rowsOf(1)), batcher.submit(rowsOf(2, 3)), batcher.submit(rowsOf(4))]);
    expect(model.runs).toEqual([[1, 2, 3, 4]]);
    expect(answers.map(valuesOf)).toEqual([[1], [2, 3], [4]]);
    expect(batcher.stats).toEqual({ runs: 1, rows: 4, maxRowsPerRun: 4 });
  });

  it('while a run is in flight, queues rows until it ends, then runs them together', async () => {
    // GIVEN a run in flight (held) and a delay longer than the test
    const model = fakeModel();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxDelayUs: 60_000_000 });
    model.hold();
    const first = batcher.submit(rowsOf(1));
    await nextTurn();
    // WHEN two requests arrive meanwhile
    const later = [batcher.submit(rowsOf(2)), batcher.submit(rowsOf(3))];
    await nextTurn();
    expect(model.runs).toEqual([[1]]);
    // THEN they run together once the first run ends
    model.release();
    expect(valuesOf(await first)).toEqual([1]);
    expect((await Promise.all(later)).map(valuesOf)).toEqual([[2], [3]]);
    expect(model.runs).toEqual([[1], [2, 3]]);
  });

  it('starts a second run beside a slow one after maxDelayUs', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    // GIVEN a run in flight that does not end
    const model = fakeModel();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxDelayUs: 5000 });
    model.hold();
    void batcher.submit(rowsOf(1));
    await nextTurn();
    // WHEN a request waits 4 ms, then 5 ms
    void batcher.submit(rowsOf(2));
    jest.advanceTimersByTime(4);
    expect(model.runs).toEqual([[1]]);
    jest.advanceTimersByTime(1);
    // THEN its run starts beside the first
    expect(model.runs).toEqual([[1], [2]]);
    model.release();
  });

  it('flushes at once when the queue reaches maxBatchSize', () => {
    const model = fakeModel();
    const batcher = new Batcher(model.run, { maxBatchSize: 3, maxDelayUs: 1000 });
    void batcher.submit(rowsOf(1, 2));
    expect(model.runs).toEqual([]);
    void batcher.submit(rowsOf(3));
    expect(model.runs).toEqual([[1, 2, 3]]);
  });

  it('flushes the queue first when a request would overfill it', async () => {
    const model = fakeModel();
    const batcher = new Batcher(model.run, { maxBatchSize: 4, maxDelayUs: 1000 });
    await Promise.all([batcher.submit(rowsOf(1, 2)), batcher.submit(rowsOf(3, 4, 5))]);
    expect(model.runs).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('runs a request of maxBatchSize rows or more alone, unsplit', async () => {
    const model = fakeModel();
    const batcher = new Batcher(model.run, { maxBatchSize: 2, maxDelayUs: 1000 });
    const [small, big] = await Promise.all([batcher.submit(rowsOf(1)), batcher.submit(rowsOf(2, 3, 4))]);
    expect(model.runs).toEqual([[2, 3, 4], [1]]);
    expect(valuesOf(small)).toEqual([1]);
    expect(valuesOf(big)).toEqual([2, 3, 4]);
    expect(batcher.stats.maxRowsPerRun).toBe(3);
  });

  it('with maxDelayUs 0 (or a batch size of 1) gives every request its own run', async () => {
    for (const opts of [
      { maxBatchSize: 64, maxDelayUs: 0 },
      { maxBatchSize: 1, maxDelayUs: 1000 },
    ]) {
      const model = fakeModel();
      const batcher = new Batcher(model.run, opts);
      expect(batcher.enabled).toBe(false);
      await Promise.all([batcher.submit(rowsOf(1)), batcher.submit(rowsOf(2))]);
      expect(model.runs).toEqual([[1], [2]]);
    }
  });

  it('a failed run rejects every caller in it, and the next run serves again', async () => {
    const model = fakeModel({ failOn: 2 });
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxDelayUs: 1000 });
    const results = await Promise.allSettled([batcher.submit(rowsOf(1)), batcher.submit(rowsOf(2)), batcher.submit(rowsOf(3))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(valuesOf(await batcher.submit(rowsOf(4)))).toEqual([4]);
  });

  it('a non-finite answer fails only the caller whose rows caused it: the run is retried per caller', async () => {
    const model = fakeModel({ nonFiniteOn: 2 });
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxDelayUs: 1000 });
    const results = await Promise.allSettled([batcher.submit(rowsOf(1)), batcher.submit(rowsOf(2)), batcher.submit(rowsOf(3))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: { code: 'NON_FINITE_OUTPUT' } });
    expect(model.runs).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('refuses a run that answers the wrong number of predictions', async () => {
    const batcher = new Batcher(async () => [{ value: 1 }], { maxBatchSize: 8, maxDelayUs: 1000 });
    await expect(batcher.submit(rowsOf(1, 2))).rejects.toThrow('The model answered 1 predictions for 2 rows.');
  });

  it('refuses settings it cannot honour', () => {
    const run = fakeModel().run;
    expect(() => new Batcher(run, { maxBatchSize: 0, maxDelayUs: 1000 })).toThrow(/maxBatchSize must be a positive integer/);
    expect(() => new Batcher(run, { maxBatchSize: 8, maxDelayUs: -1 })).toThrow(/maxDelayUs must be an integer >= 0/);
  });
});

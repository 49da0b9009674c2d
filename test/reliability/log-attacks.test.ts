/**
 * The prediction-log attacks (`test/support/log-attacks.ts`, also run by `bench/reliability/log-attacks.ts`) against the
 * real local system: numbers beyond 2^53 and below DynamoDB's range, S3 keys that once answered 503,
 * tenancy between the operator and a client key, a second feedback, the last page of a listing.
 */

import { type LocalSystem, startLocal } from '../../local/system';
import { MODEL_DIR } from '../support/load-runner';
import { runLogAttacks } from '../support/log-attacks';
import { quietHandlerLogs } from '../support/quiet-logs';

jest.setTimeout(120_000);

describe('prediction log attacks', () => {
  let local: LocalSystem;
  const quiet = quietHandlerLogs();

  beforeAll(async () => {
    local = await startLocal({ port: 0, inMemory: true, modelDir: MODEL_DIR, replayIntervalMs: 0, staticDir: '/nonexistent-dashboard' });
  });

  afterAll(async () => {
    await local?.stop();
    quiet.restore();
  });

  it('answers every case as expected, with no 5xx and every answered prediction logged', async () => {
    const r = await runLogAttacks(local);
    expect(r.cases.filter((c) => !c.ok)).toEqual([]);
    expect(r.cases.length).toBeGreaterThanOrEqual(14);
    expect(r.status5xx).toBe(0);
    expect(r.answered).toBeGreaterThan(0);
    expect(r.logged).toBe(r.answered);
  });
});

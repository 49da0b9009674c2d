/**
 * Fast fault tests on the real local system: the log store, the model server and S3 each go away in the
 * middle of traffic. Nothing answered 200 may be lost or doubled, callers get clear JSON errors, and the
 * system recovers without a restart. The full-length version is `npx tsx bench/reliability/faults.ts`.
 */

import { ERROR_STATUS } from '../../contract/errors';
import { type LocalSystem, startLocal } from '../../local/system';
import { openApiResponseCheck } from '../openapi/response-check';
import { dynamoDbOutage, modelOutage, s3Outage } from '../support/fault-scenarios';
import { MODEL_DIR } from '../support/load-runner';
import { quietHandlerLogs } from '../support/quiet-logs';
import { startTcpSwitch, type TcpSwitch } from '../support/tcp-switch';

jest.setTimeout(60_000);

describe('faults under load', () => {
  const openapi = openApiResponseCheck();
  let local: LocalSystem;
  let s3Switch: TcpSwitch;
  const quiet = quietHandlerLogs();

  beforeAll(async () => {
    local = await startLocal({
      port: 0,
      inMemory: true,
      modelDir: MODEL_DIR,
      apiKey: 'faults-key-0123456789abcdef',
      replayIntervalMs: 0,
      onResponse: openapi.record,
      // The predict function reaches S3 through a switch the S3 scenario turns off.
      predictS3Via: async (s3Url) => {
        s3Switch = await startTcpSwitch(Number(new URL(s3Url).port));
        return s3Switch.url;
      },
    });
  });

  afterAll(async () => {
    await local?.stop();
    await s3Switch?.close();
    quiet.restore();
  });

  it('loses and doubles nothing when DynamoDB is down for 2 s mid-load, once the dead letters are replayed', async () => {
    // GIVEN load at concurrency 8, WHEN DynamoDB stops for 2 s and comes back
    const r = await dynamoDbOutage(local, { leadSeconds: 1, downSeconds: 2, tailSeconds: 1, concurrency: 8, tag: 101 });

    // THEN every request was answered 200 (the log fell back to the queue), and after replay each answer has one item
    expect(r.summary).toMatchObject({ status5xx: 0, networkErrors: 0, malformed: 0 });
    expect(r.summary.ok).toBe(r.summary.requests);
    expect(r.during.length).toBeGreaterThan(0);
    expect(r.replayed).toBeGreaterThan(0);
    expect(r.reconciliation).toMatchObject({ lost: [], duplicated: [], orphaned: [] });
    expect(r.reconciliation.logged).toBe(r.reconciliation.answered);
  });

  it('answers 503 (BACKEND_UNAVAILABLE, then MODEL_LOADING) while the model server is down and recovers without restarting the API', async () => {
    const r = await modelOutage(local, { leadSeconds: 1, downSeconds: 2, tailSeconds: 1.5, concurrency: 8, tag: 102 });

    const failed = [...r.during, ...r.after].filter((a) => a.status !== 200);
    expect(failed.length).toBeGreaterThan(0);
    // Down: BACKEND_UNAVAILABLE. Back up but still loading its model: the server's own MODEL_LOADING. Both 503.
    for (const a of failed)
      expect({ status: a.status, code: ['BACKEND_UNAVAILABLE', 'MODEL_LOADING'].includes(a.code ?? '') }).toEqual({
        status: ERROR_STATUS.BACKEND_UNAVAILABLE,
        code: true,
      });
    expect(failed.some((a) => a.code === 'BACKEND_UNAVAILABLE')).toBe(true);
    expect(r.summary).toMatchObject({ networkErrors: 0, malformed: 0 });
    // Once the server is back, answers are 200 again.
    expect(r.after.length).toBeGreaterThan(0);
    expect(r.after.slice(-Math.min(8, r.after.length)).every((a) => a.status === 200)).toBe(true);
    // Failed requests logged nothing; answered ones exactly once.
    expect(r.reconciliation).toMatchObject({ lost: [], duplicated: [], orphaned: [] });
    expect(r.reconciliation.logged).toBe(r.reconciliation.answered);
  });

  it('answers 503 STORAGE_UNAVAILABLE for an S3 input while S3 is unreachable, logging nothing, and works once it is back', async () => {
    const r = await s3Outage(local, s3Switch, 103);

    expect(r.down.status).toBe(ERROR_STATUS.STORAGE_UNAVAILABLE);
    expect(r.down.body.error?.code).toBe('STORAGE_UNAVAILABLE');
    expect(r.down.body.error?.message).toMatch(/datasets\/reliability/);
    expect(r.itemsAfterFailure).toBe(0);
    expect(r.back.status).toBe(200);
    expect(r.back.ids).toHaveLength(1);
    expect(r.itemsAfterRecovery).toBe(1);
  });

  it('is healthy after the faults', async () => {
    const res = await fetch(`${local.url}/health`);
    expect(res.status).toBe(200);
  });

  it('answered only what the OpenAPI document declares, with bodies valid against its schemas', async () => {
    expect(openapi.count()).toBeGreaterThan(0);
    expect(await openapi.failures(local.url)).toEqual([]);
  });
});

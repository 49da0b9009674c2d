/**
 * Fault scenarios against a running local system, shared by the fast tests (seconds) and the full
 * benchmark (`faults.ts`). Each takes a real part away in the middle of real traffic and reports what
 * the callers saw and what the prediction log holds afterwards.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PREFIX } from '../../contract/bucket';
import { API_KEY_HEADER } from '../../contract/routes';
import { s3Client } from '../../local/s3';
import type { LocalSystem } from '../../local/system';
import { type Answer, answeredIds, type LoadSummary, markedRow, markerOf, runLoad, summarize } from './load-runner';
import { type Reconciliation, reconcile, scanPredictions } from './log-scan';
import type { TcpSwitch } from './tcp-switch';

export interface OutageTiming {
  /** Seconds of load before the part goes away. */
  leadSeconds: number;
  /** Seconds it stays away. */
  downSeconds: number;
  /** Seconds of load after it is back (and answering). */
  tailSeconds: number;
  concurrency: number;
  tag: number;
}

export interface OutageReport {
  summary: LoadSummary;
  reconciliation: Reconciliation;
  /** Answers that arrived while the part was away (or coming back). */
  during: Answer[];
  /** Answers that arrived after the part was back. */
  after: Answer[];
  /** Dead-letter records the replay wrote. */
  replayed: number;
}

/** Runs load for lead + down + tail seconds, with `takeDown` at lead and `bringBack` at lead + down. */
async function loadWithOutage(local: LocalSystem, t: OutageTiming, takeDown: () => Promise<void>, bringBack: () => Promise<void>) {
  let downAt = Infinity;
  let backAt = Infinity;
  const started = Date.now();
  // Coming back can take a while (a model server loads its model): the tail is counted from then.
  const until = () => Date.now() - started >= backAt + t.tailSeconds * 1000;
  const maxSeconds = t.leadSeconds + t.downSeconds + t.tailSeconds + 120;
  const load = runLoad({
    url: local.url,
    apiKey: local.apiKey,
    requests: Number.MAX_SAFE_INTEGER,
    concurrency: t.concurrency,
    maxSeconds,
    until,
    tag: t.tag,
  });
  const outage = (async () => {
    await sleep(t.leadSeconds * 1000);
    downAt = Date.now() - started;
    await takeDown();
    await sleep(t.downSeconds * 1000);
    await bringBack();
    backAt = Date.now() - started;
  })();
  const [result] = await Promise.all([load, outage]);
  return { result, downAt, backAt };
}

/** Drains the dead-letter queue until a drain finds nothing (bounded). */
export async function replayAll(local: LocalSystem, maxDrains = 50): Promise<number> {
  let replayed = 0;
  for (let i = 0; i < maxDrains; i++) {
    const r = await local.replay();
    replayed += r.replayed;
    if (r.received === 0) return replayed;
  }
  throw new Error(`The dead-letter queue was not empty after ${maxDrains} drains`);
}

async function report(
  local: LocalSystem,
  t: OutageTiming,
  run: Awaited<ReturnType<typeof loadWithOutage>>,
  replayed: number,
): Promise<OutageReport> {
  const { answered, answeredTwice } = answeredIds(run.result.answers);
  const items = await scanPredictions(local.dynamodbUrl, local.tableName);
  return {
    summary: summarize(run.result),
    reconciliation: reconcile(answered, answeredTwice, items, markerOf(t.tag)),
    during: run.result.answers.filter((a) => a.at >= run.downAt && a.at < run.backAt),
    after: run.result.answers.filter((a) => a.at >= run.backAt),
    replayed,
  };
}

/** The log store goes away mid-load: writes fall back to the dead-letter queue, the replay writes them later. */
export async function dynamoDbOutage(local: LocalSystem, t: OutageTiming): Promise<OutageReport> {
  const run = await loadWithOutage(
    local,
    t,
    () => local.dynamodb.stop(),
    () => local.dynamodb.start(),
  );
  const replayed = await replayAll(local);
  return report(local, t, run, replayed);
}

/** The model server goes away mid-load and comes back; the API keeps running. */
export async function modelOutage(local: LocalSystem, t: OutageTiming): Promise<OutageReport> {
  const run = await loadWithOutage(
    local,
    t,
    () => local.model.stop(),
    () => local.model.start(),
  );
  const replayed = await replayAll(local);
  return report(local, t, run, replayed);
}

export interface S3OutageReport {
  /** Status and body of the request sent while S3 was away. */
  down: { status: number; body: { error?: { code?: string; message?: string } } };
  /** Log items that name the object after the failed request (must be none). */
  itemsAfterFailure: number;
  /** Status of the same request once S3 is back, and the items naming the object then. */
  back: { status: number; ids: string[] };
  itemsAfterRecovery: number;
}

/**
 * S3 goes away for the predict function (its client reaches s3rver through `s3Switch`): an instance given
 * as an S3 key fails with a clear error and leaves no log item; once S3 is back the same request works.
 */
export async function s3Outage(local: LocalSystem, s3Switch: TcpSwitch, tag: number): Promise<S3OutageReport> {
  const key = `${PREFIX.datasets}reliability/row-${tag}.json`;
  const direct = s3Client(local.s3Url);
  try {
    await direct.send(
      new PutObjectCommand({
        Bucket: local.bucketName,
        Key: key,
        Body: JSON.stringify(markedRow(0, tag)),
        ContentType: 'application/json',
      }),
    );
  } finally {
    direct.destroy();
  }
  const send = async () => {
    const res = await fetch(`${local.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [API_KEY_HEADER]: local.apiKey },
      body: JSON.stringify({ instances: [{ s3Key: key }] }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { predictions?: { id: string }[]; error?: { code?: string; message?: string } },
    };
  };
  const naming = async () => (await scanPredictions(local.dynamodbUrl, local.tableName)).filter((i) => i.inputKey === key).length;

  await s3Switch.off();
  let down: Awaited<ReturnType<typeof send>>;
  try {
    down = await send();
  } finally {
    await s3Switch.on();
  }
  const itemsAfterFailure = await naming();
  const back = await send();
  return {
    down,
    itemsAfterFailure,
    back: { status: back.status, ids: (back.body.predictions ?? []).map((p) => p.id) },
    itemsAfterRecovery: await naming(),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

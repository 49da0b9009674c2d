/**
 * A bounded closed-loop load generator on loopback: `concurrency` workers send `POST /predict` one after
 * another until `requests` are sent or `maxSeconds` pass. Each request carries a marker (its sequence
 * number as the first feature, the run's tag as the second) so the log can be reconciled with the answers.
 * Latency is measured per request with process.hrtime, so percentiles have sub-millisecond resolution.
 */

import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import type { PredictionRecord } from '../../contract/prediction-log';
import { API_KEY_HEADER } from '../../contract/routes';
import { PROJECT_ROOT } from '../../local/paths';

export const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');

const parity = JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] };

/** One breast-cancer row whose first two features carry the request's marker. */
export function markedRow(seq: number, tag: number): number[] {
  const row = [...parity.rows[seq % parity.rows.length].input];
  row[0] = seq;
  row[1] = tag;
  return row;
}

/** The marker of a logged item of the run tagged `tag`, or undefined for other runs' items. */
export function markerOf(tag: number): (item: PredictionRecord) => string | undefined {
  return (item) => (item.inputValues?.[1] === tag ? String(item.inputValues[0]) : undefined);
}

export interface LoadOptions {
  url: string;
  apiKey: string;
  requests: number;
  concurrency: number;
  maxSeconds: number;
  /** Distinguishes this run's log items from other runs' in the same table. */
  tag: number;
  /** Per-request timeout; a request that takes longer counts as a client error. @default 35000 */
  timeoutMs?: number;
  /** Stops sending once this returns true (fault scenarios end the load a while after recovery). */
  until?: () => boolean;
  /** Called with each answer as it arrives (a signal test acts once enough have come). */
  onAnswer?: (answer: Answer) => void;
}

export interface Answer {
  seq: number;
  /** Milliseconds since the run started, when the answer arrived. */
  at: number;
  status: number;
  /** Error code of a JSON error body. */
  code?: string;
  ids: string[];
  ms: number;
  /** Network failure (no HTTP answer). */
  networkError?: string;
  /** Body that was not JSON, or an error without the contract's shape. */
  malformed?: boolean;
}

export interface LoadResult {
  answers: Answer[];
  elapsedSeconds: number;
  stoppedByTimeCap: boolean;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const answers: Answer[] = [];
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + opts.maxSeconds * 1000;
  let next = 0;
  let stoppedByTimeCap = false;
  const worker = async () => {
    for (;;) {
      if (next >= opts.requests) return;
      if (opts.until?.()) return;
      if (Date.now() >= deadline) {
        stoppedByTimeCap = true;
        return;
      }
      const seq = next++;
      const body = JSON.stringify({ instances: [markedRow(seq, opts.tag)] });
      const answer = await postJson(`${opts.url}/predict`, body, { [API_KEY_HEADER]: opts.apiKey }, agent, seq, opts.timeoutMs ?? 35_000);
      const a = { ...answer, at: Number(process.hrtime.bigint() - t0) / 1e6 };
      answers.push(a);
      opts.onAnswer?.(a);
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return { answers, elapsedSeconds: Number(process.hrtime.bigint() - t0) / 1e9, stoppedByTimeCap };
}

function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  agent: Agent,
  seq: number,
  timeoutMs: number,
): Promise<Omit<Answer, 'at'>> {
  const started = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(parseAnswer(seq, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), ms())));
        res.on('error', (e) => resolve({ seq, status: 0, ids: [], ms: ms(), networkError: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ seq, status: 0, ids: [], ms: ms(), networkError: e.message }));
    req.end(body);
  });
}

function parseAnswer(seq: number, status: number, text: string, ms: number): Omit<Answer, 'at'> {
  let body: { predictions?: { id?: unknown }[]; error?: { code?: unknown; message?: unknown } };
  try {
    body = JSON.parse(text);
  } catch {
    return { seq, status, ids: [], ms, malformed: true };
  }
  if (status === 200) {
    const ids = (body.predictions ?? []).map((p) => p.id).filter((id): id is string => typeof id === 'string');
    return { seq, status, ids, ms, malformed: ids.length === 0 };
  }
  const ok = typeof body.error?.code === 'string' && typeof body.error?.message === 'string';
  return { seq, status, ids: [], ms, ...(ok ? { code: body.error?.code as string } : { malformed: true }) };
}

/** Percentile (nearest rank) of latencies in ms. */
export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  return sortedMs[Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1))];
}

export interface LoadSummary {
  requests: number;
  ok: number;
  status4xx: number;
  status5xx: number;
  networkErrors: number;
  malformed: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Error codes seen, with counts. */
  codes: Record<string, number>;
}

export function summarize(result: LoadResult): LoadSummary {
  const a = result.answers;
  const sorted = a.map((x) => x.ms).sort((x, y) => x - y);
  const codes: Record<string, number> = {};
  for (const x of a) if (x.code) codes[x.code] = (codes[x.code] ?? 0) + 1;
  return {
    requests: a.length,
    ok: a.filter((x) => x.status === 200).length,
    status4xx: a.filter((x) => x.status >= 400 && x.status < 500).length,
    status5xx: a.filter((x) => x.status >= 500).length,
    networkErrors: a.filter((x) => x.networkError !== undefined).length,
    malformed: a.filter((x) => x.malformed).length,
    requestsPerSecond: a.length / result.elapsedSeconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? NaN,
    codes,
  };
}

/** The ids of the 200 answers, each with its request's marker; ids answered twice are listed apart. */
export function answeredIds(answers: Answer[]): { answered: Map<string, string>; answeredTwice: string[] } {
  const answered = new Map<string, string>();
  const answeredTwice: string[] = [];
  for (const a of answers) {
    if (a.status !== 200) continue;
    for (const id of a.ids) {
      if (answered.has(id)) answeredTwice.push(id);
      answered.set(id, String(a.seq));
    }
  }
  return { answered, answeredTwice };
}

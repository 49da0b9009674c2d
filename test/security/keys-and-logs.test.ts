/**
 * The local gateway refuses every keyed route without the key (403, as API Gateway does), and neither
 * the API key nor the feature values of inputs ever reach the log output of the handlers and the gateway,
 * on success, on error and on the dead-letter path.
 */

import { API_KEY_HEADER, ROUTES } from '../../contract/routes';
import { type LocalSystem, startLocal } from '../../local/system';
import { MODEL_DIR } from '../support/load-runner';
import { DISTINCTIVE_VALUES, distinctiveRow } from './e2e-run';

const API_KEY = 'sec-key-Zq8xV3pL0mN7bR2tY6wKc4';

describe('API key and log hygiene on the local system', () => {
  let local: LocalSystem;
  const output: string[] = [];
  const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };

  beforeAll(async () => {
    // Capture everything this process writes (handlers, gateway, replay) while the system runs.
    const capture = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    local = await startLocal({
      port: 0,
      inMemory: true,
      modelDir: MODEL_DIR,
      apiKey: API_KEY,
      replayIntervalMs: 0,
      staticDir: '/nonexistent-dashboard',
    });
  });

  afterAll(async () => {
    await local?.stop();
    process.stdout.write = originals.out as typeof process.stdout.write;
    process.stderr.write = originals.err as typeof process.stderr.write;
  });

  const concrete = (path: string) => path.replace('{id}', '01ARZ3NDEKTSV4RRFFQ69G5FAV');

  it.each(ROUTES.filter((r) => r.apiKey).map((r) => [r.method, r.path] as const))(
    '%s %s without the key, or with a wrong one, is 403 FORBIDDEN',
    async (method, path) => {
      const wrongKeys: Record<string, string>[] = [{}, { [API_KEY_HEADER]: `${API_KEY}x` }, { [API_KEY_HEADER]: '' }];
      for (const headers of wrongKeys) {
        const res = await fetch(local.url + concrete(path), {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          body: method === 'POST' ? '{}' : undefined,
        });
        expect({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({
          status: 403,
          code: 'FORBIDDEN',
        });
      }
    },
  );

  it('keeps the API key and input values out of every log line', async () => {
    const send = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${local.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [API_KEY_HEADER]: API_KEY, ...headers },
        body,
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const row = distinctiveRow();
    const ok = await send(JSON.stringify({ instances: [row] }));
    expect(ok.status).toBe(200);
    expect((await send(JSON.stringify({ instances: [row.slice(0, 29)] }))).status).toBe(400);
    expect((await send(row.join(','), { 'content-type': 'text/csv', 'idempotency-key': 'log-check-1' })).status).toBe(200);
    expect((await send(`{"instances":[[${row.join(',')},]]}`)).status).toBe(400);
    // The dead-letter path logs failed writes: it must log ids, not records.
    await local.dynamodb.stop();
    expect((await send(JSON.stringify({ instances: [row] }))).status).toBe(200);
    await local.dynamodb.start();
    expect((await local.replay()).replayed).toBe(1);
    const id = (JSON.parse(ok.text) as { predictions: { id: string }[] }).predictions[0].id;
    expect((await fetch(`${local.url}/predictions/${id}`, { headers: { [API_KEY_HEADER]: API_KEY } })).status).toBe(200);

    const log = output.join('');
    // The run did log (so the check below looks at something): request lines with their ids.
    expect(log).toContain(id);
    expect(log).not.toContain(API_KEY);
    for (const v of DISTINCTIVE_VALUES) expect({ value: v, inLog: log.includes(String(v)) }).toEqual({ value: v, inLog: false });
  });
});

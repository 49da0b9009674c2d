/**
 * The prediction-log attacks of issue 12 (items 1, 8, 9), issue 26 (item 11) and the paging case, each
 * with its expected answer, against the whole local system: numbers the log once could not store, S3 keys
 * that once read as an outage, tenancy between two API keys (a stored input sent back by another tenant's
 * key among them), a second feedback, and the last page of a listing.
 * Run by test/reliability/log-attacks.test.ts and by `npx tsx bench/reliability/log-attacks.ts`.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { INPUT_OWNER_METADATA, predictionInputKey } from '../../contract/bucket';
import { float32Decimal } from '../../contract/prediction-log';
import { API_KEY_HEADER } from '../../contract/routes';
import { s3Client } from '../../local/s3';
import type { LocalSystem } from '../../local/system';
import { scanPredictions } from './log-scan';

interface Answer {
  status: number;
  body: {
    error?: { code?: string };
    predictions?: { id: string; label?: string }[];
    items?: { id: string }[];
    cursor?: string;
    inputValues?: number[];
  };
}

export interface AttackCase {
  name: string;
  want: string;
  got: string;
  ok: boolean;
}

export interface AttackReport {
  cases: AttackCase[];
  status5xx: number;
  answered: number;
  logged: number;
}

/** Runs every case against a running local system (breast-cancer model) and reconciles the log. */
export async function runLogAttacks(local: LocalSystem): Promise<AttackReport> {
  const results: AttackCase[] = [];
  const answered = new Set<string>();
  let status5xx = 0;
  const call = async (path: string, init: { body?: unknown; key?: string } = {}): Promise<Answer> => {
    const res = await fetch(local.url + path, {
      method: init.body === undefined ? 'GET' : 'POST',
      headers: { [API_KEY_HEADER]: init.key ?? local.apiKey, 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (res.status >= 500) status5xx++;
    const body = (await res.json()) as Answer['body'];
    if (res.status === 200) for (const p of body.predictions ?? []) answered.add(p.id);
    return { status: res.status, body };
  };
  const check = (name: string, want: string, got: string) => results.push({ name, want, got, ok: want === got });
  const row = (patch: Record<number, number>) => Array.from({ length: 30 }, (_v, i) => patch[i] ?? 0.5 + i / 100);
  // Item 1: numbers beyond 2^53 and below DynamoDB's range are logged as the float32 the model saw.
  for (const [name, v] of [
    ['feature 1e16', 1e16],
    ['feature 1e-140', 1e-140],
    ['feature -3.4e38', -3.4e38],
  ] as const) {
    const p = await call('/predict', { body: { instances: [row({ 0: v })] } });
    const id = p.body.predictions?.[0]?.id ?? '';
    const got = await call(`/predictions/${id}`);
    check(
      name,
      `200, logged ${float32Decimal(v)}`,
      `${p.status}, logged ${got.status === 200 ? got.body.inputValues?.[0] : `(GET ${got.status})`}`,
    );
  }
  // Item 8: S3 keys that are not an outage.
  for (const [name, key, want] of [
    ['s3Key with an empty segment', 'datasets//ok.json', '400 INVALID_S3_KEY'],
    ['s3Key of 1,009 characters', `datasets/${'k'.repeat(996)}.json`, '400 INVALID_S3_KEY'],
    ['s3Key of a missing object', 'datasets/none/here.json', '404 S3_OBJECT_NOT_FOUND'],
  ] as const) {
    const r = await call('/predict', { body: { instances: [{ s3Key: key }] } });
    check(name, want, `${r.status} ${r.body.error?.code ?? ''}`);
  }
  // Item 9: tenancy between the operator key and a client key.
  const mine = (await call('/predict', { body: { instances: [row({})] }, key: local.clientApiKey })).body.predictions?.[0]?.id ?? '';
  const theirs = (await call('/predict', { body: { instances: [row({})] } })).body.predictions?.[0]?.id ?? '';
  check('client reads its own prediction', '200', String((await call(`/predictions/${mine}`, { key: local.clientApiKey })).status));
  const other = await call(`/predictions/${theirs}`, { key: local.clientApiKey });
  check("client reads the operator's prediction", '404 NOT_FOUND', `${other.status} ${other.body.error?.code ?? ''}`);
  const listed = (await call('/predictions?limit=200', { key: local.clientApiKey })).body.items?.map((i) => i.id) ?? [];
  check('client lists its own predictions only', 'true', String(listed.includes(mine) && !listed.includes(theirs)));
  const metrics = await call('/metrics/summary?window=1h', { key: local.clientApiKey });
  check('client reads the metrics', '403 FORBIDDEN', `${metrics.status} ${metrics.body.error?.code ?? ''}`);
  const fb = await call(`/predictions/${theirs}/feedback`, { body: { label: 'benign' }, key: local.clientApiKey });
  check("client gives feedback on the operator's prediction", '404 NOT_FOUND', `${fb.status} ${fb.body.error?.code ?? ''}`);
  await call(`/predictions/${mine}/feedback`, { body: { label: 'benign' }, key: local.clientApiKey });
  const second = await call(`/predictions/${mine}/feedback`, { body: { label: 'malignant' }, key: local.clientApiKey });
  check('second feedback without replace', '409 FEEDBACK_EXISTS', `${second.status} ${second.body.error?.code ?? ''}`);
  const replaced = await call(`/predictions/${mine}/feedback`, { body: { label: 'malignant', replace: true }, key: local.clientApiKey });
  check('second feedback with replace', '200', String(replaced.status));
  // Issue 26 item 11: a stored input (predictions/) is sent back as an s3Key only by its owner or an operator.
  const storedFor = async (owner: string, name: string) => {
    const key = predictionInputKey(local.manifest.name, new Date().toISOString(), name, 'json');
    const s3 = s3Client(local.s3Url);
    await s3.send(
      new PutObjectCommand({
        Bucket: local.bucketName,
        Key: key,
        Body: JSON.stringify(row({})),
        Metadata: { [INPUT_OWNER_METADATA]: owner },
      }),
    );
    s3.destroy();
    return key;
  };
  const operatorsInput = await storedFor(local.apiKeyId, 'OPERATORS-INPUT');
  const clientsInput = await storedFor(local.clientApiKeyId, 'CLIENTS-INPUT');
  for (const [name, key, apiKey, want] of [
    ["client sends the operator's stored input as s3Key", operatorsInput, local.clientApiKey, '403 S3_ACCESS_DENIED'],
    ['client sends its own stored input as s3Key', clientsInput, local.clientApiKey, '200 '],
    ["operator sends the client's stored input as s3Key", clientsInput, local.apiKey, '200 '],
  ] as const) {
    const r = await call('/predict', { body: { instances: [{ s3Key: key }] }, key: apiKey });
    check(name, want, `${r.status} ${r.body.error?.code ?? ''}`);
  }
  // Paging: a page that ends exactly at the last item carries no cursor.
  const all = (await call('/predictions?limit=200')).body.items?.length ?? 0;
  const exact = await call(`/predictions?limit=${all}`);
  check(
    'last page filled exactly',
    `${all} items, no cursor`,
    `${exact.body.items?.length ?? 0} items, ${exact.body.cursor === undefined ? 'no cursor' : 'a cursor'}`,
  );

  const logged = new Set((await scanPredictions(local.dynamodbUrl, local.tableName)).map((i) => i.id));
  return { cases: results, status5xx, answered: answered.size, logged: [...answered].filter((id) => logged.has(id)).length };
}

/**
 * A challenger beside the champion in the local system, end to end through the gateway: shadow (every
 * answer from the champion, both versions logged, agreement 1.0 for identical models, feedback grading
 * both), pin, rollback and promotion through the CLI's commands, and a split whose share stays within
 * statistical bounds over a few hundred requests.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { changeRouting, formatVersions, type VersionsTarget, versionsReport } from '../../cli/versions';
import { ENV } from '../../contract/env';
import { MODEL_VERSION_HEADER } from '../../contract/prediction';
import { MODEL_VERSION_REQUEST_HEADER } from '../../contract/versions';
import { createLogger } from '../../lambda/runtime/logger';
import { evaluatePromotion } from '../../lambda/versions/promotion';
import { localChallenger } from '../../local/challenger';
import { dynamoClient } from '../../local/dynamodb';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';
import { localPromotionDeps } from '../../local/promotion';
import { type LocalSystem, startLocal } from '../../local/system';
import { modelVersionCopy } from '../support/model-version';

const MODEL = join(PROJECT_ROOT, 'models', 'breast-cancer');
const rows = (JSON.parse(readFileSync(join(MODEL, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }).rows;
const HOUR = 3_600_000;
/** The same weights under a new version: it agrees with the champion on every instance. */
const twin = modelVersionCopy(MODEL, '2.0.0');
/** The labels the other way round: wrong wherever the champion is right. */
const worse = modelVersionCopy(MODEL, '3.0.0', (m) => {
  const output = m.output as { labels: string[] };
  output.labels = [...output.labels].reverse();
});
const policy = { steps: [30, 50], minLabeled: 5, tolerance: 0.02, maxErrorRate: 0.01, maxP99Ms: 5000 };
const quiet = { port: 0, inMemory: true, replayIntervalMs: 0, analyticsIntervalMs: 0, analyticsCompactionIntervalMs: 0, modelDir: MODEL };

let shadow: LocalSystem;
let split: LocalSystem;
let bad: LocalSystem;

beforeAll(async () => {
  [shadow, split, bad] = await Promise.all([
    startLocal({ ...quiet, challenger: { dir: twin, mode: 'shadow' } }),
    startLocal({ ...quiet, challenger: { dir: twin, mode: 'split', percent: 30 } }),
    startLocal({ ...quiet, challenger: { dir: worse, mode: 'split', percent: 50 } }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([shadow?.stop(), split?.stop(), bad?.stop()]);
  rmSync(twin, { recursive: true, force: true });
  rmSync(worse, { recursive: true, force: true });
});

const targetOf = (s: LocalSystem): VersionsTarget => ({
  kind: 'local',
  tableName: s.tableName,
  awsEnv: { AWS_REGION: LOCAL_NAMES.region, [ENV.DYNAMODB_URL]: s.dynamodbUrl },
  s3: { credentials: { ...S3RVER_CREDENTIALS } },
});

async function predict(s: LocalSystem, instances: number[][], headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}/predict`, {
    method: 'POST',
    headers: { 'x-api-key': s.apiKey, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ instances }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { predictions: { id: string; label: string }[] };
  return { version: res.headers.get(MODEL_VERSION_HEADER), predictions: body.predictions };
}

async function feedback(s: LocalSystem, id: string, label: string): Promise<void> {
  const res = await fetch(`${s.url}/predictions/${id}/feedback`, {
    method: 'POST',
    headers: { 'x-api-key': s.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ label }),
  });
  expect(res.status).toBe(200);
}

describe('shadow', () => {
  it('answers from the champion, logs both, agrees 1.0, and grades both versions on feedback', async () => {
    // WHEN 20 requests of 2 instances come, and 10 instances get their true label
    const answered: { id: string; label: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await predict(shadow, [rows[i % rows.length].input, rows[(i + 1) % rows.length].input]);
      expect(r.version).toBe('breast-cancer/1.0.0');
      answered.push(...r.predictions);
    }
    const labels = shadow.manifest.output.kind === 'classification' ? shadow.manifest.output.labels : [];
    const other = (label: string) => labels.find((l) => l !== label) ?? label;
    for (const [i, p] of answered.slice(0, 10).entries()) await feedback(shadow, p.id, i % 2 === 0 ? p.label : other(p.label));
    // THEN the figures show every answer from the champion and every instance shadowed by the challenger
    const report = await versionsReport(targetOf(shadow), shadow.manifest, HOUR);
    const [champion, challenger] = report.versions;
    expect(champion).toMatchObject({ version: '1.0.0', role: 'champion', trafficPercent: 100, answered: 40, shadow: 0 });
    expect(challenger).toMatchObject({
      version: '2.0.0',
      role: 'challenger',
      shadowing: true,
      answered: 0,
      shadow: 40,
      agreement: 1,
      errorRate: 0,
    });
    // AND feedback on the answered predictions grades the shadow ones alike
    expect(champion?.graded).toBe(10);
    expect(challenger?.graded).toBe(10);
    expect(champion?.accuracy).toBe(0.5);
    expect(challenger?.accuracy).toBe(0.5);
    expect(formatVersions(report)).toMatch(/2\.0\.0\s+challenger\s+shadow\s+0\s+40\s+100\.0 %/);
    // AND the summary counts answered predictions only
    const summary = (await (
      await fetch(`${shadow.url}/metrics/summary?window=1h`, { headers: { 'x-api-key': shadow.apiKey } })
    ).json()) as { count: number };
    expect(summary.count).toBe(40);
  });

  it('a pinned request is answered by the version it names', async () => {
    expect((await predict(shadow, [rows[0].input], { [MODEL_VERSION_REQUEST_HEADER]: '2.0.0' })).version).toBe('breast-cancer/2.0.0');
  });

  it('rollback stops the shadow at once; promote makes the challenger answer at once', async () => {
    const before = await versionsReport(targetOf(shadow), shadow.manifest, HOUR);
    // WHEN rolled back THEN the champion answers and no shadow runs
    await changeRouting(targetOf(shadow), shadow.manifest, 'rollback');
    expect((await predict(shadow, [rows[0].input])).version).toBe('breast-cancer/1.0.0');
    const rolled = await versionsReport(targetOf(shadow), shadow.manifest, HOUR);
    expect(rolled.versions[1]).toMatchObject({ shadowing: false, trafficPercent: 0, shadow: before.versions[1]?.shadow });
    // WHEN promoted THEN 2.0.0 answers, and 1.0.0 stays hosted as a challenger without traffic
    const change = await changeRouting(targetOf(shadow), shadow.manifest, 'promote');
    expect(change.after).toMatchObject({ champion: '2.0.0', challenger: '1.0.0', percent: 0 });
    expect((await predict(shadow, [rows[0].input])).version).toBe('breast-cancer/2.0.0');
    expect((await predict(shadow, [rows[0].input], { [MODEL_VERSION_REQUEST_HEADER]: '1.0.0' })).version).toBe('breast-cancer/1.0.0');
    const after = await versionsReport(targetOf(shadow), shadow.manifest, HOUR);
    expect(after.versions.map((v) => [v.version, v.role, v.trafficPercent])).toEqual([
      ['2.0.0', 'champion', 100],
      ['1.0.0', 'challenger', 0],
    ]);
    expect(after.history.map((s) => s.updatedBy)).toEqual(['deploy', 'cli']);
  });
});

describe('split', () => {
  it('answers about 30 % of requests with the challenger', async () => {
    const n = 300;
    let challenger = 0;
    for (let i = 0; i < n; i++) if ((await predict(split, [rows[i % rows.length].input])).version === 'breast-cancer/2.0.0') challenger++;
    // Binomial(300, 0.3): mean 90, standard deviation 7.9; four deviations either side.
    expect(challenger).toBeGreaterThanOrEqual(58);
    expect(challenger).toBeLessThanOrEqual(122);
    const report = await versionsReport(targetOf(split), split.manifest, HOUR);
    expect(report.versions.map((v) => [v.version, v.trafficPercent, v.answered])).toEqual([
      ['1.0.0', 70, n - challenger],
      ['2.0.0', 30, challenger],
    ]);
  });
});

/** `n` requests, each instance labeled with its parity label (what the champion answers). */
async function labeledTraffic(s: LocalSystem, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const row = rows[i % rows.length];
    const p = (await predict(s, [row.input])).predictions[0];
    await feedback(s, p?.id ?? '', row.label);
  }
}

const promotionOf = (s: LocalSystem) =>
  localPromotionDeps({
    dynamodb: dynamoClient(s.dynamodbUrl),
    tableName: s.tableName,
    manifest: s.manifest,
    policy,
    logger: createLogger('test'),
  });

describe('automatic promotion', () => {
  it('moves a challenger as good as the champion up a step, then promotes it', async () => {
    // GIVEN the 30 % split (the split test's traffic has no labels: the policy holds)
    expect((await evaluatePromotion(promotionOf(split)))?.action).toBe('hold');
    // WHEN labeled traffic comes THEN it steps to 50 %
    await labeledTraffic(split, 40);
    const step = await evaluatePromotion(promotionOf(split));
    expect(step).toMatchObject({ action: 'step', state: { percent: 50, updatedBy: 'policy' } });
    expect(step?.challenger?.accuracy).toBe(1);
    // WHEN more labeled traffic comes at 50 % THEN it becomes the champion, and answers at once
    await labeledTraffic(split, 30);
    expect((await evaluatePromotion(promotionOf(split)))?.action).toBe('promote');
    expect((await predict(split, [rows[0].input])).version).toBe('breast-cancer/2.0.0');
  });

  it('rolls a worse challenger back at once', async () => {
    // WHEN half the labeled traffic is answered by a challenger that is always wrong
    await labeledTraffic(bad, 30);
    const decision = await evaluatePromotion(promotionOf(bad));
    // THEN it is rolled back, saying why, and the champion answers everything from then on
    expect(decision).toMatchObject({ action: 'rollback', state: { percent: 0, updatedBy: 'policy' } });
    expect(decision?.reason).toMatch(/^accuracy 0\.000 below the champion's 1\.000/);
    const versions = new Set<string | null>();
    for (let i = 0; i < 20; i++) versions.add((await predict(bad, [rows[i].input])).version);
    expect([...versions]).toEqual(['breast-cancer/1.0.0']);
  });
});

describe('the start flags', () => {
  it('read --challenger with --shadow (the default) or --split, and refuse what makes no sense', () => {
    expect(localChallenger({ dir: 'v2' })).toEqual({ dir: 'v2', mode: 'shadow' });
    expect(localChallenger({ dir: 'v2', split: '25' })).toEqual({ dir: 'v2', mode: 'split', percent: 25 });
    expect(localChallenger({})).toBeUndefined();
    expect(localChallenger({ dir: 'v2', split: '5', autoPromote: true })?.autoPromote?.policy.steps).toEqual([5, 25, 50]);
    // Settings as `autoPromote` in mlship.config.json takes them, checked alike.
    expect(localChallenger({ dir: 'v2', split: '5', autoPromote: '{"steps":[10,40],"minLabeled":20}' })?.autoPromote?.policy).toMatchObject(
      {
        steps: [10, 40],
        minLabeled: 20,
        tolerance: 0.02,
      },
    );
    expect(() => localChallenger({ dir: 'v2', split: '5', autoPromote: '{"steps":[40,10]}' })).toThrow(
      '--auto-promote: the promotion policy is invalid: steps must ascend, got [40,10]',
    );
    expect(() => localChallenger({ dir: 'v2', split: '5', autoPromote: 'fast' })).toThrow(/--auto-promote takes its settings as JSON/);
    expect(() => localChallenger({ dir: 'v2', autoPromote: true })).toThrow(
      '--auto-promote moves a split challenger up: give --split PERCENT (e.g. 5).',
    );
    expect(() => localChallenger({ dir: 'v2', split: '60' })).toThrow('--split must be a whole percent from 1 to 50, got "60"');
    expect(() => localChallenger({ split: '10' })).toThrow('--shadow, --split and --auto-promote go with --challenger DIR.');
  });
});

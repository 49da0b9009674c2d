/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * `mlship sync-config` and the note of `mlship versions` on a stack, against a real DynamoDB (dynalite):
 * the routing item stored as the predict function stores it from the config's own state, changed as the
 * promotion policy changes it, and the config file read as synth reads it. A promotion made on AWS is
 * written back to the file as `mlship promote` writes it; a rollback leaves the file alone; a deploy of
 * the file before or after keeps or replaces the state in force as the note says. A registered version
 * promoted on AWS is fetched from the registry in a real bucket (s3rver), checked as the model server
 * checks it, and put beside the champion's folder before the file names it.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryTarget } from '../../cli/registered-champion';
import {
  changeRouting,
  configAfterPromotion,
  configNote,
  formatSync,
  type SyncResult,
  syncConfig,
  type VersionsTarget,
  versionsReport,
} from '../../cli/versions';
import { CONFIG_FILE } from '../../contract/app-config';
import { ENV } from '../../contract/env';
import { MANIFEST_FILE } from '../../contract/manifest';
import { PREDICT_METRICS } from '../../contract/metrics/predict-metrics';
import { readManifestFile } from '../../contract/model-files';
import { handedOver, promoted, rolledBack } from '../../contract/versions';
import { versionsDeps } from '../../lambda/api/versions-routing';
import type { Logger } from '../../lambda/runtime/logger';
import { Metrics } from '../../lambda/runtime/metrics';
import { TableRoutingStore } from '../../lambda/versions/routing-store';
import { configuredVersions } from '../../lib/config';
import { dynamoClient, type EmbeddedDynamoDb, ensureTable, startDynamoDb } from '../../local/dynamodb';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';
import { type EmbeddedS3, s3Client, startS3 } from '../../local/s3';
import { modelVersionCopy } from '../support/model-version';
import { type RegisterOptions, registerCopy } from '../support/registered-version';

const MODEL = join(PROJECT_ROOT, 'models', 'breast-cancer');
const manifest = readManifestFile(join(MODEL, MANIFEST_FILE));
const v2 = modelVersionCopy(MODEL, '2.0.0');
const HOUR = 3_600_000;
const SYNC = 'mlship --stack Mlship sync-config';
const BUCKET = 'mlship-sync-registry';

let db: EmbeddedDynamoDb;
let s3: EmbeddedS3;
let scratch: string;
let root: string;
let tables = 0;
const copies: string[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'mlship-sync-s3-'));
  [db, s3] = await Promise.all([startDynamoDb({}), startS3({ dir: join(scratch, 's3'), bucket: BUCKET })]);
});
afterAll(async () => {
  await db?.close();
  await s3?.close();
  for (const d of [v2, scratch, ...copies]) rmSync(d, { recursive: true, force: true });
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'mlship-sync-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A stack of its own: a fresh table, reached as the CLI reaches a stack's. */
async function stack(): Promise<{ target: VersionsTarget & RegistryTarget; store: TableRoutingStore }> {
  const tableName = `mlship-sync-${++tables}`;
  const ddb = dynamoClient(db.url);
  await ensureTable(ddb, tableName);
  return {
    target: {
      kind: 'stack',
      tableName,
      awsEnv: { AWS_REGION: LOCAL_NAMES.region, [ENV.DYNAMODB_URL]: db.url },
      bucketName: BUCKET,
      s3: { endpoint: s3.url, forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, region: LOCAL_NAMES.region },
    },
    store: new TableRoutingStore(ddb, tableName, manifest.name),
  };
}

const file = () => join(root, CONFIG_FILE);
const writeConfig = (config: Record<string, unknown>) => writeFileSync(file(), `${JSON.stringify(config, null, 2)}\n`);
const readConfig = () => readFileSync(file(), 'utf8');
const SPLIT = { backend: 'fargate', modelDir: MODEL, challengerDir: v2, challengerMode: 'split', challengerPercent: 5, autoPromote: true };

/** What the predict function warns of, by message. */
function recordingLogger(warnings: string[]): Logger {
  const logger: Logger = { info: () => {}, error: () => {}, warn: (m) => warnings.push(m), child: () => logger };
  return logger;
}

/** The `RoutingStateReplaced` counts of EMF lines the predict function wrote. */
const replacedCounts = (lines: string[]) =>
  lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .flatMap((m) => (PREDICT_METRICS.routingStateReplaced in m ? [m[PREDICT_METRICS.routingStateReplaced]] : []));

/**
 * A cold start of the predict function deployed from the config file as it stands (its MLSHIP_CHALLENGER),
 * with what it warns of and the EMF lines it writes.
 */
async function deployOfFile(store: TableRoutingStore, warnings: string[] = [], metricLines: string[] = []) {
  const deployed = configuredVersions(root);
  if (deployed === undefined) throw new Error('no config');
  const versions = versionsDeps({
    store,
    champion: deployed.champion,
    challenger: deployed.challenger,
    cacheMs: 0,
    logger: recordingLogger(warnings),
    metrics: new Metrics({ name: deployed.model, version: deployed.champion }, (line) => metricLines.push(line)),
  });
  return versions.routing();
}

/** The policy's change, written as the quality job writes it: a conditional put on the revision. */
async function policyChanges(store: TableRoutingStore, change: typeof promoted): Promise<void> {
  const stored = await store.read();
  if (stored === undefined) throw new Error('nothing stored');
  expect(await store.write(change(stored.state, 'policy', new Date()), stored.basis, stored.revision)).toBe(true);
}

const note = async (target: VersionsTarget) => configNote(await versionsReport(target, manifest, HOUR), root, SYNC);
const sync = (target: VersionsTarget & RegistryTarget): Promise<SyncResult> => syncConfig(target, manifest, root);

describe('after the policy promotes the challenger on AWS', () => {
  it('versions names the command; sync-config rewrites the file as promote does, once', async () => {
    // GIVEN a stack deployed from a split config, its state stored by the predict function
    const { target, store } = await stack();
    writeConfig(SPLIT);
    const written = readConfig();
    expect(await deployOfFile(store)).toMatchObject({ champion: '1.0.0', challenger: '2.0.0', percent: 5 });
    // THEN file and store agree: no note, and nothing to sync
    expect(await note(target)).toBeUndefined();
    expect(formatSync(await sync(target), 'stack Mlship')).toBe(
      `${CONFIG_FILE} is in line with stack Mlship: 1.0.0 is the champion in force; nothing to change.`,
    );
    expect(readConfig()).toBe(written);

    // WHEN the policy promotes 2.0.0
    await policyChanges(store, promoted);
    // THEN a deploy of the file as it stands keeps the promotion in force (the state was made from the same config)
    expect(await deployOfFile(store)).toMatchObject({ champion: '2.0.0', challenger: '1.0.0', percent: 0, updatedBy: 'policy' });
    // AND versions says the file is behind, and which command brings it in line
    expect(await note(target)).toMatch(
      new RegExp(
        `^${CONFIG_FILE} serves 1\\.0\\.0 as the champion, but 2\\.0\\.0 is the champion in force \\(routing changed by policy at [^)]+\\): run \`${SYNC}\` to bring the file in line before the next cdk deploy \\(a deploy of the file as it stands keeps the promotion in force\\)\\.$`,
      ),
    );

    // WHEN synced THEN the file serves the promoted version alone, as `mlship promote` leaves it
    const r = await sync(target);
    expect(r.status.kind).toBe('promoted');
    expect(formatSync(r, 'stack Mlship')).toMatch(
      /^2\.0\.0 is the champion on stack Mlship \(routing changed by policy at .*\)\. mlship\.config\.json: modelDir is now /,
    );
    expect(JSON.parse(readConfig())).toEqual({ backend: 'fargate', modelDir: v2 });
    // AND file and store agree from then on: a second run changes nothing
    const synced = readConfig();
    expect((await sync(target)).written).toBeUndefined();
    expect(readConfig()).toBe(synced);
    expect(await note(target)).toBeUndefined();
  });

  it('a deploy of the synced file serves the promoted version; one of a stale file changed since undoes the promotion, with a warning', async () => {
    const { store } = await stack();
    // GIVEN a promotion the file has not followed, and a file then changed (another split percent)
    writeConfig(SPLIT);
    await deployOfFile(store);
    await policyChanges(store, promoted);
    writeConfig({ ...SPLIT, challengerPercent: 10 });
    // WHEN deployed THEN the file's own state answers, and the predict function says what it undid
    const warnings: string[] = [];
    const metricLines: string[] = [];
    expect(await deployOfFile(store, warnings, metricLines)).toMatchObject({ champion: '1.0.0', challenger: '2.0.0', percent: 10 });
    expect(warnings).toEqual(["routing state of another deployment replaced: the deployment's champion answers again"]);
    // AND counts it once, for the alarm that tells the topic
    expect(replacedCounts(metricLines)).toEqual([1]);

    // GIVEN a promotion followed by sync-config WHEN the synced file is deployed (with the retraining loop, so the state is read)
    const other = await stack();
    writeConfig(SPLIT);
    await deployOfFile(other.store);
    await policyChanges(other.store, promoted);
    await sync(other.target);
    const quiet: string[] = [];
    const noMetrics: string[] = [];
    // THEN the promoted version answers alone, and nothing was undone
    expect(await deployOfFile(other.store, quiet, noMetrics)).toMatchObject({ champion: '2.0.0', percent: 0 });
    expect((await other.store.read())?.state.challenger).toBeUndefined();
    expect(quiet).toEqual([]);
    expect(replacedCounts(noMetrics)).toEqual([]);
  });
});

describe('after the policy rolls the challenger back on AWS', () => {
  it('leaves the file alone: a deploy of it keeps the rollback, a changed one gives the challenger traffic again', async () => {
    const { target, store } = await stack();
    writeConfig(SPLIT);
    const written = readConfig();
    await deployOfFile(store);
    // WHEN rolled back
    await policyChanges(store, rolledBack);
    // THEN the file is in line (it names the champion in force), and sync-config says what the rollback means for it
    expect(await note(target)).toBeUndefined();
    const r = await sync(target);
    expect(r).toMatchObject({ status: { kind: 'in-line', rolledBack: '2.0.0', atDeploy: 'kept' } });
    expect(formatSync(r, 'stack Mlship').split('\n')[1]).toMatch(
      /^The challenger 2\.0\.0 takes no traffic \(routing changed by policy at .*\)\. The file keeps it, so it stays hosted without traffic: a deploy of the file as it stands keeps the rollback in force\. Remove challengerDir/,
    );
    expect(readConfig()).toBe(written);
    expect(await deployOfFile(store)).toMatchObject({ champion: '1.0.0', percent: 0 });

    // WHEN the file changes the split THEN versions warns that a deploy gives the challenger traffic again
    writeConfig({ ...SPLIT, challengerPercent: 10 });
    expect(await note(target)).toBe(
      `${CONFIG_FILE} has changed since the routing state in force was made: a deploy of the file as it stands starts again from the file's own state, with 1.0.0 as the champion.`,
    );
  });
});

/** Registers `version` in the stack's bucket as a training run does. */
async function register(version: string, opts: RegisterOptions = {}): Promise<string> {
  const client = s3Client(s3.url);
  try {
    const dir = await registerCopy(client, BUCKET, scratch, MODEL, version, opts);
    copies.push(dir);
    return dir;
  } finally {
    client.destroy();
  }
}

/**
 * An app whose champion lives in its own folder (`models/breast-cancer`, named relative to the config),
 * deployed with the split config; then the policy rolls 2.0.0 back, the retraining loop hands `version`
 * over and the policy promotes it.
 */
async function registeredPromoted(version: string) {
  const { target, store } = await stack();
  cpSync(MODEL, join(root, 'models', 'breast-cancer'), { recursive: true });
  writeConfig({ ...SPLIT, modelDir: 'models/breast-cancer' });
  await deployOfFile(store);
  await policyChanges(store, rolledBack);
  await policyChanges(store, (s, by, now) => handedOver(s, version, by, now));
  await policyChanges(store, promoted);
  return { target, store, dir: join(root, 'models', `breast-cancer-${version}`) };
}

describe('after the policy promotes a registered version the retraining loop handed over', () => {
  it('sync-config downloads it beside the champion, checked as the model server checks it, and makes it modelDir; once', async () => {
    // GIVEN 3.0.0 registered and promoted on the stack
    const registered = await register('3.0.0');
    const { target, store, dir } = await registeredPromoted('3.0.0');
    // THEN versions says where it is and what sync-config does with it
    expect(await note(target)).toMatch(
      /3\.0\.0, the champion in force, is none of the versions mlship\.config\.json names \(1\.0\.0 and 2\.0\.0\): a registered version the retraining loop handed over \(models\/breast-cancer\/3\.0\.0\/ in the bucket\): run `mlship --stack Mlship sync-config` to download it to .*breast-cancer-3\.0\.0 and make it modelDir/,
    );

    // WHEN synced
    const r = await sync(target);
    // THEN the package is unpacked beside the champion's folder with the files a deploy reads, as registered
    const files = ['baseline.json', 'model.json', 'model.onnx', 'parity.json'];
    expect(r.adopted).toEqual({ version: '3.0.0', from: `s3://${BUCKET}/models/breast-cancer/3.0.0/`, dir, files, reused: false });
    for (const f of files) expect(readFileSync(join(dir, f)).equals(readFileSync(join(registered, f)))).toBe(true);
    // AND the file names it, relative as modelDir was, alone
    expect(JSON.parse(readConfig())).toEqual({ backend: 'fargate', modelDir: 'models/breast-cancer-3.0.0' });
    expect(configuredVersions(root)).toMatchObject({ champion: '3.0.0', modelDir: dir });
    expect(formatSync(r, 'stack Mlship')).toMatch(
      new RegExp(
        `^Downloaded registered version 3\\.0\\.0 from s3://${BUCKET}/models/breast-cancer/3\\.0\\.0/ to .*breast-cancer-3\\.0\\.0 \\(baseline\\.json, model\\.json, model\\.onnx, parity\\.json\\); checked as the model server checks it\\.\\n3\\.0\\.0 is the champion on stack Mlship \\(routing changed by policy at [^)]+\\)\\. mlship\\.config\\.json: modelDir is now models/breast-cancer-3\\.0\\.0 and the challenger keys are gone`,
      ),
    );

    // AND a second run finds the file in line and fetches nothing
    const synced = readConfig();
    const again = await sync(target);
    expect(again).toMatchObject({ status: { kind: 'in-line' } });
    expect(again.adopted).toBeUndefined();
    expect(again.written).toBeUndefined();
    expect(readConfig()).toBe(synced);
    expect(await note(target)).toBeUndefined();
    // AND a deploy of the synced file serves 3.0.0 alone, undoing nothing
    const warnings: string[] = [];
    expect(await deployOfFile(store, warnings)).toMatchObject({ champion: '3.0.0', percent: 0 });
    expect(warnings).toEqual([]);
  });

  it.each<[string, string, RegisterOptions, RegExp]>([
    ['its evaluation refused it', '3.1.0', { handOver: false }, /is not hosted and its evaluation did not accept it/],
    [
      'its labels differ from the champion',
      '3.2.0',
      {
        edit: (m) => {
          (m.output as { labels: string[] }).labels = ['negative', 'positive'];
        },
      },
      /cannot be served: The challenger cannot stand beside the champion: its labels differ from the champion's/,
    ],
    [
      'its package holds another version',
      '3.3.0',
      {
        edit: (m) => {
          m.version = '9.9.9';
        },
      },
      /its package holds version 9\.9\.9/,
    ],
  ])('a version that fails the check (%s): a clear message, nothing written', async (_why, version, opts, message) => {
    await register(version, opts);
    const { target, dir } = await registeredPromoted(version);
    const written = readConfig();
    const failed = sync(target);
    await expect(failed).rejects.toThrow(`s3://${BUCKET}/models/breast-cancer/${version}/ cannot be the champion of the app: `);
    await expect(failed).rejects.toThrow(message);
    expect(readConfig()).toBe(written);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a folder of that name holding other files; reuses one holding the same', async () => {
    await register('3.4.0');
    const { target, dir } = await registeredPromoted('3.4.0');
    const written = readConfig();
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(sync(target)).rejects.toThrow(`${dir} holds other files than registered version 3.4.0: move it away`);
    expect(readConfig()).toBe(written);
    expect(readdirSync(dir)).toEqual(['notes.txt']);

    // GIVEN the same files there already (a run stopped after the copy) THEN they are kept and the file follows
    rmSync(dir, { recursive: true });
    await sync(target);
    writeFileSync(join(root, CONFIG_FILE), written);
    const r = await sync(target);
    expect(r.adopted).toMatchObject({ dir, reused: true });
    expect(formatSync(r, 'stack Mlship')).toMatch(/holds registered version 3\.4\.0 already/);
    expect(JSON.parse(readConfig())).toEqual({ backend: 'fargate', modelDir: 'models/breast-cancer-3.4.0' });
  });
});

describe('mlship promote on a stack: the file follows as sync-config makes it follow', () => {
  it("the file's own challenger, or, after a hand-over, the registered version (not the file's replaced challenger)", async () => {
    // GIVEN the split config deployed WHEN its challenger is promoted by hand THEN it becomes modelDir, as before
    const first = await stack();
    writeConfig(SPLIT);
    await deployOfFile(first.store);
    await changeRouting(first.target, manifest, 'promote');
    expect(await configAfterPromotion(first.target, manifest, root)).toBe(
      `${CONFIG_FILE}: modelDir is now ${v2} and the challenger keys are gone; the next cdk deploy serves it alone.`,
    );
    expect(JSON.parse(readConfig())).toEqual({ backend: 'fargate', modelDir: v2 });

    // GIVEN a hand-over that replaced the rolled-back 2.0.0 with registered 3.5.0 in the shadow
    await register('3.5.0');
    const { target, store, dir } = await stack().then(async (s) => {
      cpSync(MODEL, join(root, 'models', 'breast-cancer'), { recursive: true });
      writeConfig({ ...SPLIT, modelDir: 'models/breast-cancer' });
      await deployOfFile(s.store);
      await policyChanges(s.store, rolledBack);
      await policyChanges(s.store, (st, by, now) => handedOver(st, '3.5.0', by, now));
      return { ...s, dir: join(root, 'models', 'breast-cancer-3.5.0') };
    });
    // WHEN promoted by hand THEN the file names the registered version, downloaded and checked, never 2.0.0
    expect((await changeRouting(target, manifest, 'promote')).after.champion).toBe('3.5.0');
    expect(await configAfterPromotion(target, manifest, root)).toMatch(
      /^Downloaded registered version 3\.5\.0 from .*\nmlship\.config\.json: modelDir is now models\/breast-cancer-3\.5\.0 and the challenger keys are gone/,
    );
    expect(JSON.parse(readConfig())).toEqual({ backend: 'fargate', modelDir: 'models/breast-cancer-3.5.0' });
    expect(existsSync(join(dir, 'model.onnx'))).toBe(true);
    expect(await deployOfFile(store)).toMatchObject({ champion: '3.5.0' });

    // AND without a config file, nothing to follow
    rmSync(file());
    expect(await configAfterPromotion(target, manifest, root)).toBeUndefined();
  });
});

describe('what sync-config cannot bring in line', () => {
  it('a file about another model, or none', async () => {
    const { target } = await stack();
    await expect(sync(target)).rejects.toThrow(`No ${CONFIG_FILE} in ${root}`);
    const other = modelVersionCopy(MODEL, '1.0.0', (m) => {
      m.name = 'churn';
    });
    try {
      writeConfig({ modelDir: other });
      await expect(sync(target)).rejects.toThrow(`${CONFIG_FILE} deploys the model churn; the stack serves breast-cancer.`);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

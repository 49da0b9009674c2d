/**
 * `mlship sync-config` and the note of `mlship versions` on a stack, against a real DynamoDB (dynalite):
 * the routing item stored as the predict function stores it from the config's own state, changed as the
 * promotion policy changes it, and the config file read as synth reads it. A promotion made on AWS is
 * written back to the file as `mlship promote` writes it; a rollback leaves the file alone; a deploy of
 * the file before or after keeps or replaces the state in force as the note says.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configNote, formatSync, type SyncResult, syncConfig, type VersionsTarget, versionsReport } from '../../cli/versions';
import { CONFIG_FILE } from '../../contract/app-config';
import { ENV } from '../../contract/env';
import { MANIFEST_FILE } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { handedOver, promoted, rolledBack } from '../../contract/versions';
import { versionsDeps } from '../../lambda/api/versions-routing';
import type { Logger } from '../../lambda/runtime/logger';
import { TableRoutingStore } from '../../lambda/versions/routing-store';
import { configuredVersions } from '../../lib/config';
import { dynamoClient, type EmbeddedDynamoDb, ensureTable, startDynamoDb } from '../../local/dynamodb';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';
import { modelVersionCopy } from '../support/model-version';

const MODEL = join(PROJECT_ROOT, 'models', 'breast-cancer');
const manifest = readManifestFile(join(MODEL, MANIFEST_FILE));
const v2 = modelVersionCopy(MODEL, '2.0.0');
const HOUR = 3_600_000;
const SYNC = 'mlship --stack Mlship sync-config';

let db: EmbeddedDynamoDb;
let root: string;
let tables = 0;

beforeAll(async () => {
  db = await startDynamoDb({});
});
afterAll(async () => {
  await db?.close();
  rmSync(v2, { recursive: true, force: true });
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'mlship-sync-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A stack of its own: a fresh table, reached as the CLI reaches a stack's. */
async function stack(): Promise<{ target: VersionsTarget; store: TableRoutingStore }> {
  const tableName = `mlship-sync-${++tables}`;
  const ddb = dynamoClient(db.url);
  await ensureTable(ddb, tableName);
  return {
    target: {
      kind: 'stack',
      tableName,
      awsEnv: { AWS_REGION: LOCAL_NAMES.region, [ENV.DYNAMODB_URL]: db.url },
      s3: { credentials: { ...S3RVER_CREDENTIALS } },
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

/** A cold start of the predict function deployed from the config file as it stands (its MLSHIP_CHALLENGER). */
async function deployOfFile(store: TableRoutingStore, warnings: string[] = []) {
  const deployed = configuredVersions(root);
  if (deployed === undefined) throw new Error('no config');
  const versions = versionsDeps({
    store,
    champion: deployed.champion,
    challenger: deployed.challenger,
    cacheMs: 0,
    logger: recordingLogger(warnings),
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
const sync = (target: VersionsTarget): Promise<SyncResult> => syncConfig(target, manifest, root);

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
    expect(await deployOfFile(store, warnings)).toMatchObject({ champion: '1.0.0', challenger: '2.0.0', percent: 10 });
    expect(warnings).toEqual(["routing state of another deployment replaced: the deployment's champion answers again"]);

    // GIVEN a promotion followed by sync-config WHEN the synced file is deployed (with the retraining loop, so the state is read)
    const other = await stack();
    writeConfig(SPLIT);
    await deployOfFile(other.store);
    await policyChanges(other.store, promoted);
    await sync(other.target);
    const quiet: string[] = [];
    // THEN the promoted version answers alone, and nothing was undone
    expect(await deployOfFile(other.store, quiet)).toMatchObject({ champion: '2.0.0', percent: 0 });
    expect((await other.store.read())?.state.challenger).toBeUndefined();
    expect(quiet).toEqual([]);
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

describe('what sync-config cannot bring in line', () => {
  it('a registered version the retraining loop handed over and that was promoted: says what to do, changes nothing', async () => {
    const { target, store } = await stack();
    writeConfig(SPLIT);
    const written = readConfig();
    await deployOfFile(store);
    await policyChanges(store, rolledBack);
    await policyChanges(store, (s, by, now) => handedOver(s, '3.0.0', by, now));
    await policyChanges(store, promoted);
    const why =
      /3\.0\.0, the champion in force, is none of the versions mlship\.config\.json names \(1\.0\.0 and 2\.0\.0\): a registered version the retraining loop handed over \(models\/breast-cancer\/3\.0\.0\/ in the bucket\)/;
    expect(await note(target)).toMatch(why);
    await expect(sync(target)).rejects.toThrow(why);
    expect(readConfig()).toBe(written);
  });

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

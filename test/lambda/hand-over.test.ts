/**
 * The hand-over step (lambda/versions/hand-over.ts, the Training stack's function and `mlship train
 * --shadow`) against dynalite: it puts a registered version in the shadow with one conditional write,
 * starts from the deployment's own state when none is stored (or one from another deployment is),
 * finds a retried hand-over done, declines while a split is under way, and the predict function's
 * routing reader then takes the state and accepts the version.
 */
import { join } from 'node:path';
import { ENV } from '../../contract/env';
import { initialRoutingState, REGISTRY_CHALLENGER, rolledBack } from '../../contract/versions';
import { versionsDeps } from '../../lambda/api/versions-routing';
import { createLogger } from '../../lambda/runtime/logger';
import { Metrics } from '../../lambda/runtime/metrics';
import { createHandOverHandler, handOverDepsFromEnv, handOverInShadow } from '../../lambda/versions/hand-over';
import { basisOf, TableRoutingStore } from '../../lambda/versions/routing-store';
import { dynamoClient, type EmbeddedDynamoDb, ensureTable, startDynamoDb } from '../../local/dynamodb';

const TABLE = 'hand-over-test';
const MANIFEST = join(__dirname, '../../models/breast-cancer/model.json');
let ddb: EmbeddedDynamoDb;
let model = 0;
/** A store of its own per test: each uses another model name. */
const store = () => new TableRoutingStore(dynamoClient(ddb.url), TABLE, `breast-cancer-${++model}`);
const deployed = initialRoutingState('1.0.0', undefined, new Date(0), 'deploy');

beforeAll(async () => {
  ddb = await startDynamoDb({});
  await ensureTable(dynamoClient(ddb.url), TABLE);
});
afterAll(() => ddb.close());

describe('handOverInShadow', () => {
  it('writes the version as the challenger in shadow, on the stored state, and once only', async () => {
    // GIVEN a stored champion-only state (as the predict function or npm start stores it)
    const s = store();
    expect(await s.write(deployed, basisOf(deployed), 0)).toBe(true);
    // WHEN 1.0.1 is handed over
    const r = await handOverInShadow(s, { version: '1.0.1', by: 'training', now: new Date(1000) });
    // THEN the state names it in shadow, marked registered, in the item's next revision with the old state in history
    expect(r).toEqual({
      handedOver: true,
      before: deployed,
      after: {
        ...deployed,
        challenger: '1.0.1',
        mode: 'shadow',
        percent: 100,
        registered: ['1.0.1'],
        updatedAt: new Date(1000).toISOString(),
        updatedBy: 'training',
      },
    });
    const stored = await s.read();
    expect(stored).toMatchObject({ revision: 2, basis: basisOf(deployed), history: [deployed] });
    // AND a retry finds it done, without a write
    expect(await handOverInShadow(s, { version: '1.0.1', by: 'training' })).toMatchObject({ handedOver: true });
    expect((await s.read())?.revision).toBe(2);
    // AND the predict function's reader takes the state, and accepts the registered version's answers
    const versions = versionsDeps({
      store: s,
      champion: '1.0.0',
      challenger: undefined,
      cacheMs: 0,
      logger: createLogger('test'),
      metrics: new Metrics({ name: 'breast-cancer', version: '1.0.0' }, () => {}),
    });
    expect(await versions.routing()).toMatchObject({ challenger: '1.0.1', mode: 'shadow' });
    expect(versions.accepted?.()).toEqual(['1.0.0', '1.0.1']);
  });

  it('starts from the deployment’s state when none is stored, or one made from another deployment', async () => {
    const s = store();
    // Nothing stored: without the deployed state it declines, naming why; with it, it writes
    expect(await handOverInShadow(s, { version: '1.0.1', by: 'training' })).toMatchObject({
      handedOver: false,
      reason: expect.stringMatching(/No routing state is stored/),
    });
    expect(await handOverInShadow(s, { version: '1.0.1', by: 'training', deployed })).toMatchObject({ handedOver: true });
    // A state of another deployment (another champion) is replaced by this one's, with the version in shadow
    const other = initialRoutingState('0.9.0', undefined, new Date(0), 'deploy');
    const s2 = store();
    expect(await s2.write(other, basisOf(other), 0)).toBe(true);
    const r = await handOverInShadow(s2, { version: '1.0.2', by: 'training', deployed });
    expect(r).toMatchObject({ handedOver: true, after: { champion: '1.0.0', challenger: '1.0.2' } });
    expect(await s2.read()).toMatchObject({ basis: basisOf(deployed), revision: 2 });
  });

  it('declines while a split is under way, or for the champion itself; replaces a rolled-back challenger', async () => {
    const split = initialRoutingState('1.0.0', { version: '2.0.0', mode: 'split', percent: 10 }, new Date(0), 'deploy');
    const s = store();
    expect(await s.write(split, basisOf(split), 0)).toBe(true);
    expect(await handOverInShadow(s, { version: '1.0.1', by: 'training' })).toEqual({
      handedOver: false,
      reason: '2.0.0 answers 10 % of requests (a split under way): promote or roll it back first.',
    });
    expect(await handOverInShadow(s, { version: '1.0.0', by: 'training' })).toMatchObject({
      handedOver: false,
      reason: /champion already/,
    });
    expect(await s.write(rolledBack(split, 'cli', new Date()), basisOf(split), 1)).toBe(true);
    expect(await handOverInShadow(s, { version: '1.0.1', by: 'training' })).toMatchObject({
      handedOver: true,
      after: { challenger: '1.0.1', mode: 'shadow', percent: 100 },
    });
  });
});

describe('the hand-over function', () => {
  it('is built from its environment and hands the version the state machine passes over', async () => {
    // GIVEN the function as the Training stack configures it (no challenger at deploy); the SDK reads
    // its region and keys from the process, as in Lambda
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' });
    try {
      const deps = handOverDepsFromEnv(
        {
          [ENV.PREDICTION_TABLE]: TABLE,
          [ENV.MODEL_MANIFEST_PATH]: MANIFEST,
          [ENV.CHALLENGER]: REGISTRY_CHALLENGER,
          [ENV.DYNAMODB_URL]: ddb.url,
        },
        '/',
      );
      const handler = createHandOverHandler(deps);
      // WHEN it runs with a version, THEN the model's routing item names it in shadow
      expect(await handler({ version: '1.0.7' })).toMatchObject({ handedOver: true, after: { champion: '1.0.0', challenger: '1.0.7' } });
      expect((await new TableRoutingStore(dynamoClient(ddb.url), TABLE, 'breast-cancer').read())?.state.challenger).toBe('1.0.7');
      // AND a malformed version is refused before any write
      await expect(handler({ version: '../x' })).rejects.toThrow(/not a model version/);
    } finally {
      process.env = saved;
    }
  });
});

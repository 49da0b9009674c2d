/**
 * What the predict path leaves out to stay cheap, and what it must keep: lines a sink drops are not built
 * (the local terminal keeps warnings and errors only), and the log table's client resolves its middleware
 * once and runs no logger middleware — while still writing through the real SDK to a real DynamoDB.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { newPredictionId } from '../../lambda/log/ids';
import { logTableClient, PredictionLogStore } from '../../lambda/log/prediction-log-store';
import { type LineKind, setLineSink, writeLine } from '../../lambda/runtime/log-output';
import { createLogger } from '../../lambda/runtime/logger';
import { Metrics } from '../../lambda/runtime/metrics';
import { type EmbeddedDynamoDb, ensureTable, startDynamoDb } from '../../local/dynamodb';

describe('line sinks that keep some kinds', () => {
  afterEach(() => setLineSink());

  test('lines of the other kinds are neither built nor written; the kept ones are', () => {
    // GIVEN a sink that keeps warnings and errors only
    const seen: [string, LineKind][] = [];
    setLineSink((line, kind) => seen.push([line, kind]), ['WARN', 'ERROR']);
    const built: string[] = [];
    const fields = {
      toJSON: () => {
        built.push('serialized');
        return 'fields';
      },
    };
    const log = createLogger('predict');

    // WHEN the handler logs at each level and emits a metric
    log.info('predicted', { fields });
    new Metrics({ name: 'm', version: '1' }).count('Predictions', 1);
    writeLine('{"direct":true}', 'INFO');
    log.warn('slow', { fields });

    // THEN only the warning was serialized and written
    expect(built).toEqual(['serialized']);
    expect(seen.map(([, kind]) => kind)).toEqual(['WARN']);
    expect(JSON.parse(seen[0]?.[0] ?? '{}')).toMatchObject({ level: 'WARN', message: 'slow', fields: 'fields' });
  });

  test('a metrics sink of its own gets every line, whatever the log keeps', () => {
    setLineSink(() => undefined, ['ERROR']);
    const lines: string[] = [];
    new Metrics({ name: 'm', version: '1' }, (line) => lines.push(line)).count('Predictions', 2);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ Predictions: 2, Model: 'm' });
  });

  test('a sink set without kinds, and the standard one, keep every kind', () => {
    const kinds: LineKind[] = [];
    setLineSink((_line, kind) => kinds.push(kind));
    createLogger('predict').info('predicted');
    new Metrics({ name: 'm', version: '1' }).count('Predictions', 1);
    expect(kinds).toEqual(['INFO', 'METRIC']);
  });
});

describe('the log table client', () => {
  let db: EmbeddedDynamoDb;
  beforeAll(async () => {
    db = await startDynamoDb({});
  });
  afterAll(() => db.close());

  test('resolves its middleware once, runs no logger middleware, and writes and reads like any client', async () => {
    // GIVEN the client the predict function logs with
    const client = logTableClient({
      endpoint: db.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      expect(client.config.cacheMiddleware).toBe(true);
      expect(client.middlewareStack.identify().join('\n')).not.toMatch(/loggerMiddleware/);
      await ensureTable(client, 'hot-path-log');
      const store = new PredictionLogStore(client, 'hot-path-log');
      const id = newPredictionId();

      // WHEN it writes a record twice (the second write is a retry that finds the first)
      const record = {
        id,
        model: 'm',
        modelVersion: '1',
        createdAt: new Date().toISOString(),
        label: 'a',
        probabilities: { a: 0.75, b: 0.25 },
        latencyMs: 1,
        requestId: 'r',
      };
      await store.putRecord(record);
      await store.putRecord(record);

      // THEN the item is there, as written
      const out = await client.send(new GetItemCommand({ TableName: 'hot-path-log', Key: { id: { S: id } }, ConsistentRead: true }));
      expect(out.Item?.label).toEqual({ S: 'a' });
      expect(await store.getPrediction(id)).toBeDefined();
    } finally {
      client.destroy();
    }
  });
});

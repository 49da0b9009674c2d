/**
 * A model answer of NaN or Infinity through `POST /predict`: the caller gets NON_FINITE_OUTPUT (a 5xx),
 * never a label; nothing is logged as a prediction; the NonFiniteOutputs metric counts it.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { jsonBody, proxyEvent } from './events';
import { dynamoClient, type Harness, loadHandler, predictEnv, startHarness, TABLE } from './harness';

let h: Harness;
let predict: ReturnType<typeof loadHandler>;

beforeAll(async () => {
  h = await startHarness();
  predict = loadHandler('predict', predictEnv(h, 'fargate'));
});
afterAll(async () => h.close());

test('all 30 breast-cancer features at 1e36: 500 NON_FINITE_OUTPUT, no logged prediction, one metric count', async () => {
  // GIVEN a row the breast-cancer MLP answers NaN for (legal float32 values)
  const huge = new Array<number>(30).fill(1e36);
  // WHEN it is sent to POST /predict
  const res = await predict(
    proxyEvent({
      method: 'POST',
      resource: '/predict',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [huge] }),
    }),
  );
  // THEN the answer is the model's own error code, not a label
  expect(res.statusCode).toBe(500);
  expect(jsonBody<{ error: { code: string; field?: string } }>(res).error).toMatchObject({
    code: 'NON_FINITE_OUTPUT',
    field: 'instances[0]',
  });
  // AND nothing was logged as a prediction
  const scan = await dynamoClient(h.ddb.url).send(
    new ScanCommand({ TableName: TABLE, Select: 'COUNT', FilterExpression: 'attribute_exists(model)' }),
  );
  expect(scan.Count).toBe(0);
  // AND the metric counted it once
  expect(h.stdout.filter((l) => l._aws !== undefined && l.NonFiniteOutputs === 1 && l.Model === 'breast-cancer')).toHaveLength(1);
});

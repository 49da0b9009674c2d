/**
 * `mlship preflight` against a local stand-in of Lambda's GetAccountSettings (the Lambda client's real
 * signed request):
 * an account with the default quotas passes, a new account's 10 concurrent executions fails with the fix,
 * and a refused call (AccessDeniedException, as Lambda answers it) is reported instead of thrown.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatPreflight, type LambdaAccountSettings, lambdaAccountSettings, preflight } from '../../cli/preflight';

let server: Server;
let url = '';
let answer: { status: number; body: unknown; errorType?: string } = { status: 200, body: {} };
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    // Lambda names an error's type in this header (the REST JSON protocol).
    const errorType = answer.errorType === undefined ? {} : { 'x-amzn-errortype': answer.errorType };
    res.writeHead(answer.status, { 'content-type': 'application/json', ...errorType });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const settings = () =>
  lambdaAccountSettings({
    region: 'eu-west-1',
    endpoint: url,
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
  });
const account = (concurrent: number, usedCode = 0): LambdaAccountSettings => ({
  AccountLimit: { ConcurrentExecutions: concurrent, UnreservedConcurrentExecutions: concurrent, TotalCodeSize: 80_530_636_800 },
  AccountUsage: { TotalCodeSize: usedCode, FunctionCount: 3 },
});

test('the default quotas pass, with a SigV4-signed GetAccountSettings call', async () => {
  answer = { status: 200, body: account(1000) };
  const checks = await preflight(settings());
  expect(checks.every((c) => c.ok)).toBe(true);
  const req = seen.at(-1);
  expect(req?.method).toBe('GET');
  expect(req?.url).toMatch(/^\/2016-08-19\/account-settings\/?$/);
  expect(req?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request/);
});

test("a new account's 10 concurrent executions and full code storage fail, each with what to ask for", async () => {
  answer = { status: 200, body: account(10, 80_530_636_800 - 1024) };
  const checks = await preflight(settings());
  expect(checks.map((c) => [c.name, c.ok])).toEqual([
    ['Lambda unreserved concurrency', false],
    ['Lambda code storage', false],
  ]);
  expect(formatPreflight(checks)).toMatch(
    /FAIL {2}Lambda unreserved concurrency: 10 unreserved of 10; at least 100 needed: request "Concurrent executions"/,
  );
});

test('a refused call is a failed check naming the permission, not a crash', async () => {
  // Lambda's answer to an identity without lambda:GetAccountSettings.
  answer = {
    status: 403,
    errorType: 'AccessDeniedException',
    body: { Type: 'User', message: 'User is not authorized to perform: lambda:GetAccountSettings' },
  };
  const checks = await preflight(settings());
  expect(checks).toEqual([
    {
      name: 'lambda:GetAccountSettings',
      ok: false,
      detail: expect.stringMatching(/Lambda answered 403 AccessDeniedException: User is not authorized.*needs lambda:GetAccountSettings/),
    },
  ]);
});

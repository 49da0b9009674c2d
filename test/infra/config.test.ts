import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_QUALITY_THRESHOLDS } from '../../contract/metrics/thresholds';
import { authModesOf, ConfigError, LOG_RETENTION_DAYS, loadConfig, parseConfig } from '../../lib/config';

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has defaults that synthesize out of the box', () => {
    expect(parseConfig({})).toMatchObject({
      modelDir: 'models/breast-cancer',
      backend: 'fargate',
      stageName: 'prod',
      removalPolicy: 'retain',
      logRetentionDays: 90,
      serverlessMemorySizeMb: 2048,
      driftPsiThreshold: 0.25,
      // Accuracy, F1 and error alarms derive their thresholds from the model's baseline unless set.
      qualityThresholds: {},
      qualityScheduleMinutes: 15,
      qualityWindowMinutes: 60,
      natGateways: 1,
    });
  });

  it.each([
    [{ backend: 'lambda' }, 'backend = "lambda": expected one of fargate, sagemaker, sagemaker-serverless'],
    [{ fargateCpu: 300 }, 'fargateCpu = 300: expected one of 256, 512, 1024, 2048, 4096'],
    [{ fargateCpu: 256, fargateMemoryMiB: 4096 }, 'fargateMemoryMiB = 4096: expected with fargateCpu 256: one of 512, 1024, 2048'],
    [{ fargateMinCapacity: 0 }, 'fargateMinCapacity = 0: expected an integer from 1 to 100'],
    [{ fargateMinCapacity: 5, fargateMaxCapacity: 2 }, 'fargateMinCapacity = 5: expected at most fargateMaxCapacity (2)'],
    [{ natGateways: 0 }, 'natGateways = 0: expected an integer from 1 to 2'],
    [{ natGateways: 3 }, 'natGateways = 3: expected an integer from 1 to 2'],
    [
      { sagemakerInstanceType: 'm5.large' },
      'sagemakerInstanceType = "m5.large": expected a SageMaker hosting instance type such as ml.m5.large',
    ],
    [
      { sagemakerInitialInstanceCount: 9 },
      'sagemakerInitialInstanceCount = 9: expected between sagemakerMinCapacity (1) and sagemakerMaxCapacity (4)',
    ],
    [{ serverlessMemorySizeMb: 1000 }, 'serverlessMemorySizeMb = 1000: expected one of 1024, 2048, 3072, 4096, 5120, 6144'],
    [{ serverlessMaxConcurrency: 201 }, 'serverlessMaxConcurrency = 201: expected an integer from 1 to 200'],
    [{ apiThrottleRateLimit: 0 }, 'apiThrottleRateLimit = 0: expected a number above 0, at most 10000 (requests per second)'],
    [
      { apiThrottleRateLimit: 500, apiThrottleBurstLimit: 100 },
      'apiThrottleBurstLimit = 100: expected at least apiThrottleRateLimit (500)',
    ],
    [{ apiQuotaPerDay: 'many' }, 'apiQuotaPerDay = "many": expected an integer from 1 to 100000000'],
    [{ logRetentionDays: 8 }, `logRetentionDays = 8: expected one of ${LOG_RETENTION_DAYS.join(', ')}`],
    [{ predictionTtlDays: -1 }, 'predictionTtlDays = -1: expected an integer from 0 to 3650'],
    [{ alarmEmail: 'ops' }, 'alarmEmail = "ops": expected an e-mail address'],
    [{ removalPolicy: 'delete' }, 'removalPolicy = "delete": expected one of retain, destroy'],
    [{ accuracyFloor: 0 }, 'accuracyFloor = 0: expected a share above 0, at most 1'],
    [{ accuracyFloor: 1.5 }, 'accuracyFloor = 1.5: expected a share above 0, at most 1'],
    [{ maxMeanAbsoluteError: -2 }, 'maxMeanAbsoluteError = -2: expected a number above 0'],
    [{ macroF1Floor: 1.2 }, 'macroF1Floor = 1.2: expected a share above 0, at most 1'],
    [{ qualityThresholds: { maeRatio: 0.9 } }, 'qualityThresholds = {"maeRatio":0.9}: expected maeRatio must be greater than 1, got 0.9'],
    [
      { qualityThresholds: { f1Drop: 0.1 } },
      `qualityThresholds = {"f1Drop":0.1}: expected unknown threshold "f1Drop" (known: ${Object.keys(DEFAULT_QUALITY_THRESHOLDS).join(', ')})`,
    ],
    [{ driftPsiThreshold: 0 }, 'driftPsiThreshold = 0: expected a number above 0, at most 10'],
    [{ qualityScheduleMinutes: 0.5 }, 'qualityScheduleMinutes = 0.5: expected an integer from 1 to 1440'],
    [
      { qualityScheduleMinutes: 30, qualityWindowMinutes: 20 },
      'qualityWindowMinutes = 20: expected at least qualityScheduleMinutes (30), or predictions between runs are never measured',
    ],
    [{ stageName: 'prod-1' }, 'stageName = "prod-1": expected letters, digits and underscores (max 64)'],
    [{ stackPrefix: '1abc' }, 'stackPrefix = "1abc": expected a letter, then letters, digits or dashes (max 40)'],
    [{ sagemakerAutoScaling: 'no' }, 'sagemakerAutoScaling = "no": expected true or false'],
  ])('%j is refused with its key, value and what is allowed', (raw, message) => {
    expect(problemsOf(raw)).toEqual([message]);
  });

  it('reports every bad key in one error, unknown keys included', () => {
    let error: Error | undefined;
    try {
      parseConfig({ backend: 'ec2', logRetentionDays: 2, colour: 'blue' });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/^Invalid mlship configuration:\n {2}- backend = "ec2"/);
    expect(error?.message).toContain('logRetentionDays = 2');
    expect(error?.message).toContain('unknown key(s) "colour": allowed keys are modelDir, backend,');
  });

  describe('loadConfig', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'mlship-config-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reads mlship.config.json, then lets CDK context override it; context strings become numbers', () => {
      writeFileSync(
        join(dir, 'mlship.config.json'),
        JSON.stringify({ backend: 'sagemaker', logRetentionDays: 30, sagemakerMaxCapacity: 8 }),
      );
      const context: Record<string, unknown> = {
        backend: 'sagemaker',
        serverlessMaxConcurrency: '20',
        sagemakerAutoScaling: 'false',
        '@aws-cdk/core:someFlag': true,
      };
      const config = loadConfig({ context: (k) => context[k], rootDir: dir });
      expect(config).toMatchObject({
        backend: 'sagemaker',
        logRetentionDays: 30,
        sagemakerMaxCapacity: 8,
        serverlessMaxConcurrency: 20,
        sagemakerAutoScaling: false,
      });
    });

    it('keeps the deployed backend in the file: -c backend cannot switch it, nor a forgotten -c fall back to the default; without a file -c picks it', () => {
      // GIVEN a deployment whose file says sagemaker
      writeFileSync(join(dir, 'mlship.config.json'), JSON.stringify({ backend: 'sagemaker' }));
      // WHEN a deploy names another backend on the command line THEN it is refused, saying where the choice lives
      expect(() => loadConfig({ context: (k) => (k === 'backend' ? 'fargate' : undefined), rootDir: dir })).toThrow(
        'backend = "fargate" from -c: the deployed backend is kept in mlship.config.json ("sagemaker"). To switch, set "backend": "fargate" in mlship.config.json and follow "Switching the backend" in docs/deploying.md.',
      );
      // WHEN a later deploy forgets -c THEN the file's backend applies, not the default
      expect(loadConfig({ context: () => undefined, rootDir: dir }).backend).toBe('sagemaker');
      // Without a file nothing deployed is recorded yet: -c picks the backend (a first synth or deploy).
      rmSync(join(dir, 'mlship.config.json'));
      expect(loadConfig({ context: (k) => (k === 'backend' ? 'sagemaker-serverless' : undefined), rootDir: dir }).backend).toBe(
        'sagemaker-serverless',
      );
    });

    it('names the file when it is not JSON, and refuses unknown keys in it', () => {
      writeFileSync(join(dir, 'mlship.config.json'), '{ backend: fargate }');
      expect(() => loadConfig({ context: () => undefined, rootDir: dir })).toThrow(/mlship\.config\.json is not valid JSON/);
      writeFileSync(join(dir, 'mlship.config.json'), JSON.stringify({ backnd: 'fargate' }));
      expect(() => loadConfig({ context: () => undefined, rootDir: dir })).toThrow(/unknown key\(s\) "backnd"/);
    });

    it('reports a bad context value with the key and value given', () => {
      expect(() => loadConfig({ context: (k) => (k === 'fargateCpu' ? '3' : undefined), rootDir: dir })).toThrow(
        'fargateCpu = 3: expected one of 256, 512, 1024, 2048, 4096',
      );
    });
  });

  describe('auth and waf (docs/auth.md)', () => {
    it('resolves the modes: the key alone by default, allRoutes for every key route, operatorRoutes over it', () => {
      expect(authModesOf(parseConfig({}))).toEqual({ operatorRoutes: 'apiKey', otherRoutes: 'apiKey' });
      expect(authModesOf(parseConfig({ auth: { operatorRoutes: 'iam' } }))).toEqual({ operatorRoutes: 'iam', otherRoutes: 'apiKey' });
      expect(authModesOf(parseConfig({ auth: { allRoutes: 'iam' } }))).toEqual({ operatorRoutes: 'iam', otherRoutes: 'iam' });
      expect(
        parseConfig({ auth: { operatorRoutes: 'jwt', jwt: { issuer: 'https://id.example.com/', audience: 'api' } } }).auth?.jwt,
      ).toEqual({
        issuer: 'https://id.example.com/',
        audience: ['api'],
      });
      expect(parseConfig({ waf: { rateLimit: 2000 } }).waf).toEqual({ rateLimit: 2000, managedRules: true });
    });

    it.each([
      [{ auth: { operatorRoutes: 'oauth' } }, 'auth.operatorRoutes = "oauth": expected one of apiKey, iam, jwt'],
      [
        { auth: { allRoutes: 'iam', operatorRoutes: 'apiKey' } },
        'auth.operatorRoutes = "apiKey": expected iam or jwt with allRoutes "iam": operator routes are never the weakest',
      ],
      [{ auth: { operatorRoutes: 'jwt' } }, 'auth.jwt = (missing): expected the token issuer: {"issuer", "audience"} or {"userPoolArn"}'],
      [
        { auth: { operatorRoutes: 'jwt', jwt: { issuer: 'http://id.example.com/', audience: 'api' } } },
        'auth.jwt.issuer = "http://id.example.com/": expected an https:// URL',
      ],
      [
        { auth: { operatorRoutes: 'jwt', jwt: { issuer: 'https://id.example.com/' } } },
        'auth.jwt.audience = (missing): expected the aud your tokens carry (a string or a list)',
      ],
      [
        { auth: { operatorRoutes: 'iam', jwt: { issuer: 'https://id.example.com/', audience: 'api' } } },
        'auth.jwt = {"issuer":"https://id.example.com/","audience":"api"}: expected nothing: no route uses jwt (set operatorRoutes or allRoutes to "jwt")',
      ],
      [
        { auth: { operatorRoutes: 'jwt', jwt: { userPoolArn: 'arn:aws:cognito-idp:us-east-1:1:userpool/x' } } },
        /^auth\.jwt\.userPoolArn = .*: expected a Cognito user pool ARN/,
      ],
      [{ auth: { operatorRoutes: 'iam', scopes: ['x'] } }, 'auth: unknown key(s) "scopes"'],
      [{ waf: { rateLimit: 50 } }, 'waf.rateLimit = 50: expected an integer from 100 to 2000000000'],
    ])('refuses %j: %s', (raw, problem) => {
      const problems = problemsOf(raw);
      if (typeof problem === 'string') expect(problems).toContain(problem);
      else expect(problems.some((p) => problem.test(p))).toBe(true);
    });
  });
});

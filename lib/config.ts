/**
 * The one configuration of the CDK app. Every key has a default that synthesizes out of the box; a key
 * can be set in `mlship.config.json` at the repository root and overridden with CDK context
 * (`npx cdk synth -c backend=sagemaker -c logRetentionDays=30`). All values are checked at synth time and
 * every bad key is reported in one error naming the key, the value and what is allowed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { authModesOfSetting, authSchema, CONFIG_FILE } from '../contract/app-config';
import type { RouteAuthModes } from '../contract/auth';
import { errorMessage } from '../contract/errors';
import { BACKENDS } from '../contract/limits';
import { MANIFEST_FILE, type ModelManifest } from '../contract/manifest';
import { qualityThresholds } from '../contract/metrics/thresholds';
import { readManifestFile } from '../contract/model-files';
import { type PromotionPolicy, promotionPolicy } from '../contract/promotion';
import { type ChallengerSetting, checkChallenger, ROUTING_MODES, type RoutingMode, SPLIT_PERCENT } from '../contract/versions';

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Fargate task sizes: CPU units and the memory (MiB) each allows. */
export const FARGATE_MEMORY_BY_CPU: Record<number, readonly number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
};

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** An integer in [min, max]; every failure says so in the same words. */
function int(min: number, max: number) {
  const error = `an integer from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** The `training` key: the retraining state machine's schedule, triggers, training job and policy. */
export const trainingSchema = z
  .object({
    /** An EventBridge schedule expression that starts a run, e.g. `rate(7 days)` or `cron(0 3 ? * MON *)`. */
    schedule: z
      .string()
      .regex(/^(rate|cron)\(.+\)$/, 'an EventBridge schedule expression such as rate(7 days)')
      .optional(),
    /** Start a run when the drift or accuracy (error) alarm goes into ALARM. */
    onAlarm: z.boolean({ error: 'true or false' }).default(false),
    /** Add the labeled predictions (an Athena UNLOAD of the analytics store) to the snapshot; needs `analytics`. */
    withFeedback: z.boolean({ error: 'true or false' }).default(false),
    /** Days of labeled predictions the snapshot reads. */
    sinceDays: int(1, 3650).default(30),
    instanceType: z
      .string()
      .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'a SageMaker training instance type such as ml.m5.large')
      .default('ml.m5.large'),
    /** Longest a training job may run (SageMaker stops it then). */
    maxRuntimeSeconds: int(60, 432_000).default(3600),
    /** Managed spot training: cheaper, may wait for capacity (up to twice the runtime). */
    spot: z.boolean({ error: 'true or false' }).default(false),
    /** A training image of your own (ECR URI); the default is AWS's scikit-learn image of the region. */
    image: z
      .string()
      .regex(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/, 'an ECR image URI')
      .optional(),
    /** Hyperparameters of train.py (`--name value`). */
    hyperparameters: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'train.py option names'), z.string()).default({}),
    /** Overrides of the hand-over policy's tolerances (contract/training.ts). */
    policy: z.record(z.string(), z.number()).default({}),
  })
  .strict();

/** The `waf` key: an AWS WAF web ACL in front of the API's stage. */
export const wafSchema = z
  .object({
    /** Requests one IP address may make in 5 minutes before the web ACL blocks it (until its rate falls again). */
    rateLimit: int(100, 2_000_000_000),
    /** Add AWS's managed common rule set (AWSManagedRulesCommonRuleSet) and known-bad-inputs rule set. @default true */
    managedRules: z.boolean({ error: 'true or false' }).default(true),
  })
  .strict();

export const configSchema = z
  .object({
    /** Directory holding `model.json` and the ONNX file, relative to the repository root. */
    modelDir: z.string({ error: 'a directory path' }).min(1, { error: 'a directory path' }).default('models/breast-cancer'),
    backend: z.enum(BACKENDS).default('fargate'),
    /**
     * A second version of the model hosted beside it in the same image (docs/versions.md): its folder,
     * relative to the repository root. Same name, input and labels as the model; another version.
     */
    challengerDir: z.string({ error: 'a directory path' }).min(1, { error: 'a directory path' }).optional(),
    /** How the challenger takes traffic: `shadow` (runs beside every request; the model answers) or `split`. @default shadow */
    challengerMode: z.enum(ROUTING_MODES).optional(),
    /** `split` only: percent of requests the challenger answers. */
    challengerPercent: int(SPLIT_PERCENT.min, SPLIT_PERCENT.max).optional(),
    /**
     * The automatic promotion policy of a split challenger, evaluated by the scheduled quality job
     * (docs/versions.md): `true` for the defaults, or overrides of them (`steps`, `minLabeled`,
     * `tolerance`, `maxErrorRate`, `maxP99Ms`). @default - promotion by hand only
     */
    autoPromote: z
      .union([z.boolean(), z.record(z.string(), z.unknown())], { error: 'true, false or an object of policy settings' })
      .optional(),
    /** Prefix of the stack names (`<prefix>-Data`, `<prefix>-Serving-<backend>`, `<prefix>-Api`, `<prefix>-Monitoring`). */
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,39}$/, 'a letter, then letters, digits or dashes (max 40)')
      .default('Mlship'),
    stageName: z
      .string()
      .regex(/^[A-Za-z0-9_]{1,64}$/, 'letters, digits and underscores (max 64)')
      .default('prod'),
    fargateCpu: z
      .number({ error: `one of ${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')}` })
      .refine((v) => v in FARGATE_MEMORY_BY_CPU, `one of ${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')}`)
      .default(512),
    fargateMemoryMiB: int(512, 30720).default(1024),
    fargateMinCapacity: int(1, 100).default(1),
    fargateMaxCapacity: int(1, 100).default(4),
    /**
     * NAT gateways of the fargate backend's VPC: 1, shared by both AZs, or 2, one per AZ, so that an AZ
     * outage does not cut the other AZ's egress (each costs about $33 a month plus data).
     */
    natGateways: int(1, 2).default(1),
    sagemakerInstanceType: z
      .string()
      .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'a SageMaker hosting instance type such as ml.m5.large')
      .default('ml.m5.large'),
    sagemakerInitialInstanceCount: int(1, 100).default(1),
    sagemakerMinCapacity: int(1, 100).default(1),
    sagemakerMaxCapacity: int(1, 100).default(4),
    /**
     * Auto scaling of the real-time endpoint. Set it to false for one deploy before changing
     * `sagemakerInstanceType` (SageMaker refuses a new instance type while the variant is registered), then
     * change the type and set it back to true (docs/deploying.md, "Changing the SageMaker instance type").
     */
    sagemakerAutoScaling: z.boolean({ error: 'true or false' }).default(true),
    serverlessMemorySizeMb: z
      .number({ error: 'one of 1024, 2048, 3072, 4096, 5120, 6144' })
      .refine((v) => [1024, 2048, 3072, 4096, 5120, 6144].includes(v), 'one of 1024, 2048, 3072, 4096, 5120, 6144')
      .default(2048),
    serverlessMaxConcurrency: int(1, 200).default(5),
    apiThrottleRateLimit: z
      .number({ error: 'a number above 0, at most 10000 (requests per second)' })
      .positive({ error: 'a number above 0, at most 10000 (requests per second)' })
      .max(10_000, { error: 'a number above 0, at most 10000 (requests per second)' })
      .default(50),
    apiThrottleBurstLimit: int(1, 5_000).default(100),
    apiQuotaPerDay: int(1, 100_000_000).default(100_000),
    /**
     * Name of the operator usage plan. Its keys see every caller's predictions and the metrics; the
     * default plan's keys (clients) see only the predictions they made.
     */
    operatorUsagePlanName: z
      .string()
      .regex(/^[A-Za-z0-9 _.-]{1,64}$/, 'letters, digits, spaces, dots, dashes and underscores (max 64)')
      .default('mlship-operators'),
    /** Names of the operator API keys the stack creates in the operator usage plan (at least one). */
    operatorKeyNames: z
      .array(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, dashes and underscores (max 32)'), {
        error: 'a list of key names',
      })
      .min(1, { error: 'at least one key name' })
      .max(10, { error: 'at most 10 key names' })
      .default(['operator']),
    logRetentionDays: z
      .number({ error: `one of ${LOG_RETENTION_DAYS.join(', ')}` })
      .refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), `one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(90),
    /** Days a prediction log item is kept (DynamoDB TTL); 0 keeps items forever. */
    predictionTtlDays: int(0, 3650).default(365),
    alarmEmail: z.email({ error: 'an e-mail address' }).optional(),
    /**
     * Classifiers: the accuracy alarm fires when accuracy from feedback falls below this share. Unset, it is
     * the baseline's held-out accuracy minus `qualityThresholds.accuracyDrop` (no alarm if the baseline has none).
     */
    accuracyFloor: z
      .number({ error: 'a share from 0 to 1' })
      .gt(0, { error: 'a share above 0, at most 1' })
      .max(1, { error: 'a share above 0, at most 1' })
      .optional(),
    /**
     * Classifiers: the F1 alarm fires when macro-averaged F1 from feedback falls below this share. Unset, it is
     * the baseline's held-out macro F1 minus `qualityThresholds.macroF1Drop` (no alarm if the baseline has none).
     */
    macroF1Floor: z
      .number({ error: 'a share from 0 to 1' })
      .gt(0, { error: 'a share above 0, at most 1' })
      .max(1, { error: 'a share above 0, at most 1' })
      .optional(),
    /**
     * Regression models: the error alarm fires when the mean absolute error from feedback rises above this.
     * Unset, it is the baseline's held-out MAE times `qualityThresholds.maeRatio` (no alarm if the baseline has none).
     */
    maxMeanAbsoluteError: z.number({ error: 'a number above 0' }).positive({ error: 'a number above 0' }).optional(),
    /**
     * Overrides of the relative quality thresholds, used by the alarms and by the quality job:
     * `accuracyDrop` and `macroF1Drop` (below the baseline, default 0.05), `maeRatio` (times the baseline MAE,
     * default 1.25), `driftedFeatureShare` (share of drifted features that alarms, default 0.3), `driftPValue`,
     * `psi`, `minimumSample`, `calibrationBins`. Each value is checked by `qualityThresholds`.
     */
    qualityThresholds: z
      // Any key here, so an unknown threshold is named by `qualityThresholds` with the known ones.
      .record(z.string(), z.number({ error: 'a number' }), { error: 'an object of threshold names to numbers' })
      .superRefine((t, ctx) => {
        try {
          qualityThresholds(t);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: errorMessage(e).replace(/^Invalid quality thresholds:\s*-\s*/, '') });
        }
      })
      .default({}),
    /** The drift alarm fires when the largest per-feature PSI rises above this (0.25 is a significant shift). */
    driftPsiThreshold: z
      .number({ error: 'a number above 0, at most 10' })
      .positive({ error: 'a number above 0, at most 10' })
      .max(10, { error: 'a number above 0, at most 10' })
      .default(0.25),
    /** How often the quality job publishes accuracy and drift, in minutes. */
    qualityScheduleMinutes: int(1, 1440).default(15),
    /** Minutes of prediction log each quality run reads (at least the schedule, or predictions go unmeasured). */
    qualityWindowMinutes: int(1, 10080).default(60),
    /**
     * What happens to the bucket, the table and the queues when a stack is deleted. `retain` keeps the
     * data (production); `destroy` deletes it with the stack, for throw-away dev deployments only.
     */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    /** The Analytics stack: the log as Parquet in S3, the Glue tables and the Athena workgroup (`false` leaves it out). */
    analytics: z.boolean({ error: 'true or false' }).default(true),
    /** Athena cancels a query of the analytics workgroup once it has scanned this many MiB (at least 10, Athena's minimum). */
    analyticsBytesScannedCutoffMiB: int(10, 10_485_760).default(10_240),
    /** Days Athena query results are kept in the results bucket. */
    analyticsResultsExpirationDays: int(1, 3650).default(30),
    /** IAM or a JWT authorizer besides the API keys (docs/auth.md). @default - API keys alone */
    auth: authSchema.optional(),
    /** An AWS WAF web ACL with a per-IP rate-based rule on the API's stage (docs/auth.md). @default - none */
    waf: wafSchema.optional(),
    /** The retraining loop on AWS (lib/training/, docs/retraining.md). @default - no training state machine */
    training: trainingSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const allowed = FARGATE_MEMORY_BY_CPU[c.fargateCpu];
    if (allowed && !allowed.includes(c.fargateMemoryMiB)) {
      ctx.addIssue({
        code: 'custom',
        path: ['fargateMemoryMiB'],
        message: `with fargateCpu ${c.fargateCpu}: one of ${allowed.join(', ')}`,
      });
    }
    if (c.fargateMinCapacity > c.fargateMaxCapacity) {
      ctx.addIssue({ code: 'custom', path: ['fargateMinCapacity'], message: `at most fargateMaxCapacity (${c.fargateMaxCapacity})` });
    }
    if (c.sagemakerMinCapacity > c.sagemakerMaxCapacity) {
      ctx.addIssue({ code: 'custom', path: ['sagemakerMinCapacity'], message: `at most sagemakerMaxCapacity (${c.sagemakerMaxCapacity})` });
    }
    if (c.sagemakerInitialInstanceCount < c.sagemakerMinCapacity || c.sagemakerInitialInstanceCount > c.sagemakerMaxCapacity) {
      ctx.addIssue({
        code: 'custom',
        path: ['sagemakerInitialInstanceCount'],
        message: `between sagemakerMinCapacity (${c.sagemakerMinCapacity}) and sagemakerMaxCapacity (${c.sagemakerMaxCapacity})`,
      });
    }
    if (c.qualityWindowMinutes < c.qualityScheduleMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['qualityWindowMinutes'],
        message: `at least qualityScheduleMinutes (${c.qualityScheduleMinutes}), or predictions between runs are never measured`,
      });
    }
    const challengerProblem = challengerProblemOf(c);
    if (challengerProblem !== undefined)
      ctx.addIssue({ code: 'custom', path: [challengerProblem.key], message: challengerProblem.message });
    if (c.training?.withFeedback && !c.analytics) {
      ctx.addIssue({ code: 'custom', path: ['training'], message: 'withFeedback reads the analytics store: set analytics to true' });
    }
    if (c.apiThrottleBurstLimit < c.apiThrottleRateLimit) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiThrottleBurstLimit'],
        message: `at least apiThrottleRateLimit (${c.apiThrottleRateLimit})`,
      });
    }
  });

/** The challenger keys that do not fit together, named by the key to fix. */
function challengerProblemOf(c: {
  challengerDir?: string;
  challengerMode?: RoutingMode;
  challengerPercent?: number;
  autoPromote?: boolean | Record<string, unknown>;
}): { key: string; message: string } | undefined {
  if (c.autoPromote !== undefined && c.autoPromote !== false) {
    if (c.challengerDir === undefined || c.challengerMode !== 'split')
      return {
        key: 'autoPromote',
        message: 'a split challenger to move up: set challengerDir, challengerMode "split" and challengerPercent',
      };
    try {
      promotionPolicy(c.autoPromote);
    } catch (e) {
      return { key: 'autoPromote', message: errorMessage(e) };
    }
  }
  if (c.challengerDir === undefined) {
    if (c.challengerMode !== undefined)
      return { key: 'challengerMode', message: 'nothing: set challengerDir first (the challenger to host)' };
    if (c.challengerPercent !== undefined)
      return { key: 'challengerPercent', message: 'nothing: set challengerDir first (the challenger to host)' };
    return undefined;
  }
  if (c.challengerMode === 'split' && c.challengerPercent === undefined)
    return { key: 'challengerPercent', message: `a percent from ${SPLIT_PERCENT.min} to ${SPLIT_PERCENT.max} with challengerMode "split"` };
  if (c.challengerMode !== 'split' && c.challengerPercent !== undefined)
    return {
      key: 'challengerPercent',
      message: 'nothing with challengerMode "shadow" (a shadow runs on every request): set challengerMode "split"',
    };
  return undefined;
}

export type MlshipConfig = z.infer<typeof configSchema>;
export type ConfigKey = keyof MlshipConfig;
export const CONFIG_KEYS = Object.keys(configSchema.shape) as ConfigKey[];
export { CONFIG_FILE };

/** A config that failed validation; `problems` holds one line per bad key. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid mlship configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** CDK context values given with `-c key=value` arrive as strings: numbers and booleans are read as such. */
function fromContext(value: unknown): unknown {
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}

function show(value: unknown): string {
  return value === undefined ? '(missing)' : JSON.stringify(value);
}

/** Validates raw values (file merged with context) into a config, or throws one ConfigError listing every problem. */
export function parseConfig(raw: Record<string, unknown>): MlshipConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys' && issue.path.length > 0) {
      return `${issue.path.map(String).join('.')}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    if (issue.code === 'unrecognized_keys') {
      return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}: allowed keys are ${CONFIG_KEYS.join(', ')}`;
    }
    // A nested key is named by its path (`auth.jwt.issuer`), with its own value.
    const key = issue.path.map(String).join('.');
    const value = issue.path.reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
      raw,
    );
    const allowed = issue.code === 'invalid_value' ? `one of ${issue.values.map((v) => String(v)).join(', ')}` : issue.message;
    return `${key} = ${show(value)}: expected ${allowed}`;
  });
  throw new ConfigError(problems);
}

export interface LoadConfigOptions {
  /** Reads one CDK context key (`app.node.tryGetContext`). */
  context: (key: string) => unknown;
  /** Repository root: where `mlship.config.json` is looked for and `modelDir` is resolved from. */
  rootDir: string;
}

/**
 * Defaults, then `mlship.config.json` (if present), then CDK context. The backend is the one key context
 * may not change: it is the deployed choice, kept in the file, because a deploy with another backend
 * switches the serving stack (docs/deploying.md, "Switching the backend"), and a forgotten `-c backend=` would do so
 * by accident.
 */
export function loadConfig({ context, rootDir }: LoadConfigOptions): MlshipConfig {
  const raw: Record<string, unknown> = {};
  const file = join(rootDir, CONFIG_FILE);
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError([`${CONFIG_FILE} is not valid JSON: ${errorMessage(e)}`]);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError([`${CONFIG_FILE} must hold a JSON object of config keys`]);
    }
    Object.assign(raw, parsed);
  }
  const fromFile = { ...raw };
  for (const key of CONFIG_KEYS) {
    const value = context(key);
    if (value !== undefined) raw[key] = fromContext(value);
  }
  const config = parseConfig(raw);
  // Once the file names the deployed backend, -c cannot switch it by accident (a switch is the sequence in
  // docs/deploying.md). Without one, -c picks it: a first synth or deploy, as that page's checklist has it.
  if (fromFile.backend !== undefined) {
    const kept = parseConfig({ backend: fromFile.backend }).backend;
    if (config.backend !== kept) {
      throw new ConfigError([
        `backend = "${config.backend}" from -c: the deployed backend is kept in ${CONFIG_FILE} ("${kept}"). ` +
          `To switch, set "backend": "${config.backend}" in ${CONFIG_FILE} and follow "Switching the backend" in docs/deploying.md.`,
      ]);
    }
  }
  return config;
}

/** A deployment's challenger: its folder, manifest, and the setting the predict function is given. */
export interface DeployedChallenger {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly setting: ChallengerSetting;
  /** The automatic promotion policy (`autoPromote`). @default - promotion by hand only */
  readonly promotionPolicy?: PromotionPolicy;
}

/** The configured challenger, its manifest read and checked beside the champion's; undefined without one. */
export function challengerOf(config: MlshipConfig, rootDir: string, champion: ModelManifest): DeployedChallenger | undefined {
  if (config.challengerDir === undefined) return undefined;
  const dir = isAbsolute(config.challengerDir) ? config.challengerDir : resolve(rootDir, config.challengerDir);
  let manifest: ModelManifest;
  try {
    manifest = readManifestFile(join(dir, MANIFEST_FILE));
    checkChallenger(champion, manifest);
  } catch (e) {
    throw new ConfigError([`challengerDir = ${show(config.challengerDir)}: ${errorMessage(e)}`]);
  }
  const mode = config.challengerMode ?? 'shadow';
  return {
    dir,
    manifest,
    setting: { version: manifest.version, mode, ...(mode === 'split' ? { percent: config.challengerPercent } : {}) },
    ...(config.autoPromote === undefined || config.autoPromote === false ? {} : { promotionPolicy: promotionPolicy(config.autoPromote) }),
  };
}

/**
 * After `mlship promote` on a deployed stack: the challenger becomes `modelDir` in `mlship.config.json`
 * and the challenger keys go, so the next deploy serves what the promotion made the champion. With
 * `championDir` (a registered version `mlship sync-config` put in the app), that folder becomes
 * `modelDir` instead, written relative to `rootDir` when `modelDir` was. Returns what changed, or
 * undefined when the file names no challenger and no `championDir` is given.
 */
export function promoteInConfigFile(rootDir: string, championDir?: string): string | undefined {
  const file = join(rootDir, CONFIG_FILE);
  if (!existsSync(file)) return undefined;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (typeof raw.challengerDir !== 'string' && championDir === undefined) return undefined;
  const { challengerDir, challengerMode: _mode, challengerPercent: _percent, autoPromote: _auto, ...rest } = raw;
  const modelDir =
    championDir === undefined
      ? challengerDir
      : typeof raw.modelDir === 'string' && !isAbsolute(raw.modelDir)
        ? relative(rootDir, championDir)
        : championDir;
  writeFileSync(file, `${JSON.stringify({ ...rest, modelDir }, null, 2)}\n`);
  const gone = challengerDir === undefined ? '' : ' and the challenger keys are gone';
  return `${CONFIG_FILE}: modelDir is now ${modelDir}${gone}; the next cdk deploy serves it alone.`;
}

/** The versions a config deploys: its model's name and version, and its challenger's setting. */
export interface ConfiguredVersions {
  readonly model: string;
  /** The champion's folder, absolute. */
  readonly modelDir: string;
  readonly champion: string;
  /** The champion's manifest, as read from `modelDir`. */
  readonly manifest: ModelManifest;
  /** @default - no challenger */
  readonly challenger?: ChallengerSetting;
}

/** What `mlship.config.json` in `rootDir` deploys, read and checked as synth reads it; undefined without the file. */
export function configuredVersions(rootDir: string): ConfiguredVersions | undefined {
  if (!existsSync(join(rootDir, CONFIG_FILE))) return undefined;
  const config = loadConfig({ context: () => undefined, rootDir });
  const modelDir = modelDirOf(config, rootDir);
  const manifest = readManifestFile(join(modelDir, MANIFEST_FILE));
  const challenger = challengerOf(config, rootDir, manifest)?.setting;
  return { model: manifest.name, modelDir, champion: manifest.version, manifest, ...(challenger === undefined ? {} : { challenger }) };
}

/** The authorization modes of the routes (docs/auth.md). */
export function authModesOf(config: Pick<MlshipConfig, 'auth'>): RouteAuthModes {
  return authModesOfSetting(config.auth);
}

/** The model directory as an absolute path. */
export function modelDirOf(config: MlshipConfig, rootDir: string): string {
  return isAbsolute(config.modelDir) ? config.modelDir : resolve(rootDir, config.modelDir);
}

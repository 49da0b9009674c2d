/**
 * Where CLI commands go: the local system (found through `.mlship/local/state.json`) or a deployed
 * stack (found through its CloudFormation outputs). Both answer the same questions: the API URL and
 * key, the bucket, the table and the log dead-letter queue, plus how to reach them.
 */

import { existsSync, readFileSync } from 'node:fs';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { API_AUTH_OUTPUT, AUTH_MODES, type AuthMode, type RouteAuthModes } from '../contract/auth';
import { ENV } from '../contract/env';
import { isAlive } from '../local/data-dir-lock';
import { DEFAULT_DATA_DIR, dataPaths, LOCAL_NAMES, readState, S3RVER_CREDENTIALS } from '../local/paths';

export interface TargetOptions {
  stack?: string;
  apiKey?: string;
  dataDir?: string;
  region?: string;
}

export interface Target {
  kind: 'local' | 'stack';
  /** A short description for messages ("local system at …", "stack mlship-Api"). */
  label: string;
  apiUrl: string;
  /** Undefined when a deployed stack's key was not given (routes without a key still work). */
  apiKey?: string;
  bucketName: string;
  tableName: string;
  logDlqUrl: string;
  /** Environment for SDK clients and in-process handlers aimed at this target. */
  awsEnv: Record<string, string>;
  /** Endpoint overrides and credentials for SDK clients built by the CLI itself. */
  s3: { endpoint?: string; forcePathStyle?: boolean; credentials?: { accessKeyId: string; secretAccessKey: string }; region?: string };
  sqs: { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } };
  /**
   * What the routes ask for besides the key (docs/auth.md), and how the CLI meets it: the region and
   * credentials it signs IAM routes with (the local credentials, or the default AWS chain for a stack).
   * @default - the key alone
   */
  auth?: { modes: RouteAuthModes; region: string; credentials?: { accessKeyId: string; secretAccessKey: string } };
}

/** Output keys the API stack publishes. */
export const STACK_OUTPUTS = ['ApiUrl', 'ApiKeyId', 'BucketName', 'TableName', 'Backend', 'DlqUrl'] as const;

export async function resolveTarget(opts: TargetOptions): Promise<Target> {
  const givenKey = opts.apiKey ?? nonEmpty(process.env.MLSHIP_API_KEY);
  return opts.stack ? stackTarget(opts.stack, givenKey, opts.region) : localTarget(opts.dataDir ?? DEFAULT_DATA_DIR, givenKey);
}

export function localTarget(dataDir: string, givenKey: string | undefined): Target {
  const state = readState(dataDir);
  if (!state || !isAlive(state.pid)) {
    throw new Error(
      `The local system is not running (no live state in ${dataDir}). Start it with \`npm start\`, or pass --stack NAME for a deployed stack.`,
    );
  }
  const keyFile = dataPaths(dataDir).apiKey;
  const apiKey = givenKey ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
  const credentials = { ...S3RVER_CREDENTIALS };
  return {
    ...(state.auth ? { auth: { modes: state.auth, region: LOCAL_NAMES.region, credentials } } : {}),
    kind: 'local',
    label: `local system at ${state.url}`,
    apiUrl: state.url,
    apiKey,
    bucketName: state.bucketName,
    tableName: state.tableName,
    logDlqUrl: state.logDlqUrl,
    awsEnv: {
      AWS_REGION: LOCAL_NAMES.region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      [ENV.DYNAMODB_URL]: state.dynamodbUrl,
      [ENV.S3_URL]: state.s3Url,
      [ENV.SQS_URL]: state.sqsUrl,
    },
    s3: { endpoint: state.s3Url, forcePathStyle: true, credentials, region: LOCAL_NAMES.region },
    sqs: { endpoint: state.sqsUrl, region: LOCAL_NAMES.region, credentials },
  };
}

async function stackTarget(stack: string, givenKey: string | undefined, region: string | undefined): Promise<Target> {
  const cfn = new CloudFormationClient(region ? { region } : {});
  try {
    // The CDK app puts the outputs on `<prefix>-Api`; accept the prefix as well as the full name.
    const outputs = (await outputsOf(cfn, stack)) ?? (await outputsOf(cfn, `${stack}-Api`));
    if (!outputs) throw new Error(`No stack named ${stack} or ${stack}-Api with an ApiUrl output was found.`);
    const get = (key: (typeof STACK_OUTPUTS)[number]) => {
      const v = outputs.find((o) => o.OutputKey === key)?.OutputValue;
      if (!v) throw new Error(`The stack has no ${key} output.`);
      return v;
    };
    const resolvedRegion = region ?? (await cfn.config.region());
    const modes = authModesOutput(outputs.find((o) => o.OutputKey === API_AUTH_OUTPUT)?.OutputValue);
    return {
      ...(modes ? { auth: { modes, region: resolvedRegion } } : {}),
      kind: 'stack',
      label: `stack ${stack}`,
      apiUrl: get('ApiUrl').replace(/\/+$/, ''),
      apiKey: givenKey,
      bucketName: get('BucketName'),
      tableName: get('TableName'),
      logDlqUrl: get('DlqUrl'),
      awsEnv: { AWS_REGION: resolvedRegion },
      s3: { region: resolvedRegion },
      sqs: { region: resolvedRegion },
    };
  } finally {
    cfn.destroy();
  }
}

async function outputsOf(cfn: CloudFormationClient, name: string): Promise<Output[] | undefined> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    const outputs = out.Stacks?.[0]?.Outputs ?? [];
    return outputs.some((o) => o.OutputKey === 'ApiUrl') ? outputs : undefined;
  } catch (e) {
    // CloudFormation answers ValidationError "Stack with id X does not exist".
    if ((e as { name?: string }).name === 'ValidationError') return undefined;
    throw e;
  }
}

/** The `ApiAuth` output of a stack (absent on a stack whose routes take the key alone, or one deployed before it existed). */
function authModesOutput(raw: string | undefined): RouteAuthModes | undefined {
  if (raw === undefined) return undefined;
  const parsed = JSON.parse(raw) as Record<string, unknown>;
  const mode = (v: unknown): AuthMode => {
    if (!(AUTH_MODES as readonly unknown[]).includes(v))
      throw new Error(`The stack's ${API_AUTH_OUTPUT} output names an unknown mode: ${raw}`);
    return v as AuthMode;
  };
  return { operatorRoutes: mode(parsed.operatorRoutes), otherRoutes: mode(parsed.otherRoutes) };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

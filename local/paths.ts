/**
 * Where the local system keeps its state. Everything lives under one folder (`.mlship/local/` in the
 * project, git-ignored) so a restart finds the prediction log, the bucket and the API key again, and the
 * CLI finds the running system from `state.json`.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RouteAuthModes } from '../contract/auth';

/** The project root: local/ sits one level below it. */
export const PROJECT_ROOT = resolve(__dirname, '..');

/** Default data folder of `npm start`. */
export const DEFAULT_DATA_DIR = join(PROJECT_ROOT, '.mlship', 'local');

/** Default model served by `npm start`. */
export const DEFAULT_MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');

/** Names of the local resources (DynamoDB and S3 validate them like the real services). */
export const LOCAL_NAMES = {
  table: 'mlship-local-predictions',
  bucket: 'mlship-local-data',
  logDlq: 'mlship-local-log-dlq',
  region: 'us-east-1',
  stage: 'local',
} as const;

/**
 * Ports of the embedded services, counted up from the API port so they stay the same at every start
 * and a second system on another `--port` gets its own set (3000 → DynamoDB 3001, S3 3002, …).
 * API port 0 (tests) gives every service a free port.
 */
export const SERVICE_PORT_OFFSETS = { dynamodb: 1, s3: 2, sqs: 3, model: 4 } as const;
export type ServicePorts = Record<keyof typeof SERVICE_PORT_OFFSETS, number>;

export function servicePortsFor(apiPort: number): ServicePorts {
  const at = (offset: number) => (apiPort === 0 ? 0 : apiPort + offset);
  const o = SERVICE_PORT_OFFSETS;
  return { dynamodb: at(o.dynamodb), s3: at(o.s3), sqs: at(o.sqs), model: at(o.model) };
}

/** s3rver checks SigV4 signatures against these fixed credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export function dataPaths(dataDir: string) {
  return {
    root: dataDir,
    dynamodb: join(dataDir, 'dynamodb'),
    s3: join(dataDir, 's3'),
    sqs: join(dataDir, 'sqs.json'),
    /** The table stream's journal and the analytics writer's checkpoint in it. */
    stream: join(dataDir, 'stream'),
    /** The operator key (every prediction and the metrics). */
    apiKey: join(dataDir, 'api-key'),
    /** The client key (its own predictions only). */
    clientApiKey: join(dataDir, 'client-api-key'),
    state: join(dataDir, 'state.json'),
    /** Model archives packed for upload and downloaded back by the model server. */
    work: join(dataDir, 'work'),
  };
}

/**
 * The API key: the given one, else the one kept in the data folder, else a new one written there
 * (mode 0600) so it survives restarts and the CLI can read it.
 */
export function resolveApiKey(
  dataDir: string,
  given: string | undefined,
  persist: boolean,
  which: 'apiKey' | 'clientApiKey' = 'apiKey',
): string {
  if (given !== undefined) {
    if (!/^[\x21-\x7e]{20,128}$/.test(given)) {
      throw new Error('The API key must be 20 to 128 printable ASCII characters without spaces (API Gateway requires at least 20).');
    }
    return given;
  }
  const file = dataPaths(dataDir)[which];
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(24).toString('base64url');
  if (persist) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  return key;
}

/** What a running local system publishes for the CLI (`state.json`). */
export interface LocalState {
  pid: number;
  url: string;
  tableName: string;
  bucketName: string;
  dynamodbUrl: string;
  s3Url: string;
  sqsUrl: string;
  logDlqUrl: string;
  modelUrl: string;
  startedAt: string;
  /** What the routes ask for besides the key, when more than the key (docs/auth.md): the CLI signs or sends a token. */
  auth?: RouteAuthModes;
}

export function writeState(dataDir: string, state: LocalState): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(dataPaths(dataDir).state, `${JSON.stringify(state, null, 2)}\n`);
}

/** The state of the system running from `dataDir`, or undefined when none was started there. */
export function readState(dataDir: string): LocalState | undefined {
  const file = dataPaths(dataDir).state;
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LocalState;
}

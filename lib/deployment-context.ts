/**
 * The settings every mlship stack and function shares, derived once from the validated config: where the
 * code and the model are, which backend serves it, how long logs are kept and what a stack deletion does
 * to stateful resources. lib/mlship-app.ts builds it and hands the same object to each stack.
 */
import { join, resolve } from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Backend } from '../contract/limits';
import { MANIFEST_FILE } from '../contract/manifest';
import { type MlshipConfig, modelDirOf } from './config';

/** The mlship folder (`lambda/`, `container/`, `package-lock.json`): the default root of constructs used on their own. */
export const PACKAGE_ROOT = resolve(__dirname, '..');

export interface DeploymentContext {
  /** Repository root: `lambda/`, `container/` and `package-lock.json` are found from it. */
  readonly rootDir: string;
  /** Absolute folder of the served model (`model.json`, the ONNX file, `baseline.json`, `parity.json`). */
  readonly modelDir: string;
  /** Absolute path of the served model's `model.json`. */
  readonly manifestPath: string;
  /** The backend that serves the model. */
  readonly backend: Backend;
  /** Retention of every log group the stacks create. */
  readonly logRetention: logs.RetentionDays;
  /**
   * What a stack deletion does to the bucket, the table, the queues and the log groups: RETAIN keeps the
   * data (production), DESTROY deletes it with the stack (throw-away dev deployments, config `removalPolicy`).
   */
  readonly removalPolicy: RemovalPolicy;
  /** Empty the buckets before deleting them: true exactly when `removalPolicy` is DESTROY. */
  readonly autoDeleteObjects: boolean;
}

/** The deployment context of a validated config, with `modelDir` resolved from `rootDir`. */
export function deploymentContext(config: MlshipConfig, rootDir: string): DeploymentContext {
  const modelDir = modelDirOf(config, rootDir);
  const destroy = config.removalPolicy === 'destroy';
  return {
    rootDir,
    modelDir,
    manifestPath: join(modelDir, MANIFEST_FILE),
    backend: config.backend,
    // The config accepts only the periods CloudWatch Logs offers (LOG_RETENTION_DAYS), which are the enum's values.
    logRetention: config.logRetentionDays as logs.RetentionDays,
    removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    autoDeleteObjects: destroy,
  };
}

/** A deployment context from its parts, for a construct used on its own (the manifest path follows the model folder). */
export function contextFromParts(parts: Omit<DeploymentContext, 'manifestPath' | 'autoDeleteObjects'>): DeploymentContext {
  return {
    ...parts,
    manifestPath: join(parts.modelDir, MANIFEST_FILE),
    autoDeleteObjects: parts.removalPolicy === RemovalPolicy.DESTROY,
  };
}

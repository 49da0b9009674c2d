/** What the API, serving and monitoring stacks need from a serving backend, whichever it is. */

import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IDependable } from 'constructs';
import type { EnvName } from '../../contract/env';
import type { Backend } from '../../contract/limits';
import type { MonitoredBackend } from '../observability/backend-metrics';
import type { GoldenSetCheck } from '../rollout/golden-set-check';

/** The served model by name and version: a `ModelManifest` fits (a plain interface, not a `Pick<>`, for jsii). */
export interface ModelIdentity {
  /** The model's name (`models/<name>/` holds its packages). */
  readonly name: string;
  /** The model's version. */
  readonly version: string;
}

/** A challenger's package hosted beside the model in the same image (docs/versions.md). */
export interface ChallengerPackageRef {
  /** Key of its package in the bucket (under the same `models/<name>/` as the model's). */
  readonly key: string;
  /** What puts the package in the bucket: the model starts after it. @default - nothing to wait for */
  readonly upload?: IDependable;
}

/** Where a rollout check must run to reach the new version (the network props of GoldenSetCheck). */
export interface RolloutCheckPlacement {
  /** The new version's address during a rollout. @default - none (SageMaker: the endpoint itself) */
  readonly testUrl?: string;
  /** The VPC the check runs in. @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** The check's security groups in `vpc`. @default - none */
  readonly securityGroups?: ec2.ISecurityGroup[];
}

export interface ModelBackend {
  /** Which backend this is. */
  readonly backend: Backend;
  /** Variables the predict function needs to reach the model (`MLSHIP_MODEL_URL` or `MLSHIP_SAGEMAKER_ENDPOINT`). */
  readonly clientEnvironment: Partial<Record<EnvName, string>>;
  /** Where the predict function must run to reach the model. @default - outside any VPC */
  readonly clientVpc?: ec2.IVpc;
  /** Security groups that the model accepts traffic from. @default - none (no network access needed) */
  readonly clientSecurityGroups?: ec2.ISecurityGroup[];
  /** What the monitoring graphs and alarms watch. */
  readonly monitored: MonitoredBackend;
  /** Where a GoldenSetCheck of this backend must run. */
  readonly rolloutCheckPlacement: RolloutCheckPlacement;
  /**
   * Runs `check` on every rollout of the model (`model` is `<name>/<version>`), before the new version
   * keeps traffic, and acknowledges the cdk-nag findings that wiring brings.
   */
  checkRolloutsWith(check: GoldenSetCheck, model: string): void;
  /**
   * Lets `grantee` call the model, and nothing else: an IAM permission on one SageMaker endpoint, or, for
   * Fargate, whose load balancer is reached through `clientSecurityGroups` instead, a Grant that adds no
   * statement (`iam.Grant.drop`).
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
}

/**
 * What the API, serving and monitoring stacks need from a serving backend, whichever it is, and what a
 * backend needs from a rollout check. A leaf of the infrastructure: it imports types of the contract and
 * of the backend metrics only, so the function, backend and check modules can all name it without a cycle.
 */
import type { CustomResource } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { EnvName } from '../../contract/env';
import type { Backend } from '../../contract/limits';
import type { MonitoredBackend } from '../observability/backend-metrics';

/** The served model by name and version: a `ModelManifest` fits (a plain interface, not a `Pick<>`, for jsii). */
export interface ModelIdentity {
  /** The model's name (`models/<name>/` holds its packages). */
  readonly name: string;
  /** The model's version. */
  readonly version: string;
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

/** The SageMaker endpoint a check runs against after each update (a SageMakerModelEndpoint). */
export interface SageMakerCheckTarget {
  /** The endpoint's name. */
  readonly endpointName: string;
  /** Its endpoint config: a new one with each model version. */
  readonly endpointConfig: sagemaker.CfnEndpointConfig;
  /** The endpoint resource: the check runs after it is updated. */
  readonly endpoint: sagemaker.CfnEndpoint;
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
}

/** A check of each rollout's new version, as a backend wires it in (GoldenSetCheck is one). */
export interface RolloutCheck {
  /** The function that runs the check: the Fargate service calls it as a deployment lifecycle hook. */
  readonly checkFunction: lambda.IFunction;
  /** Runs the check after every update of a SageMaker endpoint (`model` is `<name>/<version>`). */
  checkSageMakerEndpoint(endpoint: SageMakerCheckTarget, model: string): CustomResource;
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
  checkRolloutsWith(check: RolloutCheck, model: string): void;
  /**
   * Lets `grantee` call the model, and nothing else: an IAM permission on one SageMaker endpoint, or, for
   * Fargate, whose load balancer is reached through `clientSecurityGroups` instead, a Grant that adds no
   * statement (`iam.Grant.drop`).
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
}

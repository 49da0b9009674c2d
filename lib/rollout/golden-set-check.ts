/**
 * The golden-set check of a rollout (`lambda/golden-check.ts`, with the model's `parity.json` bundled
 * beside it). For a SageMaker endpoint it is a custom resource that runs after every endpoint update and
 * fails the stack update (so CloudFormation rolls the endpoint back) when the new version's answers differ;
 * for the Fargate service it is the ECS lifecycle hook that calls the test listener before production
 * traffic moves. Its role may invoke that one endpoint, or nothing beyond the VPC attachment.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CustomResource, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../contract/env';
import type { Backend } from '../../contract/limits';
import { GOLDEN_SET_FILE } from '../../contract/rollout';
import { HandlerFunction } from '../constructs/handler-function';

/** The check function's timeout. */
export const CHECK_TIMEOUT = Duration.minutes(2);
/**
 * How long CloudFormation waits for the custom resource's answer before failing it (instead of its default
 * hour): the function's timeout and its retries by Lambda's async invoke, with a margin.
 */
export const CHECK_SERVICE_TIMEOUT = Duration.minutes(8);

export interface GoldenSetCheckProps {
  readonly backend: Backend;
  readonly rootDir: string;
  readonly manifestPath: string;
  /** Absolute path of the model's `parity.json`. */
  readonly goldenSetPath: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Fargate: the load balancer's test listener URL, reached from `vpc` with `securityGroups`. */
  readonly testUrl?: string;
  readonly vpc?: ec2.IVpc;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

export class GoldenSetCheck extends Construct {
  public readonly handler: HandlerFunction;
  /** sha256 of the bundled golden set (the custom resource names it, so a rollback is recognised). */
  public readonly goldenSetSha256: string;

  constructor(scope: Construct, id: string, props: GoldenSetCheckProps) {
    super(scope, id);
    if ((props.backend === 'fargate') !== (props.testUrl !== undefined)) {
      throw new Error('Give `testUrl` (the test listener) for the fargate backend, and only for it.');
    }
    this.goldenSetSha256 = createHash('sha256').update(readFileSync(props.goldenSetPath, 'utf8')).digest('hex');
    this.handler = new HandlerFunction(this, 'Check', {
      name: 'golden-check',
      backend: props.backend,
      rootDir: props.rootDir,
      manifestPath: props.manifestPath,
      environment: { [ENV.GOLDEN_SET_PATH]: GOLDEN_SET_FILE, ...(props.testUrl ? { [ENV.MODEL_URL]: props.testUrl } : {}) },
      bundledFiles: [props.goldenSetPath],
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      // Two requests of 50 rows and the custom resource answer; a cold endpoint can take seconds. The
      // function answers FAILED itself 15 s before this (lambda/golden-check.ts).
      timeout: CHECK_TIMEOUT,
      vpc: props.vpc,
      securityGroups: props.securityGroups,
    });
  }

  /**
   * Runs the check after every update of `endpoint`: `endpointConfigName` changes with each new model
   * version, so CloudFormation sends the custom resource an Update each time.
   */
  checkSageMakerEndpoint(endpoint: {
    endpointName: string;
    endpointArn: string;
    endpointConfigName: string;
    model: string;
    dependable: Construct;
  }): CustomResource {
    iam.Grant.addToPrincipal({ grantee: this.handler.role, actions: ['sagemaker:InvokeEndpoint'], resourceArns: [endpoint.endpointArn] });
    const resource = new CustomResource(this, 'AfterEndpointUpdate', {
      serviceToken: this.handler.function.functionArn,
      resourceType: 'Custom::GoldenSetCheck',
      serviceTimeout: CHECK_SERVICE_TIMEOUT,
      properties: {
        EndpointName: endpoint.endpointName,
        EndpointConfigName: endpoint.endpointConfigName,
        Model: endpoint.model,
        GoldenSetSha256: this.goldenSetSha256,
      },
    });
    resource.node.addDependency(endpoint.dependable);
    // The grant must be in place before the first check calls the endpoint.
    resource.node.addDependency(this.handler.role);
    return resource;
  }
}

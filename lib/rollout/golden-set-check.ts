/**
 * The golden-set check of a rollout (`lambda/golden-check.ts`, with the model's `parity.json` bundled
 * beside it). For a SageMaker endpoint it is a custom resource that runs against a check endpoint serving
 * the new version, before the serving endpoint is updated, and fails the stack update when its answers differ;
 * for the Fargate service it is the ECS lifecycle hook that calls the test listener before production
 * traffic moves. Its role may invoke that one endpoint, or nothing beyond the VPC attachment.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../../contract/env';
import { GOLDEN_SET_FILE } from '../../contract/rollout';
import { HandlerFunction } from '../constructs/handler-function';
import type { DeploymentContext } from '../deployment-context';
import type { RolloutCheck, SageMakerCheckTarget } from '../serving/model-backend';

/** The check function's timeout. */
export const CHECK_TIMEOUT = Duration.minutes(2);
/**
 * How long CloudFormation waits for the custom resource's answer before failing it (instead of its default
 * hour): the function's timeout and its retries by Lambda's async invoke, with a margin.
 */
export const CHECK_SERVICE_TIMEOUT = Duration.minutes(8);

export interface GoldenSetCheckProps {
  /** Paths, backend, log retention and removal policy of the deployment. */
  readonly deployment: DeploymentContext;
  /**
   * Absolute path of the golden set (inputs and the expected answers), bundled beside the function.
   * @default - `parity.json` in the model folder
   */
  readonly goldenSetPath?: string;
  /**
   * The new version's address during a rollout: the Fargate load balancer's test listener URL, reached
   * from `vpc` with `securityGroups`. Required for the fargate backend, refused for the others.
   * @default - none (SageMaker: the endpoint comes with each custom resource event)
   */
  readonly testUrl?: string;
  /** Runs the check in this VPC (Fargate). @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** Security groups of the check in `vpc`. @default - none */
  readonly securityGroups?: ec2.ISecurityGroup[];
}

export class GoldenSetCheck extends Construct implements RolloutCheck {
  /** The check function. */
  public readonly handler: HandlerFunction;
  /** The check's Lambda function (`handler.function`), which the Fargate service's lifecycle hook calls. */
  public readonly checkFunction: lambda.IFunction;
  /** sha256 of the bundled golden set (the custom resource names it, so a rollback is recognised). */
  public readonly goldenSetSha256: string;

  constructor(scope: Construct, id: string, props: GoldenSetCheckProps) {
    super(scope, id);
    const { deployment } = props;
    if ((deployment.backend === 'fargate') !== (props.testUrl !== undefined)) {
      throw new Error('Give `testUrl` (the test listener) for the fargate backend, and only for it.');
    }
    const goldenSetPath = props.goldenSetPath ?? join(deployment.modelDir, GOLDEN_SET_FILE);
    this.goldenSetSha256 = createHash('sha256').update(readFileSync(goldenSetPath, 'utf8')).digest('hex');
    this.handler = new HandlerFunction(this, 'Check', {
      name: 'golden-check',
      deployment,
      environment: { [ENV.GOLDEN_SET_PATH]: GOLDEN_SET_FILE, ...(props.testUrl ? { [ENV.MODEL_URL]: props.testUrl } : {}) },
      bundledFiles: [goldenSetPath],
      // Two requests of 50 rows and the custom resource answer; a cold endpoint can take seconds. The
      // function answers FAILED itself 15 s before this (lambda/golden-check.ts).
      timeout: CHECK_TIMEOUT,
      vpc: props.vpc,
      securityGroups: props.securityGroups,
    });
    this.checkFunction = this.handler.function;
  }

  /**
   * Runs the check after every update of `endpoint` (the check endpoint serving the new version):
   * `endpointConfigName` changes with each new model version, so CloudFormation sends the custom resource
   * an Update each time. `model` names the model version being checked (`<name>/<version>`).
   */
  checkSageMakerEndpoint(endpoint: SageMakerCheckTarget, model: string): CustomResource {
    endpoint.grantInvoke(this.handler);
    const resource = new CustomResource(this, 'AfterEndpointUpdate', {
      serviceToken: this.handler.function.functionArn,
      resourceType: 'Custom::GoldenSetCheck',
      serviceTimeout: CHECK_SERVICE_TIMEOUT,
      properties: {
        EndpointName: endpoint.endpointName,
        EndpointConfigName: endpoint.endpointConfig.attrEndpointConfigName,
        Model: model,
        GoldenSetSha256: this.goldenSetSha256,
      },
    });
    resource.node.addDependency(endpoint.endpoint);
    // The grant must be in place before the first check calls the endpoint.
    resource.node.addDependency(this.handler.role);
    return resource;
  }
}

/**
 * A fresh app and stack for a construct test, with Lambda bundling skipped (as `cdk synth --exclusively`
 * does: these tests read templates, not code), and the deployment context of the example model.
 */
import { join } from 'node:path';
import { App, type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { contextFromParts, type DeploymentContext } from '../../lib';

export const ROOT = join(__dirname, '..', '..');

export function constructStack(): { app: App; stack: Stack; deployment: DeploymentContext } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  const deployment = contextFromParts({
    rootDir: ROOT,
    modelDir: join(ROOT, 'models', 'breast-cancer'),
    backend: 'fargate',
    logRetention: logs.RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return { app, stack, deployment };
}

/** The logical ID CDK gives an L1 resource, or an L2 construct's default child. */
export function logicalIdIn(construct: IConstruct): string {
  const resource = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(resource).getLogicalId(resource);
}

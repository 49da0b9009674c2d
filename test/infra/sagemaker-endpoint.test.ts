/**
 * SageMakerModelEndpoint on its own (a fresh stack per case, no bundling): what endpoint updates keep,
 * and how an instance type change is made possible.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { type RealtimeCapacity, SageMakerModelEndpoint, type ServerlessCapacity } from '../../lib/serving/sagemaker-model-endpoint';
import { sageMakerApiProblems } from './sagemaker-api-shapes';

const imageDir = mkdtempSync(join(tmpdir(), 'mlship-image-'));
writeFileSync(join(imageDir, 'Dockerfile'), 'FROM scratch\n');

function endpoint(capacity: { realtime?: RealtimeCapacity; serverless?: ServerlessCapacity }): Template {
  const stack = new Stack(new App(), 'Serving');
  new SageMakerModelEndpoint(stack, 'SageMaker', {
    image: new DockerImageAsset(stack, 'Image', { directory: imageDir }),
    bucket: s3.Bucket.fromBucketName(stack, 'Data', 'data-bucket'),
    modelKey: 'models/m/1/0123456789abcdef/model.tar.gz',
    ...capacity,
  });
  return Template.fromStack(stack);
}

const REALTIME: RealtimeCapacity = { instanceType: 'ml.m5.large', initialInstanceCount: 1, minCapacity: 1, maxCapacity: 4 };

describe('SageMakerModelEndpoint updates', () => {
  it('keeps the scaled instance count through a model rollout (RetainAllVariantProperties)', () => {
    // GIVEN a real-time endpoint registered for auto scaling
    const t = endpoint({ realtime: REALTIME });
    // THEN an update keeps the variant's count and weight instead of resetting them to the new config's
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      RetainAllVariantProperties: true,
      ExcludeRetainedVariantProperties: Match.absent(),
    });
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 1);
    expect(sageMakerApiProblems(t.toJSON())).toEqual([]);
  });

  it('deregisters auto scaling with autoScaling: false, the step before an instance type change', () => {
    // GIVEN the documented first step of an instance type change
    const t = endpoint({ realtime: { ...REALTIME, autoScaling: false } });
    // THEN no scalable target or policy remains, and the endpoint itself is the same as with scaling
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
    const withScaling = endpoint({ realtime: REALTIME });
    const props = (x: Template, type: string) => Object.values(x.findResources(type)).map((r) => r.Properties);
    expect(props(t, 'AWS::SageMaker::EndpointConfig')).toEqual(props(withScaling, 'AWS::SageMaker::EndpointConfig'));
    expect(props(t, 'AWS::SageMaker::Endpoint')).toEqual(props(withScaling, 'AWS::SageMaker::Endpoint'));
  });

  it.each([
    [
      'one instance at the least: all at once with the bake time (a 25 % canary of one instance is all of it)',
      REALTIME,
      { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
    ],
    [
      'one fixed instance without scaling: all at once',
      { ...REALTIME, minCapacity: 2, autoScaling: false },
      { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
    ],
    [
      'two instances at the least: a canary first',
      { ...REALTIME, initialInstanceCount: 2, minCapacity: 2 },
      { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 25 }, WaitIntervalInSeconds: 300 },
    ],
  ])('routes a real-time update with %s', (_name, realtime, routing) => {
    const t = endpoint({ realtime });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'Serving-model',
      DeploymentConfig: Match.objectLike({ BlueGreenUpdatePolicy: Match.objectLike({ TrafficRoutingConfiguration: routing }) }),
    });
    expect(sageMakerApiProblems(t.toJSON())).toEqual([]);
  });

  it('serves the new model on a serverless check endpoint with its own expiring logs', () => {
    const t = endpoint({ realtime: REALTIME });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'Serving-model-check', DeploymentConfig: Match.absent() });
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/sagemaker/Endpoints/Serving-model-check', RetentionInDays: 90 });
    t.resourceCountIs('AWS::SageMaker::Model', 1);
    expect(sageMakerApiProblems(t.toJSON())).toEqual([]);
  });

  it('gives a serverless endpoint an all-at-once routing with the wait interval the API requires', () => {
    const t = endpoint({ serverless: { memorySizeMb: 2048, maxConcurrency: 5 } });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'Serving-model',
      DeploymentConfig: Match.objectLike({
        BlueGreenUpdatePolicy: Match.objectLike({ TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 } }),
      }),
      RetainAllVariantProperties: Match.absent(),
    });
    expect(sageMakerApiProblems(t.toJSON())).toEqual([]);
  });
});

/**
 * ModelNetwork's default VPC: one NAT gateway unless told two (one per AZ), through FargateModelService
 * and the config's `natGateways`; a count the VPC cannot have, or one given with a VPC of the app's own,
 * is refused saying how to fix it.
 */
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { FargateModelService, ModelNetwork } from '../../lib';
import { constructStack, ROOT } from '../support/construct-stack';

function service(natGateways?: number, network?: (s: ReturnType<typeof constructStack>['stack']) => ModelNetwork) {
  const { stack } = constructStack();
  const image = new ecrAssets.DockerImageAsset(stack, 'Image', { directory: join(ROOT, 'container'), exclude: ['**', '!Dockerfile'] });
  const model = new FargateModelService(stack, 'Model', {
    image,
    bucket: new s3.Bucket(stack, 'Data'),
    model: { name: 'm', version: '1' },
    modelKey: 'models/m/1/model.tar.gz',
    natGateways,
    network: network?.(stack),
  });
  return { stack, model };
}

test.each([
  [undefined, 1],
  [1, 1],
  [2, 2],
])('natGateways %s gives the default VPC %i NAT gateway(s)', (natGateways, count) => {
  // GIVEN / WHEN
  const { stack } = service(natGateways);
  // THEN
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::EC2::NatGateway', count);
  t.resourceCountIs('AWS::EC2::Subnet', 4);
});

test("empties the default VPC's default security group, its provider logging to a log group that expires", () => {
  // GIVEN / WHEN
  const { stack } = service();
  // THEN the default security group loses its rules
  const t = Template.fromStack(stack);
  t.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  // AND the function doing it writes to a log group of its own with a retention, not one Lambda creates
  const [handler] = Object.values(
    t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('default security group') } }),
  );
  const groups = t.findResources('AWS::Logs::LogGroup');
  const ref = (handler?.Properties.LoggingConfig?.LogGroup as { Ref?: string } | undefined)?.Ref ?? '';
  expect(groups[ref]?.Properties.RetentionInDays).toBeGreaterThan(0);
});

test('refuses a count the two-AZ VPC cannot have', () => {
  expect(() => service(3)).toThrow(
    /`natGateways` must be 1 or 2 \(the private subnets need egress, and there is one NAT gateway per AZ at most\); got 3/,
  );
  expect(() => service(0)).toThrow(/`natGateways` must be 1 or 2/);
});

test("refuses natGateways beside a network or VPC of the app's own: it would be silently ignored", () => {
  expect(() => service(2, (stack) => new ModelNetwork(stack, 'Net'))).toThrow(
    /`natGateways` shapes the VPC of a new network; with `network`, set it on that VPC instead/,
  );
  const { stack } = constructStack();
  const vpc = new ec2.Vpc(stack, 'Own');
  expect(() => new ModelNetwork(stack, 'Net', { vpc, natGateways: 2 })).toThrow(/with `vpc`, set them on that VPC instead/);
});

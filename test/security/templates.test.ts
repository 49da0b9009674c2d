/**
 * Security properties of every backend's synthesized templates: API keys on the keyed routes, no wildcard
 * actions, `Resource: *` only where AWS offers nothing narrower, TLS-only and closed buckets, and zero
 * unacknowledged cdk-nag findings.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { ROUTES } from '../../contract/routes';
import { parseConfig } from '../../lib/config';
import { allStatements } from './policies';
import { type SynthesizedBackend, synthesizeAll } from './templates';

jest.setTimeout(120_000);

/** Actions AWS grants only on `*` (no resource-level permissions), with why they are here. */
const STAR_RESOURCE_ALLOWED: Record<string, string> = {
  'xray:PutTraceSegments': 'X-Ray has no resource-level permissions (Lambda active tracing)',
  'xray:PutTelemetryRecords': 'X-Ray has no resource-level permissions (Lambda active tracing)',
  'ecr:GetAuthorizationToken': 'registry login token: AWS accepts only Resource "*"',
  'ec2:CreateNetworkInterface': 'Lambda VPC networking: no resource ARN exists before the interface does',
  'ec2:DescribeNetworkInterfaces': 'EC2 Describe actions take no resource',
  'ec2:DescribeSubnets': 'EC2 Describe actions take no resource',
  'ec2:DeleteNetworkInterface': 'Lambda VPC networking: interface ids are created at run time',
  'ec2:AssignPrivateIpAddresses': 'Lambda VPC networking: interface ids are created at run time',
  'ec2:UnassignPrivateIpAddresses': 'Lambda VPC networking: interface ids are created at run time',
  'dynamodb:ListStreams':
    "lists the streams of the account (the analytics writer's stream event source mapping); the action takes no resource",
  'xray:GetSamplingRules': 'X-Ray has no resource-level permissions (state machine tracing)',
  'xray:GetSamplingTargets': 'X-Ray has no resource-level permissions (state machine tracing)',
  'logs:CreateLogDelivery': 'vended log delivery (state machine logging) accepts only Resource "*"',
  'logs:GetLogDelivery': 'vended log delivery (state machine logging) accepts only Resource "*"',
  'logs:UpdateLogDelivery': 'vended log delivery (state machine logging) accepts only Resource "*"',
  'logs:DeleteLogDelivery': 'vended log delivery (state machine logging) accepts only Resource "*"',
  'logs:ListLogDeliveries': 'vended log delivery (state machine logging) accepts only Resource "*"',
  'logs:PutResourcePolicy': 'vended log delivery (state machine logging) accepts only Resource "*"',
  'logs:DescribeResourcePolicies': 'vended log delivery (state machine logging) accepts only Resource "*"',
  'logs:DescribeLogGroups': 'vended log delivery (state machine logging) accepts only Resource "*"',
  'ecs:DescribeTasks': 'the Step Functions ECS .sync integration watches the task it started; its ARN exists only at run time',
  'sagemaker:ListTags': 'granted on * by the Step Functions SageMaker .sync integration (aws-stepfunctions-tasks); it reads tags only',
  'ecs:StopTask':
    'the Step Functions ECS .sync integration stops the task it started when the run is aborted; its ARN exists only at run time',
};
/** Allowed on `*` only with a condition narrowing it (the metric namespace). */
const STAR_RESOURCE_WITH_CONDITION = new Set(['cloudwatch:PutMetricData']);

describe('security of the synthesized templates', () => {
  let backends: SynthesizedBackend[];
  beforeAll(() => {
    backends = synthesizeAll();
  });
  const each = (fn: (b: SynthesizedBackend) => void) => () => backends.forEach(fn);
  const everyStatement = (b: SynthesizedBackend) => Object.values(b.templates).flatMap(allStatements);

  it(
    'synthesizes every backend with zero unacknowledged cdk-nag or CloudFormation findings',
    each((b) => {
      expect({ backend: b.backend, violations: b.violations }).toEqual({ backend: b.backend, violations: [] });
    }),
  );

  it(
    'requires the API key on every keyed route and on no open one',
    each((b) => {
      const resources = b.templates.api.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
      const pathOf = (id: string | undefined): string => {
        if (!id || !resources[id] || resources[id].Type !== 'AWS::ApiGateway::Resource') return '';
        const parent = (resources[id].Properties.ParentId as { Ref?: string }).Ref;
        return `${pathOf(parent)}/${resources[id].Properties.PathPart}`;
      };
      const methods = Object.values(resources)
        .filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod !== 'OPTIONS')
        // Methods on the root resource name it by GetAtt RootResourceId, not by Ref: their path is "/".
        .map((r) => ({
          key: `${r.Properties.HttpMethod} ${pathOf((r.Properties.ResourceId as { Ref?: string }).Ref) || '/'}`,
          apiKey: r.Properties.ApiKeyRequired === true,
        }));
      for (const route of ROUTES) {
        expect(methods.filter((m) => m.key === `${route.method} ${route.path}`)).toEqual([
          { key: `${route.method} ${route.path}`, apiKey: route.apiKey },
        ]);
      }
      // The client key in the default plan, and each operator key in the operator plan.
      b.templates.api.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1 + parseConfig({}).operatorKeyNames.length);
    }),
  );

  it(
    'allows no wildcard action anywhere (wildcards appear only in Deny statements)',
    each((b) => {
      // The one exception: a KMS key's own policy giving the account `kms:*`, AWS's default key policy. It
      // names no role; it is what lets IAM policies govern the key (without it the key is unmanageable).
      const keyPolicyRoot = (s: { where: string; resourcePolicy: boolean; actions: string[] }) =>
        s.resourcePolicy && s.where.endsWith('(AWS::KMS::Key)') && s.actions.length === 1 && s.actions[0] === 'kms:*';
      const wild = everyStatement(b).filter(
        (s) => s.effect === 'Allow' && !keyPolicyRoot(s) && s.actions.some((a) => a === '*' || a.endsWith(':*')),
      );
      expect(wild).toEqual([]);
      expect(everyStatement(b).filter(keyPolicyRoot).length).toBeLessThanOrEqual(1);
      for (const key of Object.values(b.templates.monitoring.findResources('AWS::KMS::Key'))) {
        for (const st of key.Properties.KeyPolicy.Statement as { Action: string | string[]; Principal?: { AWS?: unknown } }[]) {
          if ([st.Action].flat().includes('kms:*')) expect(JSON.stringify(st.Principal?.AWS)).toMatch(/:root"/);
        }
      }
      // Deny statements with wildcards must be conditional (the TLS-only guards), never a blanket deny.
      for (const s of everyStatement(b).filter((x) => x.effect === 'Deny'))
        expect({ where: s.where, hasCondition: s.hasCondition }).toEqual({ where: s.where, hasCondition: true });
    }),
  );

  it(
    'grants Resource "*" only where AWS allows nothing narrower',
    each((b) => {
      const offending = everyStatement(b)
        .filter((s) => s.effect === 'Allow' && !s.resourcePolicy && s.resources.includes('*'))
        .flatMap((s) =>
          s.actions
            .filter((a) => !(a in STAR_RESOURCE_ALLOWED) && !(STAR_RESOURCE_WITH_CONDITION.has(a) && s.hasCondition))
            .map((a) => `${b.backend} ${s.where}: ${a}`),
        );
      expect(offending).toEqual([]);
    }),
  );

  it(
    'keeps every bucket TLS-only, encrypted and closed to the public',
    each((b) => {
      for (const [name, t] of Object.entries(b.templates)) {
        const buckets = t.findResources('AWS::S3::Bucket');
        for (const [id, bucket] of Object.entries(buckets)) {
          expect({ bucket: `${name}/${id}`, block: bucket.Properties.PublicAccessBlockConfiguration }).toEqual({
            bucket: `${name}/${id}`,
            block: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          });
          expect(bucket.Properties.BucketEncryption).toBeDefined();
          t.hasResourceProperties('AWS::S3::BucketPolicy', {
            Bucket: { Ref: id },
            PolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
              ]),
            },
          });
        }
      }
    }),
  );
});

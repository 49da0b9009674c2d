/**
 * ModelPackage's upload: aws-s3-deployment would let its function write and delete anywhere in the data
 * bucket (datasets, stored prediction inputs, the analytics store). Its role may only read its own
 * archives and list and write under each package's own `models/` key prefix, never delete, and has no
 * managed policy; two packages in a stack share the one upload function and so the one role.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PREFIX } from '../../contract/bucket';
import { readManifestFile } from '../../contract/model-files';
import { ModelPackage } from '../../lib';
import { statementsOfRole } from '../infra/synth';
import { logicalIdIn, ROOT } from '../support/construct-stack';

const MODEL_DIR = join(ROOT, 'models', 'breast-cancer');
const outdir = mkdtempSync(join(tmpdir(), 'mlship-model-package-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function twoPackages(encryption = s3.BucketEncryption.S3_MANAGED) {
  // GIVEN a stack with a data bucket, cdk-nag on
  const app = new App({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Test');
  const bucket = new s3.Bucket(stack, 'Data', { enforceSSL: true, serverAccessLogsPrefix: 'access/', encryption });
  const manifest = readManifestFile(join(MODEL_DIR, 'model.json'));
  // WHEN the model and a challenger version are packaged into it
  const buildDir = join(outdir, 'build');
  const packages = [manifest, { ...manifest, version: `${manifest.version}-challenger` }].map(
    (m, i) => new ModelPackage(stack, `Package${i}`, { bucket, manifest: m, modelDir: MODEL_DIR, buildDir }),
  );
  app.synth();
  return { bucket, packages, template: Template.fromStack(stack) };
}

test("the upload role reads its archives and writes only under each package's key prefix, never deletes", () => {
  const { bucket, packages, template } = twoPackages();
  // THEN one upload function runs both uploads, with the one role both packages granted to
  template.resourceCountIs('Custom::CDKBucketDeployment', 2);
  const [a, b] = packages as [ModelPackage, ModelPackage];
  expect(a.uploadRole).toBe(b.uploadRole);
  const roleId = logicalIdIn(a.uploadRole);
  const functionRoles = Object.values(template.findResources('AWS::Lambda::Function'))
    .map((f) => (f.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0])
    .filter((r) => r !== undefined);
  expect(functionRoles).toEqual([roleId]);
  const role = template.findResources('AWS::IAM::Role')[roleId];
  expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
  expect(role?.Properties.Policies).toBeUndefined();

  // AND its S3 statements name nothing of the data bucket outside the packages' prefixes
  const bucketArn = `<${logicalIdIn(bucket).replace(/[0-9A-F]{8}$/, '')}.Arn>`;
  const prefixes = packages.map((p) => p.key.slice(0, -'model.tar.gz'.length));
  for (const prefix of prefixes) expect(prefix.startsWith(PREFIX.models)).toBe(true);
  const s3Statements = statementsOfRole(template, roleId).filter((s) => s.actions.some((x) => x.startsWith('s3:')));
  const assetObject = /^arn:<AWS::Partition>:s3:::cdk-\w+-assets-<AWS::AccountId>-<AWS::Region>\/[0-9a-f]{64}\.zip$/;
  for (const s of s3Statements) {
    expect(s.actions.filter((x) => /Delete|\*/.test(x))).toEqual([]);
    for (const r of s.resources) {
      if (!r.startsWith(bucketArn)) {
        // The CDK asset bucket: exactly one archive object per statement, read only.
        expect({ r, actions: s.actions }).toEqual({ r: expect.stringMatching(assetObject), actions: ['s3:GetObject'] });
      } else if (r === bucketArn) {
        expect(s.actions).toEqual(['s3:ListBucket']);
        expect(prefixes.map((p) => `${p}*`)).toContain(
          (s.condition as { StringLike: { 's3:prefix': string[] } }).StringLike['s3:prefix'][0],
        );
      } else {
        expect(prefixes.map((p) => `${bucketArn}/${p}*`)).toContain(r);
        expect(s.actions).toEqual(['s3:PutObject', 's3:AbortMultipartUpload']);
      }
    }
  }
  // Each package: its archive read (one statement for the same archive), its prefix listed and written.
  expect(s3Statements.filter((s) => s.actions[0] === 's3:GetObject')).toHaveLength(1);
  for (const prefix of prefixes) {
    expect(s3Statements.filter((s) => s.resources[0] === `${bucketArn}/${prefix}*`)).toHaveLength(1);
    expect(s3Statements.filter((s) => JSON.stringify(s.condition ?? {}).includes(`"${prefix}*"`))).toHaveLength(1);
  }
});

test('the upload waits for its role policy, and the stack holds no unacknowledged finding', () => {
  const { packages, template } = twoPackages();
  const policyIds = Object.keys(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalIdIn(packages[0]?.uploadRole as never) }] } }),
  );
  expect(policyIds).toHaveLength(1);
  for (const upload of Object.values(template.findResources('Custom::CDKBucketDeployment')))
    expect(upload.DependsOn).toEqual(expect.arrayContaining(policyIds));
  const report = join(outdir, 'validation-report.json');
  const violations = existsSync(report)
    ? (JSON.parse(readFileSync(report, 'utf8')).pluginReports as { violations: unknown[] }[]).flatMap((p) => p.violations)
    : [];
  expect(violations).toEqual([]);
});

test('a bucket encrypted with a KMS key of its own: the role may use that key, and only it', () => {
  const { packages, template } = twoPackages(s3.BucketEncryption.KMS);
  const kms = statementsOfRole(template, logicalIdIn(packages[0]?.uploadRole as never)).filter((s) =>
    s.actions.some((a) => a.startsWith('kms:')),
  );
  expect(kms).toHaveLength(1);
  expect(kms[0]?.actions).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
  expect(kms[0]?.resources).toEqual([expect.stringMatching(/^<DataKey[0-9A-F]*\.Arn>$/)]);
});

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../../lib/config';
import { DataStack } from '../../lib/data-stack';
import { deploymentContext } from '../../lib/deployment-context';
import { documentedFor, documentedRetained, retainedIn } from './retained-resources';
import { ROOT, type SynthResult } from './synth';

/** The data stack alone with `removalPolicy: destroy`, the setting for throw-away dev deployments. */
export function describeDataStackDestroy(): void {
  describe('DataStack with removalPolicy destroy (dev deployments)', () => {
    it('deletes the bucket, table and queues with the stack, and stays cdk-nag clean', () => {
      // GIVEN
      const outdir = mkdtempSync(join(tmpdir(), 'mlship-data-'));
      const app = new App({ outdir });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      // WHEN
      const config = parseConfig({ removalPolicy: 'destroy' });
      const stack = new DataStack(app, 'Data', { config, deployment: deploymentContext(config, ROOT) });
      app.synth();
      // THEN
      const t = Template.fromStack(stack);
      for (const type of ['AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::SQS::Queue']) {
        for (const r of Object.values(t.findResources(type)))
          expect({ type, policy: r.DeletionPolicy }).toEqual({ type, policy: 'Delete' });
      }
      // Deletion protection would make DynamoDB refuse the stack deletion.
      for (const r of Object.values(t.findResources('AWS::DynamoDB::Table'))) expect(r.Properties.DeletionProtectionEnabled).toBe(false);
      // Versioned objects are emptied by the auto-delete custom resource, or CloudFormation could not delete the bucket.
      t.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
      const report = join(outdir, 'validation-report.json');
      const violations = existsSync(report)
        ? (JSON.parse(readFileSync(report, 'utf8')).pluginReports as { violations: unknown[] }[]).flatMap((p) => p.violations)
        : [];
      expect(violations).toEqual([]);
    });
  });
}

/**
 * The whole app with `removalPolicy: destroy`, every optional stack on: `cdk destroy` keeps only what
 * docs/deploying.md says no setting deletes (API Gateway's account setting and role, shared by the region).
 */
export function describeAppDestroy(synth: () => SynthResult): void {
  describe('the app with removalPolicy destroy', () => {
    it('deletes every log group with its stack, and keeps only the region-wide API Gateway setting', () => {
      // GIVEN the app on fargate (the most log groups) with training and analytics, destroy on
      const r = synth();
      expect(r.synthError).toBeUndefined();
      expect(r.violations).toEqual([]);
      // THEN what the templates keep is the region's API Gateway account and its role, nothing else
      const templates = { ...r.templates, ...(r.training ? { training: Template.fromStack(r.training) } : {}) };
      expect(Object.keys(templates)).toEqual(expect.arrayContaining(['analytics', 'training']));
      expect(retainedIn(templates as unknown as Record<string, Template>)).toEqual([
        'Api InferenceApiAccount AWS::ApiGateway::Account',
        'Api InferenceApiCloudWatchRole AWS::IAM::Role',
      ]);
      const logGroups = Object.values(templates).flatMap((t) => Object.values(t.findResources('AWS::Logs::LogGroup')));
      // (as many as the default config keeps: every one of them now goes with its stack)
      const keptByDefault = documentedFor(documentedRetained(), 'fargate', ['training'], Object.keys(templates));
      expect(logGroups).toHaveLength(keptByDefault.filter((row) => row.endsWith(' AWS::Logs::LogGroup')).length);
      for (const g of logGroups) expect(g.DeletionPolicy).toBe('Delete');
    });
  });
}

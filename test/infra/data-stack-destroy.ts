import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../../lib/config';
import { DataStack } from '../../lib/data-stack';
import { deploymentContext } from '../../lib/deployment-context';
import { ROOT } from './synth';

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

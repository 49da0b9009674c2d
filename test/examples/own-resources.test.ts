/**
 * The example app under examples/own-resources composes mlship's constructs with its own VPC, bucket,
 * table and queue (the last two adopted by PredictionLog, not declared again): it synthesizes with the AwsSolutions checks as a validation plugin (as the main app
 * does) and with aws-cdk-lib's CloudFormation validation, with zero unacknowledged findings of either,
 * and its function reaches the resources it was bound to.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ENV } from '../../contract/env';
import { OwnResourcesStack } from '../../examples/own-resources/app';

const ROOT = resolve(__dirname, '..', '..');

interface Report {
  pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
}

describe('examples/own-resources', () => {
  let stack: OwnResourcesStack;
  let template: Template;
  let violations: { plugin: string; rule: string; paths: string[] }[];
  let synthError: Error | undefined;

  beforeAll(() => {
    // GIVEN an app with cdk-nag's AwsSolutions pack as a validation plugin
    const outdir = mkdtempSync(join(tmpdir(), 'mlship-example-'));
    const app = new App({ outdir });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // WHEN the example stack is synthesized
    stack = new OwnResourcesStack(app, 'OwnResources', { rootDir: ROOT, buildDir: join(outdir, 'build') });
    try {
      app.synth();
    } catch (e) {
      synthError = e as Error;
    }
    const file = join(outdir, 'validation-report.json');
    const report: Report = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { pluginReports: [] };
    // Every plugin's findings count: cdk-nag's and the CloudFormation validation report's alike.
    violations = report.pluginReports.flatMap((p) =>
      p.violations.map((v) => ({ plugin: p.pluginName, rule: v.ruleName, paths: v.violatingConstructs.map((c) => c.constructPath) })),
    );
    if (!synthError) template = Template.fromStack(stack);
  }, 240_000);

  it('synthesizes with zero unacknowledged cdk-nag or CloudFormation findings', () => {
    // THEN
    expect(synthError?.message).toBeUndefined();
    expect(violations).toEqual([]);
  });

  it("runs the service in the app's own VPC, reached only from the predict function's security group", () => {
    const vpcId = Stack.of(stack).resolve(stack.service.vpc.vpcId);
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: vpcId, GroupDescription: Match.stringLikeRegexp('model clients') });
    const fn = template.toJSON().Resources[Stack.of(stack).getLogicalId(stack.predict.function.node.defaultChild as never)].Properties;
    expect(fn.VpcConfig.SecurityGroupIds).toEqual([Stack.of(stack).resolve(stack.service.clientSecurityGroup.securityGroupId)]);
  });

  it("binds the predict function to the app's own table: the variable and the exact grant together", () => {
    const tableName = Stack.of(stack).resolve(stack.table.tableName);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.PREDICTION_TABLE]: tableName }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: Stack.of(stack).resolve(stack.table.tableArn) },
        ]),
      },
    });
  });

  it("adopts the app's own table and queue: it declares neither, and the replay reads that queue", () => {
    // THEN no table or queue is made here: PredictionLog took them as existingTableObj and existingQueueObj
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    expect(stack.predictionLog.poisonQueue).toBeUndefined();
    const queueArn = Stack.of(stack).resolve(stack.predictionLog.logDlq.queueArn);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: queueArn,
      FunctionName: { Ref: Stack.of(stack).getLogicalId(stack.predictionLog.replay.function.node.defaultChild as never) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.LOG_DLQ_URL]: Stack.of(stack).resolve(stack.predictionLog.logDlq.queueUrl) }) },
    });
  });
});

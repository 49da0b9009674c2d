/**
 * HandlerFunction's bindings: each sets the environment variable and grants its access together, the
 * function must end up with exactly the variables it reads (or the synth fails naming the difference),
 * and a Fargate model's grantInvoke is a Grant without a statement.
 */
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ENV } from '../../contract/env';
import { LOG_TABLE } from '../../contract/prediction-log';
import { FargateModelService, HandlerFunction, PredictionLogAccess } from '../../lib';
import { constructStack, ROOT } from '../support/construct-stack';

function fixture() {
  const { app, stack, deployment } = constructStack();
  const table = new dynamodb.Table(stack, 'Log', { partitionKey: { name: LOG_TABLE.partitionKey, type: dynamodb.AttributeType.STRING } });
  return { app, stack, table, deployment };
}

test('bindPredictionLog sets the table variable and grants exactly the bound access, one statement each', () => {
  // GIVEN
  const { stack, table, deployment } = fixture();
  const feedback = new HandlerFunction(stack, 'Feedback', { name: 'feedback', deployment, environment: { [ENV.OPERATOR_KEY_IDS]: 'k1' } });
  // WHEN
  const grant = feedback.bindPredictionLog(table, PredictionLogAccess.LABEL);
  // THEN
  expect(grant.success).toBe(true);
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: {
        [ENV.PREDICTION_TABLE]: stack.resolve(table.tableName),
        [ENV.OPERATOR_KEY_IDS]: 'k1',
        [ENV.MODEL_MANIFEST_PATH]: 'model.json',
        NODE_OPTIONS: '--enable-source-maps',
      },
    },
  });
  const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
  expect(statements).toContainEqual({
    Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    Effect: 'Allow',
    Resource: stack.resolve(table.tableArn),
  });
});

test('a function missing a variable it reads fails the synth naming it', () => {
  // GIVEN a query function whose table was never bound
  const { app, stack, deployment } = fixture();
  new HandlerFunction(stack, 'Query', { name: 'query', deployment, environment: { [ENV.OPERATOR_KEY_IDS]: 'k1' } });
  // WHEN / THEN
  expect(() => app.synth()).toThrow(/Function "query" \(fargate\) must get exactly .*; missing MLSHIP_PREDICTION_TABLE/);
});

test('a variable the function does not read fails the synth naming it', () => {
  const { app, stack, table, deployment } = fixture();
  const replay = new HandlerFunction(stack, 'Replay', { name: 'replay', deployment });
  replay.bindPredictionLog(table, PredictionLogAccess.WRITE);
  replay.setVariable(ENV.OPERATOR_KEY_IDS, 'k1');
  expect(() => app.synth()).toThrow(/not read by it: MLSHIP_OPERATOR_KEY_IDS/);
});

test('a Fargate model is reached through its security group: grantInvoke returns a Grant with no statement', () => {
  // GIVEN a Fargate model service and a caller
  const { stack } = fixture();
  const bucket = new s3.Bucket(stack, 'Data');
  const image = new ecrAssets.DockerImageAsset(stack, 'Image', { directory: join(ROOT, 'container'), exclude: ['**', '!Dockerfile'] });
  const service = new FargateModelService(stack, 'Model', {
    image,
    bucket,
    model: { name: 'm', version: '1' },
    modelKey: 'models/m/1/model.tar.gz',
  });
  const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  // WHEN
  const grant = service.grantInvoke(caller);
  // THEN the grant holds no statement and the caller has no policy; access is the client security group
  expect(grant.principalStatements).toEqual([]);
  expect(service.clientSecurityGroups).toEqual([service.network.clientSecurityGroup]);
  const t = Template.fromStack(stack);
  for (const p of Object.values(t.findResources('AWS::IAM::Policy')))
    expect(JSON.stringify(p.Properties.Roles)).not.toContain(stack.getLogicalId(caller.node.defaultChild as iam.CfnRole));
});

/**
 * Assertions every backend's app must pass. Each backend's test file synthesizes its app once and runs
 * these plus its own; jest runs the files in parallel.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnResource, Fn, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { ENV, type FunctionName, functionEnv } from '../../contract/env';
import { ERROR_STATUS } from '../../contract/errors';
import { type Backend, LIMITS } from '../../contract/limits';
import { MANIFEST_FILE } from '../../contract/manifest';
import { createTableInput } from '../../contract/prediction-log';
import { ROUTES } from '../../contract/routes';
import { GATEWAY_ERRORS } from '../../lib/api/gateway-responses';
import { defined } from '../support/defined';
import { bare, type SynthResult, snapshotView, statementsOfRole } from './synth';

export function logicalIdOf(c: IConstruct): string {
  return Stack.of(c).getLogicalId(c.node.defaultChild as CfnResource);
}

/** Statements every function role starts with: its own log group and X-Ray. */
export function baseStatements(logGroupId: string) {
  return [
    { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`<${bare(logGroupId)}.Arn>`] },
    { actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] },
  ];
}

const TABLE_ARN = '<import:PredictionLog.Arn>';
const BUCKET = '<import:Mlship-Data-DataBucketArn>';

export function describeBackend(backend: Backend, synth: () => SynthResult): void {
  let r: SynthResult;
  beforeAll(() => {
    r = synth();
  });

  describe(`${backend}: validation`, () => {
    it('synthesizes with zero unacknowledged cdk-nag or CloudFormation findings', () => {
      expect(r.synthError?.message).toBeUndefined();
      expect(r.violations).toEqual([]);
    });

    it('gives every acknowledgement a written reason', () => {
      // (The report lists only acknowledgements of the validation plugins' own findings; there may be none.)
      for (const a of r.acknowledged)
        expect({ rule: a.rule, reason: (a.reason ?? '').length > 20 }).toEqual({ rule: a.rule, reason: true });
    });
  });

  describe(`${backend}: snapshots`, () => {
    it.each(['data', 'serving', 'api', 'monitoring'] as const)('%s stack', (name) => {
      expect(snapshotView(r.templates[name])).toMatchSnapshot();
    });
  });

  describe(`${backend}: functions`, () => {
    const fns = (): Record<FunctionName, { stack: 'data' | 'api' | 'analytics'; construct: IConstruct }> => ({
      predict: { stack: 'api', construct: r.api.functions.predict.function },
      query: { stack: 'api', construct: r.api.functions.query.function },
      feedback: { stack: 'api', construct: r.api.functions.feedback.function },
      meta: { stack: 'api', construct: r.api.functions.meta.function },
      replay: { stack: 'data', construct: r.data.replay.function },
      'analytics-writer': { stack: 'analytics', construct: defined(r.analytics, 'the analytics stack').writer.function },
      'analytics-compactor': { stack: 'analytics', construct: defined(r.analytics, 'the analytics stack').compactor.function },
    });

    it.each(['predict', 'query', 'feedback', 'meta', 'replay', 'analytics-writer', 'analytics-compactor'] as FunctionName[])(
      '%s gets exactly functionEnv(fn, backend)',
      (name) => {
        const { stack, construct } = fns()[name];
        const fn = defined(r.templates[stack], `the ${stack} template`).toJSON().Resources[logicalIdOf(construct)];
        const vars = Object.keys(fn.Properties.Environment.Variables).filter((k) => k !== 'NODE_OPTIONS');
        expect(vars.sort()).toEqual([...functionEnv(name, backend)].sort());
        if (vars.includes(ENV.MODEL_MANIFEST_PATH))
          expect(fn.Properties.Environment.Variables[ENV.MODEL_MANIFEST_PATH]).toBe(MANIFEST_FILE);
        if (vars.includes(ENV.BACKEND)) expect(fn.Properties.Environment.Variables[ENV.BACKEND]).toBe(backend);
      },
    );

    it('runs every function on Node 22 arm64 with X-Ray and a log group with the configured retention', () => {
      for (const { stack, construct } of Object.values(fns())) {
        const fn = defined(r.templates[stack], `the ${stack} template`).toJSON().Resources[logicalIdOf(construct)];
        expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
        const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
        expect(defined(r.templates[stack], `the ${stack} template`).toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(
          r.config.logRetentionDays,
        );
      }
    });

    it('grants query, feedback, meta and replay exactly what they use', () => {
      const arn = (service: string, resource: string) => `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;
      const results = '<import:Mlship-Analytics-QueryResultsArn>';
      const queryAnalyticsStatements = [
        {
          actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
          resources: [arn('athena', 'workgroup/Mlship-analytics')],
        },
        {
          actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
          resources: [
            arn('glue', 'catalog'),
            arn('glue', 'database/mlship_analytics'),
            arn('glue', 'table/mlship_analytics/predictions'),
            arn('glue', 'table/mlship_analytics/feedback'),
          ],
        },
        { actions: ['s3:GetObject'], resources: [`${BUCKET}/analytics/*`] },
        { actions: ['s3:ListBucket'], resources: [BUCKET], condition: { StringLike: { 's3:prefix': ['analytics/*'] } } },
        { actions: ['s3:GetBucketLocation'], resources: [BUCKET, results] },
        { actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'], resources: [`${results}/results/*`] },
        { actions: ['s3:ListBucket'], resources: [results], condition: { StringLike: { 's3:prefix': ['results/*'] } } },
      ];
      const { query, feedback, meta } = r.api.functions;
      const api = r.templates.api;
      expect(statementsOfRole(api, logicalIdOf(query.role))).toEqual([
        ...baseStatements(logicalIdOf(query.logGroup)),
        { actions: ['dynamodb:GetItem'], resources: [TABLE_ARN] },
        // Operators read the model's index; a client key its own partition of the caller index.
        { actions: ['dynamodb:Query'], resources: [`${TABLE_ARN}/index/byModel`, `${TABLE_ARN}/index/byCaller`] },
        // Summary windows over 24 h run in the Athena workgroup: AnalyticsStack.grantQuery (test/infra/analytics-stack.test.ts).
        ...queryAnalyticsStatements,
      ]);
      expect(statementsOfRole(api, logicalIdOf(feedback.role))).toEqual([
        ...baseStatements(logicalIdOf(feedback.logGroup)),
        { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [TABLE_ARN] },
      ]);
      expect(statementsOfRole(api, logicalIdOf(meta.role))).toEqual(baseStatements(logicalIdOf(meta.logGroup)));
      expect(statementsOfRole(r.templates.data, logicalIdOf(r.data.replay.role))).toEqual([
        ...baseStatements(logicalIdOf(r.data.replay.logGroup)),
        { actions: ['dynamodb:PutItem'], resources: ['<PredictionLog.Arn>'] },
        { actions: ['s3:PutObject'], resources: ['<DataBucket.Arn>/parked/log-records/*'] },
        {
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
          resources: ['<LogDeadLetters.Arn>'],
        },
      ]);
    });

    it('grants predict the log table, its dead-letter queue and two bucket prefixes', () => {
      const { predict } = r.api.functions;
      const statements = statementsOfRole(r.templates.api, logicalIdOf(predict.role));
      expect(statements).toEqual(
        expect.arrayContaining([
          { actions: ['dynamodb:PutItem'], resources: [TABLE_ARN] },
          {
            actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
            resources: [TABLE_ARN],
            condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['idem#*'] } },
          },
          { actions: ['sqs:SendMessage'], resources: ['<import:LogDeadLetters.Arn>'] },
          { actions: ['s3:PutObject'], resources: [`${BUCKET}/predictions/*`] },
          { actions: ['s3:GetObject'], resources: [`${BUCKET}/datasets/*`, `${BUCKET}/predictions/*`] },
        ]),
      );
    });
  });

  describe(`${backend}: data`, () => {
    it('builds the prediction log from the same key design as createTableInput()', () => {
      const want = createTableInput('ignored');
      const table = r.templates.data.toJSON().Resources[logicalIdOf(r.data.table)].Properties;
      expect(table.KeySchema).toEqual(want.KeySchema);
      expect([...table.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName))).toEqual(
        [...want.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
      );
      expect(table.GlobalSecondaryIndexes).toEqual(want.GlobalSecondaryIndexes);
      expect(table).toMatchObject({
        BillingMode: want.BillingMode,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        // Retained through a stack deletion, and DynamoDB refuses a DeleteTable call until this is turned off.
        DeletionProtectionEnabled: true,
      });
      r.templates.data.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    it('receives the access logs through the log bucket policy, with ACLs off (no legacy AccessControl)', () => {
      const data = r.templates.data.toJSON().Resources;
      const logBucket = logicalIdOf(r.data.accessLogBucket);
      expect(data[logBucket].Properties.AccessControl).toBeUndefined();
      expect(data[logBucket].Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      const policy = Object.values(
        data as Record<string, { Type: string; Properties: { Bucket: unknown; PolicyDocument: { Statement: Record<string, unknown>[] } } }>,
      ).find((x) => x.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(x.Properties.Bucket) === JSON.stringify({ Ref: logBucket }));
      expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Allow', Action: 's3:PutObject', Principal: { Service: 'logging.s3.amazonaws.com' } }),
      );
    });

    it('encrypts, versions, logs and closes the data bucket, TLS only', () => {
      const data = r.templates.data;
      data.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          VersioningConfiguration: { Status: 'Enabled' },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'data-bucket/' }),
          LifecycleConfiguration: {
            Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: Match.objectLike({ NoncurrentDays: 30 }) })]),
          },
        }),
      });
      const policies = Object.values(data.findResources('AWS::S3::BucketPolicy'));
      expect(policies).toHaveLength(2);
      for (const p of policies) {
        expect(p.Properties.PolicyDocument.Statement).toEqual(
          expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        );
      }
    });

    it('replays dead letters with partial batch failures, poison messages going to their own queue', () => {
      const data = r.templates.data;
      data.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalIdOf(r.data.replay.function) },
        EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(r.data.logDlq), 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      data.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(r.data.poisonQueue), 'Arn'] },
          maxReceiveCount: LIMITS.logDlqMaxReceives,
        },
      });
      data.resourcePropertiesCountIs('AWS::SQS::Queue', { SqsManagedSseEnabled: true }, 2);
      data.resourceCountIs('AWS::SQS::QueuePolicy', 2);
    });
  });

  describe(`${backend}: model package`, () => {
    it('uploads model.tar.gz to models/<name>/<version>/<digest>/ without pruning, and keeps it on delete', () => {
      const { name, version } = r.manifest;
      // The digest of the archive itself: retraining without a version bump gives a new key, never an overwrite.
      const staged = join(r.app.outdir, 'build', 'model-package', name, version, 'model.tar.gz');
      const digest = createHash('sha256').update(readFileSync(staged)).digest('hex').slice(0, 16);
      r.templates.serving.hasResourceProperties('Custom::CDKBucketDeployment', {
        DestinationBucketKeyPrefix: `models/${name}/${version}/${digest}/`,
        Prune: false,
        RetainOnDelete: true,
        Extract: true,
      });
      expect(r.serving.modelPackage.key).toBe(`models/${name}/${version}/${digest}/model.tar.gz`);
    });
  });

  describe(`${backend}: service-created logs`, () => {
    it('pre-creates, with the retention, every log group a service would otherwise create without an expiry', () => {
      const days = r.config.logRetentionDays;
      // Every function, the upload function of the model package included, logs to a group of the template...
      for (const [stack, t] of Object.entries(r.templates)) {
        for (const [id, fn] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
          expect({ stack, id, logGroup: fn.Properties.LoggingConfig?.LogGroup }).toEqual({
            stack,
            id,
            logGroup: { Ref: expect.any(String) },
          });
        }
        // ...and every group of every template expires.
        for (const [id, group] of Object.entries(t.findResources('AWS::Logs::LogGroup'))) {
          expect({ stack, id, days: group.Properties.RetentionInDays }).toEqual({ stack, id, days });
        }
      }
      // API Gateway's execution log, before the stage can write to it.
      const api = r.api.inferenceApi;
      const executionLogs = logicalIdOf(api.executionLogs);
      r.templates.api.hasResource('AWS::Logs::LogGroup', {
        Properties: {
          LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: logicalIdOf(api.api) }, `/${r.config.stageName}`]] },
          RetentionInDays: days,
        },
      });
      expect(r.templates.api.toJSON().Resources[logicalIdOf(api.api.deploymentStage)].DependsOn).toContain(executionLogs);
      // SageMaker's endpoint log, before the endpoint exists.
      if (r.serving.sagemaker) {
        const endpoint = r.serving.sagemaker;
        r.templates.serving.hasResourceProperties('AWS::Logs::LogGroup', {
          LogGroupName: `/aws/sagemaker/Endpoints/${endpoint.endpointName}`,
          RetentionInDays: days,
        });
        expect(r.templates.serving.toJSON().Resources[r.serving.getLogicalId(endpoint.endpoint)].DependsOn).toContain(
          logicalIdOf(endpoint.endpointLogs),
        );
      }
    });
  });

  describe(`${backend}: API`, () => {
    it('has exactly the methods of the route table, with API keys where the table says', () => {
      const api = r.templates.api.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
      const pathOf = (id: string | undefined): string => {
        if (!id) return '';
        const res = api[id].Properties;
        const parent = (res.ParentId as { Ref?: string }).Ref;
        return `${pathOf(parent)}/${res.PathPart}`;
      };
      const methods = Object.values(api)
        .filter((x) => x.Type === 'AWS::ApiGateway::Method')
        .map((m) => ({
          method: m.Properties.HttpMethod,
          path: pathOf((m.Properties.ResourceId as { Ref?: string }).Ref) || '/',
          apiKey: m.Properties.ApiKeyRequired === true,
          operation: m.Properties.OperationName,
        }));
      const byKey = (a: { path: string; method: unknown }, b: { path: string; method: unknown }) =>
        `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`);
      expect(methods.sort(byKey)).toEqual(
        ROUTES.map((x) => ({ method: x.method, path: x.path, apiKey: x.apiKey, operation: x.id })).sort(byKey),
      );
    });

    it('sends each route to the function the route table names', () => {
      const api = r.templates.api;
      for (const route of ROUTES) {
        const fnId = logicalIdOf(r.api.functions[route.handler].function);
        api.hasResourceProperties('AWS::ApiGateway::Method', {
          OperationName: route.id,
          Integration: Match.objectLike({
            Type: 'AWS_PROXY',
            Uri: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [fnId, 'Arn'] }])]) }),
          }),
        });
      }
    });

    it('throttles and caps the usage plan and logs the stage', () => {
      const c = r.config;
      r.templates.api.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        Throttle: { RateLimit: c.apiThrottleRateLimit, BurstLimit: c.apiThrottleBurstLimit },
        Quota: { Limit: c.apiQuotaPerDay, Period: 'DAY' },
      });
      // The client plan's key and the operator plan's key (config `operatorKeyNames`), each in its own plan.
      r.templates.api.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1 + c.operatorKeyNames.length);
      r.templates.api.hasResourceProperties('AWS::ApiGateway::UsagePlan', { UsagePlanName: c.operatorUsagePlanName });
      // The query and feedback functions know the operator keys by id.
      for (const fn of [r.api.functions.query, r.api.functions.feedback]) {
        r.templates.api.hasResourceProperties('AWS::Lambda::Function', {
          Environment: {
            Variables: Match.objectLike({
              MLSHIP_OPERATOR_KEY_IDS: Stack.of(fn.role).resolve(
                Fn.join(
                  ',',
                  r.api.operatorKeys.map((k) => k.keyId),
                ),
              ),
            }),
          },
          Role: { 'Fn::GetAtt': [logicalIdOf(fn.role), 'Arn'] },
        });
      }
      r.templates.api.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: c.stageName,
        TracingEnabled: true,
        AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
        MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: false, HttpMethod: '*', ResourcePath: '/*' })],
      });
    });

    it("answers API Gateway's own errors with the error body and codes of the contract", () => {
      for (const spec of GATEWAY_ERRORS) {
        r.templates.api.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
          ResponseType: spec.type.responseType,
          ...(spec.keepStatus ? {} : { StatusCode: String(ERROR_STATUS[spec.code]) }),
          ResponseTemplates: { 'application/json': JSON.stringify({ error: { code: spec.code, message: spec.message } }) },
        });
      }
      const types = GATEWAY_ERRORS.map((g) => g.type.responseType);
      for (const t of ['INVALID_API_KEY', 'THROTTLED', 'QUOTA_EXCEEDED', 'REQUEST_TOO_LARGE', 'DEFAULT_5XX']) expect(types).toContain(t);
    });

    it('outputs what the CLI and the README need', () => {
      const outputs = Object.keys(r.templates.api.toJSON().Outputs);
      const model = backend === 'fargate' ? 'ModelUrl' : 'EndpointName';
      for (const o of ['ApiUrl', 'ApiKeyId', 'BucketName', 'TableName', 'DlqUrl', 'Backend', model]) expect(outputs).toContain(o);
      expect(r.templates.api.toJSON().Outputs.Backend.Value).toBe(backend);
    });
  });

  describe(`${backend}: batch inference`, () => {
    it('starts the state machine when an object lands under batch/input/ of the data bucket', () => {
      const bucket = Object.values(r.templates.data.findResources('AWS::S3::Bucket')).find((b) => b.Properties.NotificationConfiguration);
      expect(bucket?.Properties.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
      r.templates.serving.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: Match.objectLike({ object: { key: [{ prefix: 'batch/input/' }] } }),
        }),
        Targets: [Match.objectLike({ Arn: { Ref: logicalIdOf(r.serving.batch.stateMachine) } })],
      });
    });

    it(`runs ${backend === 'fargate' ? 'an ECS task of the model image' : 'a SageMaker Batch Transform job'}, logging all events with tracing on`, () => {
      const definition = JSON.stringify(r.templates.serving.findResources('AWS::StepFunctions::StateMachine'));
      expect(definition).toContain(backend === 'fargate' ? ':states:::ecs:runTask.sync' : ':states:::sagemaker:createTransformJob.sync');
      r.templates.serving.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
        TracingConfiguration: { Enabled: true },
      });
    });
  });
}

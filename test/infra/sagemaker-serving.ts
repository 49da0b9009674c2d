import { Match } from 'aws-cdk-lib/assertions';
import { defined } from '../support/defined';
import { logicalIdOf } from './backend-suite';
import { render, type SynthResult, statementsOfRole } from './synth';

/** Assertions for the sagemaker backend's serving stack and the predict function's access to it. */
export function describeSageMakerServing(synth: () => SynthResult): void {
  let r: SynthResult;
  beforeAll(() => {
    r = synth();
  });

  describe('sagemaker: serving', () => {
    it('serves the image with ModelDataUrl at the model package in the bucket', () => {
      const model = r.templates.serving.findResources('AWS::SageMaker::Model');
      const [props] = Object.values(model).map((m) => m.Properties);
      const { name, version } = r.manifest;
      expect(render(props.PrimaryContainer.ModelDataUrl)).toMatch(new RegExp(`/models/${name}/${version}/[0-9a-f]{16}/model\\.tar\\.gz$`));
      expect(render(props.PrimaryContainer.ModelDataUrl)).toMatch(/^s3:\/\//);
      expect(render(props.PrimaryContainer.Image)).toMatch(/\.dkr\.ecr\..*cdk-hnb659fds-container-assets-.*:[0-9a-f]{64}$/);
    });

    it('runs real-time instances of the configured type and count, scaled on invocations per instance', () => {
      const s = r.templates.serving;
      s.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
        ProductionVariants: [
          Match.objectLike({
            InstanceType: r.config.sagemakerInstanceType,
            InitialInstanceCount: r.config.sagemakerInitialInstanceCount,
            VariantName: 'AllTraffic',
          }),
        ],
      });
      s.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: r.config.sagemakerMinCapacity,
        MaxCapacity: r.config.sagemakerMaxCapacity,
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        ServiceNamespace: 'sagemaker',
      });
      // Rollouts keep the count the scaler reached.
      s.hasResourceProperties('AWS::SageMaker::Endpoint', { RetainAllVariantProperties: true });
      s.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        }),
      });
    });

    it('gives the execution role exactly image pull, the one model object, endpoint logs and metrics, and the batch prefixes', () => {
      const statements = statementsOfRole(r.templates.serving, logicalIdOf(defined(r.serving.sagemaker, 'the SageMaker serving').role));
      expect(statements.map((s) => ({ ...s, resources: s.resources.map((x) => x.replace(/<asset-hash>|[0-9a-f]{64}/g, 'H')) }))).toEqual([
        {
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
          resources: [
            'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/cdk-hnb659fds-container-assets-<AWS::AccountId>-<AWS::Region>',
          ],
        },
        { actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
        { actions: ['s3:GetObject'], resources: [`<import:Mlship-Data-DataBucketArn>/${r.serving.modelPackage.key}`] },
        {
          actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: ['arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*'],
        },
        {
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } },
        },
        // Batch Transform runs with the model's role: it reads batch/input/ and writes batch/output/.
        { actions: ['s3:GetObject'], resources: ['<import:Mlship-Data-DataBucketArn>/batch/input/*'] },
        { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: ['<import:Mlship-Data-DataBucketArn>/batch/output/*'] },
        {
          actions: ['s3:ListBucket'],
          resources: ['<import:Mlship-Data-DataBucketArn>'],
          condition: { StringLike: { 's3:prefix': ['batch/input/*'] } },
        },
        // Transform jobs log under /aws/sagemaker/TransformJobs (not the endpoint's group), with the model's role.
        {
          actions: ['logs:CreateLogGroup', 'logs:DescribeLogStreams'],
          resources: ['arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TransformJobs'],
        },
        {
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: ['arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TransformJobs:log-stream:batch-*'],
        },
        {
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TransformJobs' } },
        },
      ]);
    });

    it('lets predict invoke this endpoint only, from outside any VPC', () => {
      const { predict } = r.api.functions;
      const statements = statementsOfRole(r.templates.api, logicalIdOf(predict.role));
      expect(statements).toContainEqual({ actions: ['sagemaker:InvokeEndpoint'], resources: ['<import:SageMakerEndpoint>'] });
      expect(statements.flatMap((s) => s.actions)).not.toContain('ec2:CreateNetworkInterface');
      expect(r.templates.api.toJSON().Resources[logicalIdOf(predict.function)].Properties.VpcConfig).toBeUndefined();
    });
  });
}

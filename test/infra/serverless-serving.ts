import { Match } from 'aws-cdk-lib/assertions';
import { describeBackend, logicalIdOf } from './backend-suite';
import { SynthResult, statementsOfRole, synthBackend } from './synth';

let r: SynthResult;
const synth = () => (r ??= synthBackend('sagemaker-serverless'));

describeBackend('sagemaker-serverless', synth);

describe('sagemaker-serverless: serving', () => {
  beforeAll(synth);

  it('configures memory and max concurrency, and no instances or instance scaling', () => {
    const s = r.templates.serving;
    s.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [
        Match.objectLike({
          ServerlessConfig: { MemorySizeInMB: r.config.serverlessMemorySizeMb, MaxConcurrency: r.config.serverlessMaxConcurrency },
          InstanceType: Match.absent(),
          InitialInstanceCount: Match.absent(),
        }),
      ],
    });
    s.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    s.resourceCountIs('AWS::EC2::VPC', 0);
  });

  it('lets predict invoke this endpoint only', () => {
    const statements = statementsOfRole(r.templates.api, logicalIdOf(r.api.functions.predict.role));
    expect(statements).toContainEqual({ actions: ['sagemaker:InvokeEndpoint'], resources: ['<import:SageMakerEndpoint>'] });
  });
});

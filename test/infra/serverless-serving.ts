import { Match } from 'aws-cdk-lib/assertions';
import { logicalIdOf } from './backend-suite';
import { type SynthResult, statementsOfRole } from './synth';

/** Assertions for the sagemaker-serverless backend's serving stack and the predict function's access to it. */
export function describeServerlessServing(synth: () => SynthResult): void {
  let r: SynthResult;
  beforeAll(() => {
    r = synth();
  });

  describe('sagemaker-serverless: serving', () => {
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
}

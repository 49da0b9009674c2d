/**
 * The whole app synthesized for each backend, in one file on purpose: the first synthesis in a process
 * pays a fixed ~15 s for aws-cdk-lib's CloudFormation validator, later ones do not.
 */
import { describeBackend } from './backend-suite';
import { describeDataStackDestroy } from './data-stack-destroy';
import { describeFargateServing } from './fargate-serving';
import { describeSageMakerServing } from './sagemaker-serving';
import { describeServerlessServing } from './serverless-serving';
import { SynthResult, synthBackend } from './synth';

function once(synth: () => SynthResult): () => SynthResult {
  let result: SynthResult | undefined;
  return () => (result ??= synth());
}

const fargate = once(() => synthBackend('fargate'));
const sagemaker = once(() => synthBackend('sagemaker'));
const serverless = once(() => synthBackend('sagemaker-serverless'));

describeBackend('fargate', fargate);
describeFargateServing(fargate);
describeBackend('sagemaker', sagemaker);
describeSageMakerServing(sagemaker);
describeBackend('sagemaker-serverless', serverless);
describeServerlessServing(serverless);
describeDataStackDestroy();

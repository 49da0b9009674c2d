/**
 * The whole app synthesized for each backend, in one file on purpose: the first synthesis in a process
 * pays a fixed ~15 s for aws-cdk-lib's CloudFormation validator, later ones do not.
 */

import { parseConfig } from '../../lib/config';
import { describeBackend } from './backend-suite';
import { describeCfnLint } from './cfn-lint';
import { describeAppDestroy, describeDataStackDestroy } from './data-stack-destroy';
import { describeFargateServing } from './fargate-serving';
import { describeIdleCost } from './idle-cost';
import { describeMonitoring } from './monitoring-wiring';
import { describeRetainedResources } from './retained-resources';
import { describeSageMakerApiShapes } from './sagemaker-api-shapes';
import { describeSageMakerServing } from './sagemaker-serving';
import { describeServerlessServing } from './serverless-serving';
import { describeStackUpdates } from './stack-updates';
import { type SynthResult, synthBackend } from './synth';

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
describeMonitoring('fargate', fargate);
describeMonitoring('sagemaker', sagemaker);
describeMonitoring('sagemaker-serverless', serverless);
// Monitoring settings from the config reach the alarms, the schedule and the e-mail subscription.
describeMonitoring(
  'sagemaker-serverless',
  once(() =>
    synthBackend('sagemaker-serverless', {
      alarmEmail: 'ops@example.com',
      accuracyFloor: 0.9,
      driftPsiThreshold: 0.4,
      qualityThresholds: { driftedFeatureShare: 0.5, minimumSample: 200 },
      qualityScheduleMinutes: 30,
      qualityWindowMinutes: 120,
    }),
  ),
);
describeDataStackDestroy();
describeAppDestroy(
  once(() =>
    synthBackend('fargate', { removalPolicy: 'destroy', training: parseConfig({ training: { schedule: 'rate(7 days)' } }).training }),
  ),
);
describeCfnLint({ fargate, sagemaker, 'sagemaker-serverless': serverless });
describeSageMakerApiShapes({ sagemaker, 'sagemaker-serverless': serverless });
describeRetainedResources({ fargate, sagemaker, 'sagemaker-serverless': serverless });
describeIdleCost({ fargate, sagemaker, 'sagemaker-serverless': serverless });
// Another model on the same backend: what a model update changes in the deployed stacks.
const fargateDigits = once(() => synthBackend('fargate', { modelDir: 'models/digits' }));
describeStackUpdates({ fargate, sagemaker, 'sagemaker-serverless': serverless }, fargateDigits);

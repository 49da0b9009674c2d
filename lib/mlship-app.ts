/**
 * Builds mlship's stacks into an app: Data (stateful), Serving (the model), Api (with the web dashboard)
 * and Monitoring (dashboard, alarms, quality job), with the cdk-nag AwsSolutions checks as a validation
 * plugin. Used by bin/mlship.ts and by the tests, which hand it the built dashboard.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, RemovalPolicies, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BASELINE_FILE } from '../contract/baseline';
import type { ModelManifest } from '../contract/manifest';
import { readBaselineFile, readManifestFile } from '../contract/model-files';
import { planModel } from '../contract/model-plan';
import { readOnnx } from '../contract/onnx-graph';
import { AnalyticsStack } from './analytics-stack';
import { ApiStack } from './api-stack';
import { challengerOf, type MlshipConfig } from './config';
import { DataStack } from './data-stack';
import { deploymentContext } from './deployment-context';
import { MonitoringStack } from './monitoring-stack';
import { ServingStack } from './serving-stack';
import { TrainingStack } from './training/training-stack';

export interface MlshipStacks {
  /** The validated configuration the app was built from. */
  readonly config: MlshipConfig;
  /** The served model's manifest. */
  readonly manifest: ModelManifest;
  /** Bucket, prediction log, dead-letter queue and replay. */
  readonly data: DataStack;
  /** The model, its rollout checks and batch inference. */
  readonly serving: ServingStack;
  /** The inference API and its functions. */
  readonly api: ApiStack;
  /** Dashboard, alarms and quality job. */
  readonly monitoring: MonitoringStack;
  /** The Analytics stack. @default - none when the config turns analytics off */
  readonly analytics?: AnalyticsStack;
  /** The retraining loop. @default - none without the config's `training` key */
  readonly training?: TrainingStack;
}

export interface BuildOptions {
  /** Repository root: `lambda/`, `container/`, `package-lock.json` and the relative `modelDir` are found from it. */
  readonly rootDir: string;
  /** Where build products are staged. @default `<rootDir>/.mlship/build` */
  readonly buildDir?: string;
  /** Apply the cdk-nag AwsSolutions pack. @default true */
  readonly nag?: boolean;
  /** Folder of the built web dashboard (`web/dist`), served by the meta function; the caller builds it (bin/mlship.ts). */
  readonly dashboardDir: string;
}

const CROSS_STACK_REFERENCES = '@aws-cdk/core:defaultCrossStackReferences';
/**
 * ECS blue/green rewrites the listener rules' actions, and any CloudFormation update of a rule (a changed
 * tag included) puts the declared action back, sending traffic to a target group that may have no tasks
 * (aws-cdk issue 36649): the rules' template must never change after creation, so they carry no tags.
 */
export const LISTENER_RULE = 'AWS::ElasticLoadBalancingV2::ListenerRule';
const LOG_GROUP = 'AWS::Logs::LogGroup';
/** The model tag changes with the model: not a stack tag, which CloudFormation would copy onto every resource (the rules too). */
export const MODEL_TAG_EXCLUDED = ['aws:cdk:stack', LISTENER_RULE];

/**
 * One serving stack per backend (`<prefix>-Serving-<backend>`). Switching the backend then creates the new
 * backend's stack beside the old one, moves the Api and Monitoring stacks over to it, and leaves the old
 * stack, whose exports nothing imports any more, to be deleted: no deploy ever removes an export another
 * stack still imports (docs/deploying.md, "Switching the backend").
 */
export function servingStackName(config: Pick<MlshipConfig, 'stackPrefix' | 'backend'>): string {
  return `${config.stackPrefix}-Serving-${config.backend}`;
}

export function buildMlshipApp(app: App, config: MlshipConfig, options: BuildOptions): MlshipStacks {
  const { rootDir } = options;
  const deployment = deploymentContext(config, rootDir);
  const { modelDir, manifestPath } = deployment;
  // Cross-stack references stay CloudFormation exports (a consumer keeps its producer from changing under
  // it); said explicitly so the choice does not depend on a library default.
  if (app.node.tryGetContext(CROSS_STACK_REFERENCES) === undefined) app.node.setContext(CROSS_STACK_REFERENCES, 'strong');
  const manifest = readManifestFile(manifestPath);
  // The same check the model server runs at start, from the graph signature alone (no onnxruntime):
  // a manifest that does not fit its model fails the synth, not every request after the deploy.
  planModel(manifest, readOnnx(readFileSync(join(modelDir, manifest.file)), manifest.file).signature);
  const challenger = challengerOf(config, rootDir, manifest);
  if (challenger)
    planModel(
      challenger.manifest,
      readOnnx(readFileSync(join(challenger.dir, challenger.manifest.file)), challenger.manifest.file).signature,
    );
  const name = (suffix: string) => `${config.stackPrefix}-${suffix}`;

  const data = new DataStack(app, name('Data'), {
    description: 'mlship: data bucket, prediction log table and its dead-letter replay',
    config,
    deployment,
  });
  const serving = new ServingStack(app, servingStackName(config), {
    description: `mlship: model ${manifest.name} ${manifest.version} served on ${config.backend}`,
    config,
    deployment,
    bucketArnExport: data.bucketArnExport,
    manifest,
    challenger,
    buildDir: options.buildDir ?? join(rootDir, '.mlship', 'build'),
  });
  const api = new ApiStack(app, name('Api'), {
    description: 'mlship: inference API',
    config,
    deployment,
    bucketArnExport: data.bucketArnExport,
    table: data.table,
    logDlq: data.logDlq,
    modelBackend: serving.modelBackend,
    dashboardDir: options.dashboardDir,
    challenger: challenger?.setting,
    handOver: config.training !== undefined,
  });
  let analytics: AnalyticsStack | undefined;
  if (config.analytics) {
    const baselinePath = join(modelDir, BASELINE_FILE);
    analytics = new AnalyticsStack(app, name('Analytics'), {
      description: `mlship: prediction analytics of model ${manifest.name} (Parquet in S3, Glue, Athena)`,
      config,
      deployment,
      manifest,
      baseline: existsSync(baselinePath) ? readBaselineFile(baselinePath) : undefined,
      bucketArnExport: data.bucketArnExport,
      table: data.table,
    });
    analytics.addStackDependency(data);
    // The query function answers the dashboard's long windows with Athena; its grant imports the results bucket by name.
    analytics.grantQuery(api.functions.query.role);
    api.addStackDependency(analytics);
  }

  const monitoring = new MonitoringStack(app, name('Monitoring'), {
    description: `mlship: dashboard, alarms and quality job of model ${manifest.name}`,
    config,
    deployment,
    manifest,
    data,
    serving,
    api,
    analytics,
    challenger,
  });

  const training =
    config.training &&
    new TrainingStack(app, name('Training'), {
      description: `mlship: retraining of model ${manifest.name}`,
      config: { ...config, training: config.training },
      deployment,
      manifest,
      bucketArnExport: data.bucketArnExport,
      table: data.table,
      challenger: challenger?.setting,
      serving,
      monitoring,
      analytics,
      buildDir: options.buildDir ?? join(rootDir, '.mlship', 'build'),
    });
  training?.addStackDependency(data);

  // The bucket is imported by export name, which CloudFormation does not order by itself.
  serving.addStackDependency(data);
  api.addStackDependency(data);
  monitoring.addStackDependency(api);
  monitoring.addStackDependency(serving);

  // A throw-away deployment deletes its logs too, those of constructs that take no removal policy (the
  // state machines', the ECS tasks', the VPC's flow logs) included.
  if (deployment.removalPolicy === RemovalPolicy.DESTROY) RemovalPolicies.of(app).destroy({ applyToResourceTypes: [LOG_GROUP] });
  Tags.of(app).add('project', 'mlship', { excludeResourceTypes: [LISTENER_RULE] });
  Tags.of(app).add('mlship:model', manifest.name, { excludeResourceTypes: MODEL_TAG_EXCLUDED });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, manifest, data, serving, api, monitoring, analytics, training: training || undefined };
}

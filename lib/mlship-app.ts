/**
 * Builds mlship's stacks into an app: Data (stateful), Serving (the model), Api (with the web dashboard)
 * and Monitoring (dashboard, alarms, quality job), with the cdk-nag AwsSolutions checks as a validation
 * plugin. Used by bin/mlship.ts and by the tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MANIFEST_FILE, ModelManifest, parseManifest } from '../contract/manifest';
import { planModel } from '../container/src/model-plan';
import { readOnnx } from '../container/src/onnx-graph';
import { ApiStack } from './api-stack';
import { MlshipConfig, modelDirOf } from './config';
import { DataStack } from './data-stack';
import { MonitoringStack } from './monitoring-stack';
import { ServingStack } from './serving-stack';
import { ensureWebBuiltSync } from '../web/build';

export interface MlshipStacks {
  readonly config: MlshipConfig;
  readonly manifest: ModelManifest;
  readonly data: DataStack;
  readonly serving: ServingStack;
  readonly api: ApiStack;
  readonly monitoring: MonitoringStack;
}

export interface BuildOptions {
  /** Repository root: `lambda/`, `container/`, `package-lock.json` and the relative `modelDir` are found from it. */
  readonly rootDir: string;
  /** Where build products are staged. @default `<rootDir>/.mlship/build` */
  readonly buildDir?: string;
  /** Apply the cdk-nag AwsSolutions pack. @default true */
  readonly nag?: boolean;
}

const CROSS_STACK_REFERENCES = '@aws-cdk/core:defaultCrossStackReferences';

export function buildMlshipApp(app: App, config: MlshipConfig, options: BuildOptions): MlshipStacks {
  const { rootDir } = options;
  // Cross-stack references stay CloudFormation exports (a consumer keeps its producer from changing under
  // it); said explicitly so the choice does not depend on a library default.
  if (app.node.tryGetContext(CROSS_STACK_REFERENCES) === undefined) app.node.setContext(CROSS_STACK_REFERENCES, 'strong');
  const modelDir = modelDirOf(config, rootDir);
  const manifestPath = join(modelDir, MANIFEST_FILE);
  const manifest = parseManifest(JSON.parse(readFileSync(manifestPath, 'utf8')), manifestPath);
  // The same check the model server runs at start, from the graph signature alone (no onnxruntime):
  // a manifest that does not fit its model fails the synth, not every request after the deploy.
  planModel(manifest, readOnnx(readFileSync(join(modelDir, manifest.file)), manifest.file).signature);
  const name = (suffix: string) => `${config.stackPrefix}-${suffix}`;

  const data = new DataStack(app, name('Data'), {
    description: 'mlship: data bucket, prediction log table and its dead-letter replay',
    config,
    rootDir,
    manifestPath,
  });
  const serving = new ServingStack(app, name('Serving'), {
    description: `mlship: model ${manifest.name} ${manifest.version} served on ${config.backend}`,
    config,
    rootDir,
    bucketArnExport: data.bucketArnExport,
    manifest,
    modelDir,
    buildDir: options.buildDir ?? join(rootDir, '.mlship', 'build'),
  });
  const api = new ApiStack(app, name('Api'), {
    description: 'mlship: inference API',
    config,
    rootDir,
    manifestPath,
    bucketArnExport: data.bucketArnExport,
    table: data.table,
    logDlq: data.logDlq,
    modelBackend: serving.modelBackend,
    // Served by the meta function; built now when missing or older than its sources.
    dashboardDir: ensureWebBuiltSync(),
  });
  const monitoring = new MonitoringStack(app, name('Monitoring'), {
    description: `mlship: dashboard, alarms and quality job of model ${manifest.name}`,
    config,
    rootDir,
    modelDir,
    manifest,
    data,
    serving,
    api,
  });

  // The bucket is imported by export name, which CloudFormation does not order by itself.
  serving.addStackDependency(data);
  api.addStackDependency(data);
  monitoring.addStackDependency(api);
  monitoring.addStackDependency(serving);

  Tags.of(app).add('project', 'mlship');
  Tags.of(app).add('mlship:model', manifest.name);
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, manifest, data, serving, api, monitoring };
}

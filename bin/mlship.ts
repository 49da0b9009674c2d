#!/usr/bin/env node
/**
 * The CDK app (`npx cdk synth -c backend=sagemaker`). Configuration: lib/config.ts.
 */
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config';
import { buildMlshipApp } from '../lib/mlship-app';
import { ensureWebBuiltSync } from '../web/build';

const rootDir = resolve(__dirname, '..');
const app = new App();
const config = loadConfig({ context: (key) => app.node.tryGetContext(key), rootDir });
// The meta function serves the dashboard: built now when missing or older than its sources.
buildMlshipApp(app, config, { rootDir, dashboardDir: ensureWebBuiltSync() });
app.synth();

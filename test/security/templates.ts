/**
 * Test support: each backend's app synthesized once per test file, with Lambda bundling skipped (the
 * IAM and security checks read policies, not code; skipping esbuild keeps a synth to seconds). The
 * cdk-nag plugin runs as in `cdk synth`.
 */

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BACKENDS, type Backend } from '../../contract/limits';
import { parseConfig } from '../../lib/config';
import { buildMlshipApp, type MlshipStacks } from '../../lib/mlship-app';
import { ensureWebBuiltSync } from '../../web/build';
import { defined } from '../support/defined';

export const ROOT = resolve(__dirname, '..', '..');

export interface SynthesizedBackend {
  backend: Backend;
  stacks: MlshipStacks;
  templates: { data: Template; serving: Template; api: Template; monitoring: Template; analytics: Template; training: Template };
  /** Unacknowledged validation findings (cdk-nag, CloudFormation Validate). */
  violations: { plugin: string; rule: string }[];
}

/** Config keys a variant of the proof adds to the one every synth has (the retraining loop). */
export type ConfigExtras = Record<string, unknown>;

export function synthesize(backend: Backend, extras: ConfigExtras = {}): SynthesizedBackend {
  const outdir = mkdtempSync(join(tmpdir(), `mlship-security-${backend}-`));
  // An empty bundling-stacks list is what `cdk synth --exclusively` uses to skip asset bundling.
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  // With the retraining loop: its hand-over function, and the routing and registry grants it brings.
  const stacks = buildMlshipApp(app, parseConfig({ backend, training: { schedule: 'rate(7 days)' }, ...extras }), {
    rootDir: ROOT,
    buildDir: join(outdir, 'build'),
    dashboardDir: ensureWebBuiltSync(),
  });
  app.synth();
  const reportFile = join(outdir, 'validation-report.json');
  const report = existsSync(reportFile)
    ? (JSON.parse(readFileSync(reportFile, 'utf8')) as { pluginReports: { pluginName: string; violations: { ruleName: string }[] }[] })
    : { pluginReports: [] };
  return {
    backend,
    stacks,
    templates: {
      data: Template.fromStack(stacks.data),
      serving: Template.fromStack(stacks.serving),
      api: Template.fromStack(stacks.api),
      monitoring: Template.fromStack(stacks.monitoring),
      analytics: Template.fromStack(defined(stacks.analytics, 'the analytics stack')),
      training: Template.fromStack(defined(stacks.training, 'the training stack')),
    },
    violations: report.pluginReports.flatMap((p) => p.violations.map((v) => ({ plugin: p.pluginName, rule: v.ruleName }))),
  };
}

export function synthesizeAll(): SynthesizedBackend[] {
  return BACKENDS.map((backend) => synthesize(backend));
}

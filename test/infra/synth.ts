/**
 * Test support: synthesizes the whole mlship app for a backend once (cdk-nag on, like `cdk synth`), and
 * renders templates and policies into stable, readable forms.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Backend } from '../../contract/limits';
import { type MlshipConfig, parseConfig } from '../../lib/config';
import { buildMlshipApp, type MlshipStacks } from '../../lib/mlship-app';
import { ensureWebBuiltSync } from '../../web/build';

export const ROOT = resolve(__dirname, '..', '..');

export interface Violation {
  plugin: string;
  rule: string;
  paths: string[];
}

export interface SynthResult extends MlshipStacks {
  app: App;
  /** `analytics` is absent when the config turns the Analytics stack off. */
  templates: { data: Template; serving: Template; api: Template; monitoring: Template; analytics?: Template };
  /** Unacknowledged findings of every validation plugin (cdk-nag and CloudFormation Validate). */
  violations: Violation[];
  /** Acknowledged findings and their reasons. */
  acknowledged: { plugin: string; rule: string; reason?: string }[];
  /** Error thrown by synthesis, if any (a violation makes synthesis throw). */
  synthError?: Error;
}

interface ReportJson {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
    suppressedViolations?: { ruleName: string; reason?: string }[];
  }[];
}

/** Synthesizes the app for a backend into a temporary directory. */
export function synthBackend(backend: Backend, overrides: Partial<MlshipConfig> = {}): SynthResult {
  const outdir = mkdtempSync(join(tmpdir(), `mlship-synth-${backend}-`));
  const app = new App({ outdir });
  const config = parseConfig({ backend, ...overrides });
  const stacks = buildMlshipApp(app, config, { rootDir: ROOT, buildDir: join(outdir, 'build'), dashboardDir: ensureWebBuiltSync() });
  let synthError: Error | undefined;
  try {
    app.synth();
  } catch (e) {
    synthError = e as Error;
  }
  const reportFile = join(outdir, 'validation-report.json');
  const report: ReportJson = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
  const violations = report.pluginReports.flatMap((p) =>
    p.violations.map((v) => ({ plugin: p.pluginName, rule: v.ruleName, paths: v.violatingConstructs.map((c) => c.constructPath) })),
  );
  const acknowledged = report.pluginReports.flatMap((p) =>
    (p.suppressedViolations ?? []).map((v) => ({ plugin: p.pluginName, rule: v.ruleName, reason: v.reason })),
  );
  const templates = synthError
    ? ({} as SynthResult['templates'])
    : {
        data: Template.fromStack(stacks.data),
        serving: Template.fromStack(stacks.serving),
        api: Template.fromStack(stacks.api),
        monitoring: Template.fromStack(stacks.monitoring),
        ...(stacks.analytics ? { analytics: Template.fromStack(stacks.analytics) } : {}),
      };
  return { ...stacks, app, templates, violations, acknowledged, synthError };
}

/** A template with asset hashes and other content-derived values replaced, for snapshots stable across machines. */
export function normalized(template: Template): unknown {
  const text = JSON.stringify(template.toJSON())
    // Asset hashes (Lambda bundles, the image, the model archive) change with any source change.
    .replace(/[0-9a-f]{64}/g, '<asset-hash>');
  return JSON.parse(text);
}

/**
 * What the stack snapshots keep: the part of a template the fine-grained assertions do not pin. Every
 * resource by logical id with its type, its deletion and replacement policies and the names of the
 * properties it sets (a vanished resource, a renamed one, which CloudFormation replaces, or a property
 * gained or lost shows at once), and the outputs with their export names. The values are left to the
 * assertions that name them (IAM statement by statement, encryption, keys, retention, alarms, routes,
 * autoscaling, rollout, the SageMaker API shapes) and to cfn-lint: a snapshot of every value (535 KB for
 * three backends) was reviewed by no one and changed with every construct refactor.
 */
export function snapshotView(template: Template): unknown {
  const t = normalized(template) as {
    Resources?: Record<
      string,
      { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }
    >;
    Outputs?: Record<string, { Export?: { Name?: unknown } }>;
  };
  const resources = Object.fromEntries(
    Object.entries(t.Resources ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, r]) => [
        id,
        [
          r.Type,
          ...(r.DeletionPolicy !== undefined ? [`DeletionPolicy: ${r.DeletionPolicy}`] : []),
          ...(r.UpdateReplacePolicy !== undefined ? [`UpdateReplacePolicy: ${r.UpdateReplacePolicy}`] : []),
          Object.keys(r.Properties ?? {})
            .sort()
            .join(' '),
        ].join(' | '),
      ]),
  );
  const outputs = Object.fromEntries(
    Object.entries(t.Outputs ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, o]) => [id, o.Export?.Name !== undefined ? `export ${render(o.Export.Name)}` : 'output']),
  );
  return { resources, outputs };
}

/** Drops the 8-hex-digit suffix CDK appends to logical ids. */
export function bare(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

/** Renders a CloudFormation value as a short string: `<Logical.Attr>`, `<import:Stack.Logical.Attr>`, joins concatenated. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return `<${bare(String(o.Ref))}>`;
    if ('Fn::GetAtt' in o) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      return `<${bare(id)}.${attr}>`;
    }
    if ('Fn::ImportValue' in o) {
      const name = String(o['Fn::ImportValue']);
      // Automatic exports are `<stack>:ExportsOutputFnGetAtt<LogicalId><Attr><hash>` or `...Ref<LogicalId><hash>`.
      const auto = /^[^:]+:ExportsOutput(?:FnGetAtt|Ref)(.+?)[0-9A-F]{8}$/.exec(name);
      const ref = auto ? auto[1].replace(/[0-9A-F]{8}(?=[A-Z][a-z])/, '.').replace(/[0-9A-F]{8}$/, '') : name;
      return `<import:${ref}>`;
    }
    if ('Fn::Sub' in o && typeof o['Fn::Sub'] === 'string') return o['Fn::Sub'].replace(/\$\{([^}]+)\}/g, '<$1>');
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
  }
  return JSON.stringify(value);
}

export interface Statement {
  actions: string[];
  resources: string[];
  condition?: unknown;
}

/** The statements of every policy attached to a role (by logical id), rendered. */
export function statementsOfRole(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const out: Statement[] = [];
  for (const p of Object.values(policies)) {
    const roles = (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    if (!roles.includes(roleLogicalId)) continue;
    for (const s of p.Properties.PolicyDocument.Statement as Record<string, unknown>[]) {
      const list = (v: unknown) => (Array.isArray(v) ? v : [v]);
      out.push({
        actions: list(s.Action).map(String),
        resources: list(s.Resource).map(render),
        ...(s.Condition ? { condition: s.Condition } : {}),
      });
    }
  }
  return out;
}

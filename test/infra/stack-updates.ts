/**
 * What a later `cdk deploy --all` does to stacks already deployed, judged from two syntheses: the
 * deployed app (A) and the new one (B). CloudFormation refuses to remove an export another stack still
 * imports, and to import one no deployed stack exports; either rolls the deploy back.
 */
import type { Stack } from 'aws-cdk-lib';
import { LISTENER_RULE } from '../../lib/mlship-app';
import { defined } from '../support/defined';
import type { SynthResult } from './synth';

interface Template {
  Outputs?: Record<string, { Export?: { Name?: unknown } }>;
  Resources?: Record<string, { Type: string; Properties?: unknown }>;
}

interface DeployedApp {
  /** Stack name → template. */
  templates: Map<string, Template>;
  /** Stack names in the order `cdk deploy --all` deploys them (dependencies first). */
  order: string[];
}

export function deployedApp(r: SynthResult): DeployedApp {
  // The Analytics stack (on by default) comes before the Api stack, whose query role imports its results bucket.
  const stacks: Stack[] = [r.data, r.serving, ...(r.analytics ? [r.analytics] : []), r.api, r.monitoring];
  const order: string[] = [];
  const visit = (s: Stack) => {
    if (order.includes(s.stackName)) return;
    s.dependencies.forEach(visit);
    order.push(s.stackName);
  };
  stacks.forEach(visit);
  const templates = new Map<string, Template>([
    [r.data.stackName, r.templates.data.toJSON()],
    [r.serving.stackName, r.templates.serving.toJSON()],
    [r.api.stackName, r.templates.api.toJSON()],
    [r.monitoring.stackName, r.templates.monitoring.toJSON()],
    ...(r.analytics && r.templates.analytics ? [[r.analytics.stackName, r.templates.analytics.toJSON()] as [string, Template]] : []),
  ]);
  return { templates, order };
}

function exportsOf(t: Template): Set<string> {
  return new Set(Object.values(t.Outputs ?? {}).flatMap((o) => (typeof o.Export?.Name === 'string' ? [o.Export.Name] : [])));
}

function importsOf(t: Template): Set<string> {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'Fn::ImportValue' && typeof x === 'string') found.add(x);
        else walk(x);
      }
    }
  };
  walk(t);
  return found;
}

/**
 * Deploys B over A stack by stack, in B's order, and returns every step CloudFormation would refuse.
 * Stacks of A that B no longer has stay deployed; `leftOver` lists them with whoever still imports from them.
 */
export function refusedSteps(a: DeployedApp, b: DeployedApp): { refused: string[]; leftOver: { stack: string; importedBy: string[] }[] } {
  const deployed = new Map(a.templates);
  const refused: string[] = [];
  for (const name of b.order) {
    const next = defined(b.templates.get(name), `the template of ${name}`);
    const before = deployed.get(name);
    const others = [...deployed].filter(([n]) => n !== name);
    for (const e of importsOf(next)) {
      const exporter = [...deployed].find(([n, t]) => (n === name ? false : exportsOf(t).has(e)));
      if (!exporter) refused.push(`${name} imports ${e}, which no deployed stack exports`);
    }
    if (before) {
      const kept = exportsOf(next);
      for (const e of exportsOf(before)) {
        if (kept.has(e)) continue;
        for (const [other, t] of others)
          if (importsOf(t).has(e)) refused.push(`${name} removes export ${e} while ${other} still imports it`);
      }
    }
    deployed.set(name, next);
  }
  const leftOver = [...deployed]
    .filter(([n]) => !b.templates.has(n))
    .map(([stack, template]) => {
      const exported = exportsOf(template);
      const importedBy = [...deployed].filter(([n, t]) => n !== stack && [...importsOf(t)].some((e) => exported.has(e))).map(([n]) => n);
      return { stack, importedBy };
    });
  return { refused, leftOver };
}

/** The listener rules of a template by logical id, whole (properties, tags, dependencies). */
export function listenerRules(t: Template): Record<string, unknown> {
  return Object.fromEntries(Object.entries(t.Resources ?? {}).filter(([, r]) => r.Type === LISTENER_RULE));
}

export function describeStackUpdates(synths: Record<string, () => SynthResult>, fargateOtherModel: () => SynthResult): void {
  const names = Object.keys(synths);
  const pairs = names.flatMap((from) => names.filter((to) => to !== from).map((to) => [from, to] as const));

  describe('switching the backend with cdk deploy --all', () => {
    it.each(pairs)(
      '%s → %s: no export is removed while imported, none imported before it exists; the old serving stack is left with no importer',
      (from, to) => {
        const a = deployedApp(synths[from]());
        const b = deployedApp(synths[to]());
        const { refused, leftOver } = refusedSteps(a, b);
        expect(refused).toEqual([]);
        // The old backend's serving stack stays until it is deleted (docs/deploying.md), and nothing imports from it any more.
        expect(leftOver).toEqual([{ stack: synths[from]().serving.stackName, importedBy: [] }]);
      },
    );

    it('finds the deadlock it guards against: one serving stack name for every backend', () => {
      // GIVEN the old layout (a serving stack of the same name whatever the backend)
      const rename = (app: DeployedApp, from: string, to: string): DeployedApp => {
        const templates = new Map(
          [...app.templates].map(([n, t]) => [
            n === from ? to : n,
            JSON.parse(JSON.stringify(t).split(`${from}:`).join(`${to}:`)) as Template,
          ]),
        );
        return { templates, order: app.order.map((n) => (n === from ? to : n)) };
      };
      const a = rename(deployedApp(synths.fargate()), synths.fargate().serving.stackName, 'Mlship-Serving');
      const b = rename(deployedApp(synths.sagemaker()), synths.sagemaker().serving.stackName, 'Mlship-Serving');
      // THEN the switch removes exports the Api stack still imports
      expect(refusedSteps(a, b).refused.join('\n')).toMatch(
        /Mlship-Serving removes export Mlship-Serving:ExportsOutput.* while Mlship-Api still imports it/,
      );
    });
  });

  describe('updating the model on fargate', () => {
    it('leaves the listener rules untouched (ECS owns their actions after creation), and moves no export', () => {
      const a = fargateOtherModel();
      const b = synths.fargate();
      expect(a.manifest.name).not.toBe(b.manifest.name);
      const rules = listenerRules(b.templates.serving.toJSON());
      expect(Object.keys(rules)).toHaveLength(2);
      for (const rule of Object.values(rules)) expect((rule as { Properties: { Tags?: unknown } }).Properties.Tags).toBeUndefined();
      expect(listenerRules(a.templates.serving.toJSON())).toEqual(rules);
      expect(refusedSteps(deployedApp(a), deployedApp(b))).toEqual({ refused: [], leftOver: [] });
    });

    it('tags no stack with the model (CloudFormation would copy a changed stack tag onto every resource, the listener rules too)', () => {
      for (const r of [synths.fargate(), fargateOtherModel()]) {
        for (const stack of [r.data, r.serving, r.api, r.monitoring]) expect(stack.tags.tagValues()['mlship:model']).toBeUndefined();
      }
    });
  });
}

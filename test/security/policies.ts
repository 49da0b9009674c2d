/** Every policy statement of a template, wherever it lives (role policies, managed policies, resource policies, key policies). */
import type { Template } from 'aws-cdk-lib/assertions';
import { render } from '../infra/synth';

export interface FoundStatement {
  /** `<logical id> (<type>)`. */
  where: string;
  effect: string;
  actions: string[];
  resources: string[];
  hasCondition: boolean;
  /** A resource-based policy (bucket, queue, topic, key): `*` there means "this resource". */
  resourcePolicy: boolean;
}

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function allStatements(template: Template): FoundStatement[] {
  const out: FoundStatement[] = [];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    const docs: { doc: unknown; resourcePolicy: boolean }[] = [];
    if (p.PolicyDocument)
      docs.push({ doc: p.PolicyDocument, resourcePolicy: !['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(r.Type) });
    if (p.KeyPolicy) docs.push({ doc: p.KeyPolicy, resourcePolicy: true });
    for (const inline of list(p.Policies) as { PolicyDocument?: unknown }[])
      if (inline.PolicyDocument) docs.push({ doc: inline.PolicyDocument, resourcePolicy: false });
    for (const { doc, resourcePolicy } of docs) {
      for (const s of list((doc as { Statement?: unknown }).Statement) as Record<string, unknown>[]) {
        out.push({
          where: `${id} (${r.Type})`,
          effect: String(s.Effect),
          actions: list(s.Action).map(String),
          resources: list(s.Resource).map(render),
          hasCondition: s.Condition !== undefined,
          resourcePolicy,
        });
      }
    }
  }
  return out;
}

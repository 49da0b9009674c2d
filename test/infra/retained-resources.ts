/**
 * docs/deploying.md's "What `cdk destroy` keeps" table against the synthesized templates: every resource
 * a template keeps on delete (`DeletionPolicy: Retain` or `RetainExceptOnCreate`) is a row of the table,
 * and every row that applies to the synthesized backend and settings is such a resource. A new retained
 * log group, bucket or key therefore fails here until the table names it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import type { Backend } from '../../contract/limits';
import { bare, ROOT, type SynthResult } from './synth';

export interface RetainedRow {
  /** The stack as the table names it: `Data`, `Serving`, `Api`, `Monitoring`, `Analytics`, `Training`. */
  readonly stack: string;
  /** Logical ID without CDK's 8-hex-digit suffix. */
  readonly id: string;
  readonly type: string;
  /** `all`, or the backends it exists on, comma-separated. */
  readonly backends: string;
  /** The config key that brings it, or empty. */
  readonly onlyWith: string;
}

const SECTION = '## What `cdk destroy` keeps';

/** The table's rows, as written. */
export function documentedRetained(): RetainedRow[] {
  const doc = readFileSync(join(ROOT, 'docs', 'deploying.md'), 'utf8');
  const start = doc.indexOf(SECTION);
  if (start === -1) throw new Error(`docs/deploying.md has no "${SECTION}" section`);
  const section = doc.slice(start + SECTION.length, doc.indexOf('\n## ', start + SECTION.length));
  const cell = (s: string | undefined) => (s ?? '').trim().replace(/^`|`$/g, '');
  return section
    .split('\n')
    .filter((l) => /^\| \w+ \| `/.test(l))
    .map((l) => {
      const [stack, id, type, backends, onlyWith] = l.split('|').slice(1).map(cell);
      return { stack, id, type, backends, onlyWith } as RetainedRow;
    });
}

/** Every resource the templates keep on delete, as `Stack id type`, sorted. */
export function retainedIn(templates: Record<string, Template>): string[] {
  return Object.entries(templates)
    .flatMap(([stack, t]) =>
      Object.entries(t.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>)
        .filter(([, r]) => r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate')
        .map(([id, r]) => `${stack[0]?.toUpperCase()}${stack.slice(1)} ${bare(id)} ${r.Type}`),
    )
    .sort();
}

/** The rows that apply to `backend` with the config keys in `settings` set, for the stacks synthesized, as `Stack id type`. */
export function documentedFor(
  rows: readonly RetainedRow[],
  backend: Backend,
  settings: readonly string[],
  stacks: readonly string[],
): string[] {
  const synthesized = new Set(stacks.map((s) => s.toLowerCase()));
  return rows
    .filter((r) => synthesized.has(r.stack.toLowerCase()))
    .filter((r) => r.backends === 'all' || r.backends.split(/,\s*/).includes(backend))
    .filter((r) => r.onlyWith === '' || settings.includes(r.onlyWith))
    .map((r) => `${r.stack} ${r.id} ${r.type}`)
    .sort();
}

/** THEN-step: the templates keep exactly what the table lists for this backend and these settings. */
export function expectRetainedDocumented(templates: Record<string, Template>, backend: Backend, settings: readonly string[] = []): void {
  const rows = documentedRetained();
  expect(rows.length).toBeGreaterThan(0);
  expect(retainedIn(templates)).toEqual(documentedFor(rows, backend, settings, Object.keys(templates)));
}

/** The default config on each backend: what `cdk destroy` keeps is what the table lists. */
export function describeRetainedResources(synths: Record<Backend, () => SynthResult>): void {
  describe('what cdk destroy keeps (default config)', () => {
    it.each(Object.keys(synths) as Backend[])('on %s is exactly the table of docs/deploying.md', (backend) => {
      const r = synths[backend]();
      expect(r.synthError).toBeUndefined();
      expectRetainedDocumented(r.templates as unknown as Record<string, Template>, backend);
    });
  });
}

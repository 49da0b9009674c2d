/**
 * docs/deploying.md's idle cost of monitoring against the templates: each backend's row states how many
 * alarms over how many metrics it deploys and the monthly sum they make with the KMS keys, the dashboards
 * and the composite alarms, at the list prices below. A new alarm, key or dashboard fails here until the
 * table counts it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import type { Backend } from '../../contract/limits';
import { ROOT, type SynthResult } from './synth';

/** us-east-1 list prices per month, as the table states them. */
const PRICE = { kmsKey: 1, dashboard: 3, alarmMetric: 0.1, compositeAlarm: 0.5 } as const;

interface AlarmProps {
  Metrics?: { MetricStat?: unknown }[];
}

/** What the templates deploy that is billed idle by CloudWatch and KMS. */
function monitoringOf(templates: readonly Template[]) {
  const all = (type: string) => templates.flatMap((t) => Object.values(t.findResources(type)));
  const alarms = all('AWS::CloudWatch::Alarm');
  // An alarm on one metric reads one; an alarm on metric math pays for each metric the expression reads.
  const metrics = alarms
    .map((a) => (a.Properties as AlarmProps).Metrics?.filter((m) => m.MetricStat !== undefined).length ?? 1)
    .reduce((x, y) => x + y, 0);
  const cost =
    all('AWS::KMS::Key').length * PRICE.kmsKey +
    all('AWS::CloudWatch::Dashboard').length * PRICE.dashboard +
    metrics * PRICE.alarmMetric +
    all('AWS::CloudWatch::CompositeAlarm').length * PRICE.compositeAlarm;
  return { alarms: alarms.length, metrics, cost: `$${cost.toFixed(2)}` };
}

/** The backend's row of the idle-cost table: its monitoring sum and counts, as written. */
function documented(backend: Backend) {
  const doc = readFileSync(join(ROOT, 'docs', 'deploying.md'), 'utf8');
  const row = doc.split('\n').find((l) => l.startsWith(`| \`${backend}\` | ≈ $`));
  const m = /monitoring (\$\d+\.\d\d) \((\d+) alarms over (\d+) metrics/.exec(row ?? '');
  if (!m) throw new Error(`docs/deploying.md's idle-cost row for ${backend} states no "monitoring $X (N alarms over M metrics"`);
  return { alarms: Number(m[2]), metrics: Number(m[3]), cost: m[1] };
}

export function describeIdleCost(synths: Record<Backend, () => SynthResult>): void {
  describe('idle cost of monitoring (default config)', () => {
    it.each(Object.keys(synths) as Backend[])('on %s is what docs/deploying.md states', (backend) => {
      const r = synths[backend]();
      expect(r.synthError).toBeUndefined();
      expect(monitoringOf(Object.values(r.templates))).toEqual(documented(backend));
    });
  });
}

/**
 * CloudWatch Embedded Metric Format: a JSON log line that CloudWatch turns into metrics, with no API
 * call on the request path. Every metric is kept under two dimension sets of one line: Model and
 * ModelVersion, where a request's metrics name the version that answered it (`forVersion`), not only the
 * one deployed as the champion; and Model alone, so what watches the model follows whichever version
 * answers, a promotion made without a deploy included.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { QUALITY_DIMENSIONS as D, METRICS_NAMESPACE } from '../../contract/quality';
import { keepsLine, writeLine } from './log-output';

export { PARKED_RECORDS_METRIC } from '../../contract/quality';

export type MetricUnit = 'Count' | 'Milliseconds';

export type MetricSink = (line: string) => void;

/** The function's log, where CloudWatch reads EMF lines. */
const logSink: MetricSink = (line) => writeLine(line, 'METRIC');

export class Metrics {
  constructor(
    private readonly model: { name: string; version: string },
    private readonly sink: MetricSink = logSink,
  ) {}

  /** Emits one or more metrics sharing the model dimensions plus any extra ones (e.g. Label). */
  emit(values: Record<string, { value: number; unit: MetricUnit }>, extraDimensions: Record<string, string> = {}): void {
    const entries = Object.entries(values);
    // A log that keeps no metric lines (the local terminal without --verbose) gets none built.
    if (entries.length === 0 || (this.sink === logSink && !keepsLine('METRIC'))) return;
    const dimensions = { [D.model]: this.model.name, [D.modelVersion]: this.model.version, ...extraDimensions };
    const extra = Object.keys(extraDimensions);
    const doc: Record<string, unknown> = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [
              [D.model, D.modelVersion, ...extra],
              [D.model, ...extra],
            ],
            Metrics: entries.map(([name, v]) => ({ Name: name, Unit: v.unit })),
          },
        ],
      },
      ...dimensions,
    };
    for (const [name, v] of entries) doc[name] = v.value;
    this.sink(JSON.stringify(doc));
  }

  count(name: string, value = 1, extraDimensions: Record<string, string> = {}): void {
    this.emit({ [name]: { value, unit: 'Count' } }, extraDimensions);
  }

  /** The same metrics about another version of the model (the one that answered, or shadowed, a request). */
  forVersion(version: string): Metrics {
    return version === this.model.version ? this : new Metrics({ name: this.model.name, version }, this.sink);
  }
}

/** One count with no dimensions (a metric about the system, not one model version), as an EMF line. */
export function emfCount(name: string, value: number, sink: MetricSink = (line) => process.stdout.write(`${line}\n`)): void {
  sink(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[]], Metrics: [{ Name: name, Unit: 'Count' }] }],
      },
      [name]: value,
    }),
  );
}

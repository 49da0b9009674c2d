/** Defaults of ModelMonitoring: alarm thresholds, the quality schedule and the dashboard's periods. */
import { Duration } from 'aws-cdk-lib';
import { PSI_SIGNIFICANT } from '../../contract/drift';
import { DEFAULT_QUALITY_WINDOW_MINUTES } from '../../contract/quality';

export const MONITORING_DEFAULTS = {
  /** Share of API requests answered 5xx, in percent, over one period. */
  serverErrorRatePercent: 1,
  /** API p99 latency, in milliseconds (the predict path includes the model call). */
  p99LatencyMs: 2_000,
  /** PSI above 0.25 is the conventional "significant shift". */
  driftPsiThreshold: PSI_SIGNIFICANT,
  /** How often the quality job runs, and how much log it reads each time. */
  qualitySchedule: Duration.minutes(15),
  qualityWindow: Duration.minutes(DEFAULT_QUALITY_WINDOW_MINUTES),
  /** Period of the service alarms and graphs. */
  period: Duration.minutes(5),
} as const;

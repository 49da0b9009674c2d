/**
 * What `npm start` prints while it runs. By default a terminal gets one summary line per interval in
 * which requests arrived, and handler warnings and errors as short lines, so the banner with the URL and
 * the key stays in view; `--access-log` adds a line per request and `--verbose` prints the handlers'
 * structured JSON lines and metrics exactly as Lambda writes them to CloudWatch.
 */
import { matchRoute } from '../contract/routes';
import type { LineKind } from '../lambda/runtime/log-output';
import type { AccessLogEntry } from './gateway';

/** Requests seen since the last summary, grouped by route. */
export class RequestSummary {
  private byRoute = new Map<string, number>();
  private byClass = new Map<string, number>();
  private latencies: number[] = [];

  add(e: AccessLogEntry): void {
    const path = e.path.replace(/\?.*$/s, '');
    const match = matchRoute(e.method, path);
    const route = match !== undefined && 'route' in match ? `${e.method} ${match.route.path}` : `${e.method} (no route)`;
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1);
    const cls = e.status < 400 ? 'ok' : `${Math.floor(e.status / 100)}xx`;
    this.byClass.set(cls, (this.byClass.get(cls) ?? 0) + 1);
    this.latencies.push(e.ms);
  }

  /** One line for the requests since the last call, or undefined when there were none. */
  flush(now: Date, seconds: number): string | undefined {
    const sorted = this.latencies.sort((a, b) => a - b);
    const n = sorted.length;
    const p50 = sorted[Math.ceil(n / 2) - 1];
    const max = sorted[n - 1];
    if (p50 === undefined || max === undefined) return undefined;
    const routes = [...this.byRoute].sort((a, b) => b[1] - a[1]).map(([r, c]) => `${c} ${r}`);
    const classes = ['ok', '4xx', '5xx'].filter((c) => this.byClass.has(c)).map((c) => `${this.byClass.get(c)} ${c}`);
    this.byRoute = new Map();
    this.byClass = new Map();
    this.latencies = [];
    return `${clock(now)}  ${n} request${n === 1 ? '' : 's'} in ${seconds} s: ${routes.join(', ')} · ${classes.join(', ')} · p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`;
  }
}

/** One access-log line. */
export function requestLine(e: AccessLogEntry, now: Date): string {
  return `${clock(now)}  ${e.method} ${e.path} ${e.status} ${e.ms.toFixed(1)} ms`;
}

/**
 * The short form of a handler's structured line: warnings and errors only (metrics and info lines are
 * dropped), as `time service LEVEL message (code, reason)`.
 */
export function shortHandlerLine(line: string, kind: LineKind): string | undefined {
  if (kind !== 'WARN' && kind !== 'ERROR') return undefined;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry.timestamp === 'string' ? clock(new Date(entry.timestamp)) : clock(new Date());
  const details = ['code', 'reason', 'failed', 'requestId'].filter((k) => entry[k] !== undefined).map((k) => `${k} ${String(entry[k])}`);
  const error = entry.error as { message?: unknown } | undefined;
  if (error !== undefined && typeof error === 'object' && error !== null && typeof error.message === 'string') details.push(error.message);
  return `${time}  ${String(entry.service ?? 'handler')} ${kind} ${String(entry.message ?? '')}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}

function clock(d: Date): string {
  return d.toTimeString().slice(0, 8);
}

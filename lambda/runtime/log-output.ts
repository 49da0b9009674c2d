/**
 * Where the handlers' structured lines (JSON logs and EMF metrics) go. In Lambda that is stdout and
 * stderr, which CloudWatch reads; the local runner routes them instead, so a terminal shows a short
 * summary unless asked for the full lines (`npm start -- --verbose`).
 */
export type LineKind = 'INFO' | 'WARN' | 'ERROR' | 'METRIC';
export type LineSink = (line: string, kind: LineKind) => void;

const standardSink: LineSink = (line, kind) => (kind === 'ERROR' ? process.stderr : process.stdout).write(`${line}\n`);
let sink: LineSink = standardSink;
/** The kinds the sink keeps; undefined: every kind. */
let kept: ReadonlySet<LineKind> | undefined;

export function writeLine(line: string, kind: LineKind): void {
  if (keepsLine(kind)) sink(line, kind);
}

/**
 * Routes every later line to `next`; without an argument, back to stdout/stderr. `kinds`: the only kinds
 * `next` keeps — lines of the others are then not even built. @default every kind
 */
export function setLineSink(next?: LineSink, kinds?: readonly LineKind[]): void {
  sink = next ?? standardSink;
  kept = next === undefined || kinds === undefined ? undefined : new Set(kinds);
}

/** Whether a line of `kind` goes anywhere: callers skip serializing the ones nobody reads. */
export function keepsLine(kind: LineKind): boolean {
  return kept === undefined || kept.has(kind);
}

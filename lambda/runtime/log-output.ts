/**
 * Where the handlers' structured lines (JSON logs and EMF metrics) go. In Lambda that is stdout and
 * stderr, which CloudWatch reads; the local runner routes them instead, so a terminal shows a short
 * summary unless asked for the full lines (`npm start -- --verbose`).
 */
export type LineKind = 'INFO' | 'WARN' | 'ERROR' | 'METRIC';
export type LineSink = (line: string, kind: LineKind) => void;

const standardSink: LineSink = (line, kind) => (kind === 'ERROR' ? process.stderr : process.stdout).write(`${line}\n`);
let sink: LineSink = standardSink;

export function writeLine(line: string, kind: LineKind): void {
  sink(line, kind);
}

/** Routes every later line to `next`; without an argument, back to stdout/stderr. */
export function setLineSink(next?: LineSink): void {
  sink = next ?? standardSink;
}

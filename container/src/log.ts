/** One JSON object per line on stdout: CloudWatch Logs and `docker logs` read it as is. */
export type LogFields = Record<string, string | number | boolean | undefined>;

export function log(level: 'info' | 'warn' | 'error', msg: string, fields: LogFields = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, pid: process.pid, ...fields })}\n`);
}

/** Calls `onRecord` with each JSON log line a server process writes to `stream`; other output is skipped. */
export function readLogLines(stream: NodeJS.ReadableStream, onRecord: (rec: Record<string, unknown>) => void): void {
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch {
        continue; // not one of our log lines
      }
      if (typeof rec === 'object' && rec !== null) onRecord(rec as Record<string, unknown>);
    }
  });
}

/**
 * `npm start`: the whole system on 127.0.0.1. Prints where everything is, the API key and a curl to try;
 * Ctrl-C, SIGTERM, SIGINT or the end of the process that started it (npm, an IDE, a process manager)
 * stops everything cleanly. A port in use or a data folder another run holds is one line on stderr and
 * exit code 1.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DataDirBusyError } from './data-dir-lock';
import { exampleCurl, exampleInstance } from './example';
import { PortInUseError } from './listen';
import { dataPaths, DEFAULT_DATA_DIR, DEFAULT_MODEL_DIR, PROJECT_ROOT } from './paths';
import { startLocal, type LocalSystem } from './system';

export interface RunStartOptions {
  port?: number;
  dataDir?: string;
  inMemory?: boolean;
  modelDir?: string;
  /** Print one line per API request. */
  accessLog?: boolean;
}

/** Starts the system, prints the banner and stops on SIGINT/SIGTERM. Resolves once it has stopped. */
export async function runStart(opts: RunStartOptions): Promise<void> {
  const tty = process.stderr.isTTY;
  // Signals are taken from the first moment: one during start-up stops the system as soon as it is up,
  // so no child process (the model server) is left behind.
  let signalled: string | undefined;
  let onSignal: (signal: string) => void = (signal) => {
    signalled = signal;
  };
  const handleInt = () => onSignal('SIGINT');
  const handleTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', handleInt);
  process.on('SIGTERM', handleTerm);
  // npm runs this under `sh -c`, and a signal to npm stops the shell, not us: when the process that
  // started us goes away (we are re-parented), stop as on a signal rather than serve on, orphaned.
  const parent = process.ppid;
  const watchParent = setInterval(() => process.ppid !== parent && onSignal('parent exited'), PARENT_POLL_MS);
  watchParent.unref();
  // Start-up work that stalls with nothing left to wait on would end the process silently with 0.
  let starting = true;
  const onBeforeExit = () => {
    if (!starting) return;
    process.stderr.write(`${tty ? '\r\x1b[2K' : ''}mlship: start-up stopped before the system was up.\n`);
    process.exit(1);
  };
  process.on('beforeExit', onBeforeExit);
  let local: LocalSystem;
  try {
    local = await startLocal({
      port: opts.port ?? portFromEnv(),
      dataDir: opts.dataDir,
      inMemory: opts.inMemory,
      modelDir: opts.modelDir,
      buildDashboard: true,
      onProgress: (m) => process.stderr.write(tty ? `\r\x1b[2K… ${m}` : `… ${m}\n`),
      onRequest: opts.accessLog ? (e) => process.stderr.write(`${e.method} ${e.path} ${e.status} ${e.ms.toFixed(1)} ms\n`) : undefined,
    });
  } catch (e) {
    starting = false;
    if (tty) process.stderr.write('\r\x1b[2K');
    // Expected failures (a taken port, a busy data folder, a bad model folder) are one line, not a stack trace.
    process.stderr.write(`mlship: ${e instanceof PortInUseError || e instanceof DataDirBusyError ? e.message : firstLine(e)}\n`);
    process.exitCode = 1;
    process.off('SIGINT', handleInt);
    process.off('SIGTERM', handleTerm);
    process.off('beforeExit', onBeforeExit);
    clearInterval(watchParent);
    return;
  }
  starting = false;
  if (tty) process.stderr.write('\r\x1b[2K');
  if (!signalled) printBanner(local, opts);

  await new Promise<void>((done) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n${signal}: stopping…\n`);
      local
        .stop()
        .then(() => process.stderr.write('stopped.\n'))
        .catch((e: unknown) => {
          process.stderr.write(`mlship: stop failed: ${firstLine(e)}\n`);
          process.exitCode = 1;
        })
        .finally(done);
    };
    onSignal = stop;
    if (signalled) stop(signalled);
  });
  process.off('SIGINT', handleInt);
  process.off('SIGTERM', handleTerm);
  process.off('beforeExit', onBeforeExit);
  clearInterval(watchParent);
}

/** How often the parent process is checked. */
const PARENT_POLL_MS = 500;

function printBanner(local: LocalSystem, opts: RunStartOptions): void {
  const m = local.manifest;
  const keyNote = process.env.MLSHIP_API_KEY ? '(from MLSHIP_API_KEY)' : opts.inMemory ? '(this run only)' : `(kept in ${shortPath(dataPaths(local.dataDir).apiKey)})`;
  const lines = [
    'mlship is running on 127.0.0.1',
    '',
    `  API        ${local.url}   (GET /openapi.json lists the routes)`,
    `  Dashboard  ${local.url}/`,
    `  API key    ${local.apiKey}   operator: every prediction and the metrics ${keyNote}`,
    `  Client key ${local.clientApiKey}   its own predictions only${opts.inMemory || process.env.MLSHIP_CLIENT_API_KEY ? '' : ` (kept in ${shortPath(dataPaths(local.dataDir).clientApiKey)})`}`,
    `  Model      ${m.name} ${m.version}   ${local.modelUrl}   from ${local.modelS3Uri}`,
    `  DynamoDB   ${local.dynamodbUrl}   table ${local.tableName}`,
    `  S3         ${local.s3Url}   bucket ${local.bucketName}`,
    `  SQS        ${local.logDlqUrl}`,
    `  Data       ${opts.inMemory ? 'in memory (gone at stop)' : shortPath(local.dataDir)}`,
    '',
    'Try a prediction:',
    `  ${exampleCurl(local.url, local.apiKey, exampleInstance(opts.modelDir ?? DEFAULT_MODEL_DIR, m))}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

function portFromEnv(): number | undefined {
  const raw = process.env.PORT;
  if (raw === undefined || raw === '') return undefined;
  return parsePort(raw, 'PORT');
}

export function parsePort(raw: string, what: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new Error(`${what} must be a port number from 0 to 65535, got "${raw}"`);
  return Number(raw);
}

function shortPath(p: string): string {
  const rel = relative(PROJECT_ROOT, p);
  return rel.startsWith('..') ? p : rel;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

if (require.main === module) {
  try {
    const { values } = parseArgs({
      options: {
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        'in-memory': { type: 'boolean', default: false },
        model: { type: 'string' },
        'access-log': { type: 'boolean', default: false },
      },
    });
    void runStart({
      port: values.port !== undefined ? parsePort(values.port, '--port') : undefined,
      dataDir: values['data-dir'] ?? DEFAULT_DATA_DIR,
      inMemory: values['in-memory'],
      modelDir: values.model,
      accessLog: values['access-log'],
    });
  } catch (e) {
    process.stderr.write(`mlship: ${firstLine(e)}\n`);
    process.exitCode = 1;
  }
}

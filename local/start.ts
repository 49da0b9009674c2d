/**
 * `npm start`: the whole system on 127.0.0.1. Prints where everything is, the API key and a curl to try;
 * Ctrl-C, SIGTERM, SIGINT, SIGHUP (a closed terminal) or the end of the process that started it (npm, an IDE, a process manager)
 * stops everything cleanly. A port in use or a data folder another run holds is one line on stderr and
 * exit code 1.
 */

import { relative } from 'node:path';
import { Command, Option } from 'commander';
import { setLineSink } from '../lambda/runtime/log-output';
import { localAuthFromConfigFile } from './auth/config-auth';
import { challengerLine, localChallenger } from './challenger';
import { DataDirBusyError } from './data-dir-lock';
import { exampleLines, exampleRow } from './example';
import type { AccessLogEntry } from './gateway';
import { PortInUseError } from './listen';
import { DEFAULT_DATA_DIR, DEFAULT_MODEL_DIR, dataPaths, LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from './paths';
import { addStartOptions, parsePort, type RunStartOptions, type StartFlags, startOptionsOf } from './start-options';
import { type LocalSystem, startLocal } from './system';
import { RequestSummary, requestLine, shortHandlerLine } from './terminal-log';

/** Starts the system, prints the banner and stops on SIGINT, SIGTERM or SIGHUP. Resolves once it has stopped. */
export async function runStart(opts: RunStartOptions): Promise<void> {
  const tty = process.stderr.isTTY;
  // Signals are taken from the first moment: one during start-up stops the system as soon as it is up,
  // so no child process (the model server) is left behind.
  let signalled: string | undefined;
  let onSignal: (signal: string) => void = (signal) => {
    signalled = signal;
  };
  // A closed terminal (SIGHUP) stops it the same way: requests in flight answered, the log handed on.
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => onSignal(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
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
  const output = terminalOutput(opts);
  let local: LocalSystem;
  try {
    local = await startLocal({
      port: opts.port ?? portFromEnv(),
      dataDir: opts.dataDir,
      inMemory: opts.inMemory,
      modelDir: opts.modelDir,
      challenger: localChallenger(opts.challenger),
      buildDashboard: true,
      // The routes ask for what the deployed API's do (docs/auth.md).
      auth: localAuthFromConfigFile(PROJECT_ROOT, { credentials: S3RVER_CREDENTIALS, region: LOCAL_NAMES.region }),
      onProgress: (m) => process.stderr.write(tty ? `\r\x1b[2K… ${m}` : `… ${m}\n`),
      onRequest: output.onRequest,
    });
  } catch (e) {
    starting = false;
    if (tty) process.stderr.write('\r\x1b[2K');
    // Expected failures (a taken port, a busy data folder, a bad model folder) are one line, not a stack trace.
    process.stderr.write(`mlship: ${e instanceof PortInUseError || e instanceof DataDirBusyError ? e.message : firstLine(e)}\n`);
    process.exitCode = 1;
    output.close();
    for (const [signal, handler] of handlers) process.off(signal, handler);
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
  output.close();
  for (const [signal, handler] of handlers) process.off(signal, handler);
  process.off('beforeExit', onBeforeExit);
  clearInterval(watchParent);
}

/** The signals that stop the system cleanly. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How often the parent process is checked. */
const PARENT_POLL_MS = 500;

/**
 * Routes the handlers' lines and the request log to the terminal (on stderr: stdout holds the banner).
 * Quiet by default: summaries and short warnings; `--verbose` writes the structured lines unchanged.
 */
function terminalOutput(opts: RunStartOptions): { onRequest?: (e: AccessLogEntry) => void; close(): void } {
  const err = (line: string) => process.stderr.write(`${line}\n`);
  if (opts.verbose) {
    setLineSink();
  } else {
    // Only warnings and errors are shown: the handlers build no other lines.
    setLineSink(
      (line, kind) => {
        const short = shortHandlerLine(line, kind);
        if (short !== undefined) err(short);
      },
      ['WARN', 'ERROR'],
    );
  }
  const every = opts.summaryEvery ?? 10;
  const summary = every > 0 && !opts.verbose && !opts.accessLog ? new RequestSummary() : undefined;
  const timer = summary
    ? setInterval(() => {
        const line = summary.flush(new Date(), every);
        if (line !== undefined) err(line);
      }, every * 1000).unref()
    : undefined;
  const onRequest = (e: AccessLogEntry) => {
    if (opts.accessLog) err(requestLine(e, new Date()));
    summary?.add(e);
  };
  return {
    onRequest: opts.accessLog || summary ? onRequest : undefined,
    close() {
      clearInterval(timer);
      setLineSink();
    },
  };
}

function printBanner(local: LocalSystem, opts: RunStartOptions): void {
  const m = local.manifest;
  const keyNote = process.env.MLSHIP_API_KEY
    ? '(from MLSHIP_API_KEY)'
    : opts.inMemory
      ? '(this run only)'
      : `(kept in ${shortPath(dataPaths(local.dataDir).apiKey)})`;
  const lines = [
    'mlship is running on 127.0.0.1',
    '',
    `  API        ${local.url}   (GET /openapi.json lists the routes)`,
    `  Dashboard  ${local.url}/`,
    `  API key    ${local.apiKey}   operator: every prediction and the metrics ${keyNote}`,
    `  Client key ${local.clientApiKey}   its own predictions only${opts.inMemory || process.env.MLSHIP_CLIENT_API_KEY ? '' : ` (kept in ${shortPath(dataPaths(local.dataDir).clientApiKey)})`}`,
    `  Model      ${m.name} ${m.version}   ${local.modelUrl}   from ${local.modelS3Uri}`,
    ...(local.auth
      ? [
          `  Auth       operator routes: ${local.auth.operatorRoutes}, other routes: ${local.auth.otherRoutes}   (mlship.config.json; docs/auth.md)`,
        ]
      : []),
    ...(opts.challenger?.dir ? [`  Challenger ${challengerLine(opts.challenger)}   (mlship versions | promote | rollback)`] : []),
    `  DynamoDB   ${local.dynamodbUrl}   table ${local.tableName}`,
    `  S3         ${local.s3Url}   bucket ${local.bucketName}`,
    `  SQS        ${local.sqsUrl}   queue ${local.logDlqUrl}`,
    `  AWS keys   ${S3RVER_CREDENTIALS.accessKeyId} / ${S3RVER_CREDENTIALS.secretAccessKey}, region ${LOCAL_NAMES.region}   (S3 checks them; DynamoDB and SQS take any)`,
    `  Data       ${opts.inMemory ? 'in memory (gone at stop)' : shortPath(local.dataDir)}`,
    '',
    ...exampleLines(local.url, local.apiKey, m, exampleRow(opts.modelDir ?? DEFAULT_MODEL_DIR, m)),
    '',
    'Read the prediction log and the bucket with the AWS CLI:',
    `  export AWS_ACCESS_KEY_ID=${S3RVER_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${S3RVER_CREDENTIALS.secretAccessKey} AWS_DEFAULT_REGION=${LOCAL_NAMES.region}`,
    `  aws --endpoint-url ${local.dynamodbUrl} dynamodb scan --table-name ${local.tableName} --max-items 5`,
    `  aws --endpoint-url ${local.s3Url} s3 ls s3://${local.bucketName}/ --recursive`,
    '',
    opts.verbose
      ? 'Handler logs and metrics follow as JSON lines.'
      : `Requests are summed up every ${opts.summaryEvery ?? 10} s (--access-log: one line each; --verbose: the JSON logs).`,
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

function shortPath(p: string): string {
  const rel = relative(PROJECT_ROOT, p);
  return rel.startsWith('..') ? p : rel;
}

function firstLine(e: unknown): string {
  const [line = ''] = (e instanceof Error ? e.message : String(e)).split('\n'); // split always yields at least one part
  return line;
}

if (require.main === module) {
  const program = addStartOptions(new Command('npm start --'))
    .description('Run the whole system on 127.0.0.1: embedded DynamoDB, S3 and SQS, the model server and the API with its dashboard.')
    .addOption(
      new Option('--data-dir <dir>', 'folder of the persisted log, bucket, queue and API key').default(DEFAULT_DATA_DIR, '.mlship/local'),
    )
    .addHelpText(
      'after',
      '\nEnvironment:\n  PORT            API port when --port is not given\n  MLSHIP_API_KEY  API key to require (default: the one kept in the data folder, else a new one)',
    )
    .showHelpAfterError()
    .action((flags: StartFlags & { dataDir: string }) => runStart(startOptionsOf(flags, flags.dataDir)));
  void program.parseAsync(process.argv);
}

/**
 * `mlship`: the command line of the kit. Commands go to the local system by default (`npm start`) or to a
 * deployed stack with `--stack NAME` (found through its CloudFormation outputs).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { batchCommand } from '../container/src/batch/cli';
import { NAMED_QUERIES } from '../contract/analytics-queries';
import type { ModelManifest } from '../contract/manifest';
import { loadConfig, modelDirOf, promoteInConfigFile } from '../lib/config';
import { formatResult, runExport, runQuery } from '../local/cli/analytics';
import { ApiCallError, callApi } from '../local/cli/api';
import {
  feedback,
  followPredictions,
  formatTable,
  invoke,
  listPredictions,
  progress,
  progressDone,
  replay,
  serve,
  uploadModel,
} from '../local/cli/commands';
import { formatInit, initModel } from '../local/cli/init';
import { resolveTarget, type TargetOptions } from '../local/cli/target';
import { DEFAULT_DATA_DIR } from '../local/paths';
import { addStartOptions, runStart, type StartFlags, startOptionsOf } from '../local/start';
import { versionsCommands } from '../local/versions-command';

function intOption(name: string, min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
    return Number(raw);
  };
}

const program = new Command('mlship')
  .description('Take a trained ONNX model to an inference API — on this machine or on AWS.')
  .addOption(new Option('--stack <name>', 'deployed stack (or stack prefix) to talk to, instead of the local system'))
  .addOption(new Option('--api-key <key>', "API key (default: MLSHIP_API_KEY, or the local system's key)"))
  .addOption(new Option('--data-dir <dir>', 'data folder of the local system').default(DEFAULT_DATA_DIR, '.mlship/local'))
  .addOption(new Option('--region <region>', "AWS region of the stack (default: the SDK's configuration)"))
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true });

/** The global options, whatever subcommand is running. */
function target(cmd: Command) {
  return resolveTarget(cmd.optsWithGlobals<TargetOptions>());
}

addStartOptions(program.command('start'))
  .description('Run the whole system on 127.0.0.1: DynamoDB, S3 and SQS stand-ins, the model server and the API (same as npm start)')
  .action(async (flags: StartFlags, cmd: Command) => {
    await runStart(startOptionsOf(flags, cmd.optsWithGlobals<{ dataDir: string }>().dataDir));
  });

program
  .command('init')
  .description('Write a model folder (model.json, baseline.json, parity.json) for an ONNX file a converter exported')
  .argument('<model.onnx>', 'the ONNX file (skl2onnx, onnxmltools, torch.onnx.export, tf2onnx)')
  .requiredOption('--out <dir>', 'model folder to write')
  .option('--name <name>', 'model name (default: the file name)')
  .option('--version <v>', 'model version', '1')
  .option('--data <sample.csv>', 'sample rows with a header row naming the columns: feature names, baseline.json, five test predictions')
  .option('--labels <a,b,…>', "class labels in the model's class order, when the model does not name them")
  .option('--expected-column <col>', "column of --data holding the training framework's own predictions: writes parity.json and checks it")
  .action(
    async (
      model: string,
      flags: { out: string; name?: string; version: string; data?: string; labels?: string; expectedColumn?: string },
    ) => {
      const result = await initModel({ model, ...flags, labels: flags.labels?.split(',').map((l) => l.trim()) });
      process.stdout.write(`${formatInit(result)}\n`);
      if (result.parityMismatches > 0) process.exitCode = 1;
    },
  );

program
  .command('serve')
  .description("Run the model server alone (the container's `serve` command)")
  .requiredOption('--model <dir>', 'model folder (model.json + the ONNX file)')
  .option('--port <n>', 'port (default: SAGEMAKER_BIND_TO_PORT, PORT or 8080)')
  .option('--workers <n>', 'worker processes, 0 = one per core')
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .action(async (flags: { model: string; port?: string; workers?: string; host: string }) => {
    const args = ['--model', flags.model, '--host', flags.host];
    if (flags.port !== undefined) args.push('--port', flags.port);
    if (flags.workers !== undefined) args.push('--workers', flags.workers);
    process.exitCode = await serve(args);
  });

program
  .command('invoke')
  .description('Send instances to POST /predict: a JSON string or file, a CSV file, image files, or - for stdin')
  .argument('<input...>', '\'{"instances": [...]}\', data.json, rows.csv, digit.png…')
  .option('--idempotency-key <key>', 'repeat-safe key: the same key and body return the first answer')
  .addHelpText(
    'after',
    '\nExamples:\n  mlship invoke \'{"instances": [[1, 2, 3]]}\'\n  mlship invoke rows.csv            (one instance per row; a header row names the features)\n  mlship invoke seven.png three.png (images are sent base64)',
  )
  .action(async (inputs: string[], flags: { idempotencyKey?: string }, cmd: Command) => {
    const answer = await invoke(await target(cmd), inputs, flags);
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  });

program
  .command('upload-model')
  .description('Pack a model folder into model.tar.gz (as the deploy does) and upload it under models/<name>/<version>/')
  .argument('<dir>', 'model folder (model.json + the ONNX file)')
  .action(async (dir: string, _flags: object, cmd: Command) => {
    const r = await uploadModel(await target(cmd), dir);
    process.stdout.write(`${r.s3Uri}\n  ${r.manifest.name} ${r.manifest.version}, ${r.bytes} bytes, sha256 ${r.sha256}\n`);
  });

program
  .command('predictions')
  .description('List logged predictions, newest first; --follow prints new ones as they come')
  .option('--limit <n>', 'page size', intOption('--limit', 1, 200), 20)
  .option('--version <v>', 'only this model version')
  .option('--from <iso>', 'from this time (ISO 8601)')
  .option('--to <iso>', 'up to this time (ISO 8601)')
  .option('-f, --follow', 'keep polling and print new predictions', false)
  .option('--interval <seconds>', 'polling interval with --follow', intOption('--interval', 1, 3600), 2)
  .option('--json', 'print JSON instead of a table', false)
  .action(
    async (
      flags: { limit: number; version?: string; from?: string; to?: string; follow: boolean; interval: number; json: boolean },
      cmd: Command,
    ) => {
      const t = await target(cmd);
      const query = { limit: flags.limit, version: flags.version, from: flags.from, to: flags.to };
      if (flags.follow) {
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        process.once('SIGTERM', () => abort.abort());
        await followPredictions(t, { ...query, intervalMs: flags.interval * 1000, json: flags.json }, abort.signal);
        return;
      }
      const page = await listPredictions(t, query);
      process.stdout.write(`${flags.json ? JSON.stringify(page, null, 2) : formatTable(page.items)}\n`);
      if (!flags.json && page.cursor) process.stdout.write('(more: narrow with --from/--to or raise --limit)\n');
    },
  );

program
  .command('feedback')
  .description('Record the true label of a prediction (a number for regression models)')
  .argument('<id>', 'prediction id')
  .argument('<label>', 'the true label')
  .action(async (id: string, label: string, _flags: object, cmd: Command) => {
    const answer = await feedback(await target(cmd), id, label);
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  });

program
  .command('replay')
  .description("Drain the prediction log's dead-letter queue into the table (exactly once per record)")
  .option('--max-batches <n>', 'stop after this many batches of 10', intOption('--max-batches', 1, 100_000), 1000)
  .action(async (flags: { maxBatches: number }, cmd: Command) => {
    const r = await replay(await target(cmd), flags.maxBatches);
    process.stdout.write(`received ${r.received}, replayed ${r.replayed}, failed ${r.failed}\n`);
    if (r.failed > 0) process.exitCode = 1;
  });

program
  .command('query')
  .description('Run SQL or a named query over the analytics tables (predictions, feedback) with DuckDB; local system only')
  .argument('[sql]', 'SQL over the tables `predictions` and `feedback`')
  .option('--named <name>', `a named query: ${NAMED_QUERIES.join(', ')}`)
  .option('--since <day>', 'first day (yyyy-mm-dd) a named query reads (default: 90 days ago)')
  .option('--json', 'print JSON rows instead of a table', false)
  .addHelpText(
    'after',
    '\nExamples:\n  mlship query --named accuracy-by-day\n  mlship query "SELECT version, count(*) FROM predictions GROUP BY version"',
  )
  .action(async (sql: string | undefined, flags: { named?: string; since?: string; json: boolean }, cmd: Command) => {
    const t = await target(cmd);
    const result = await runQuery(t, {
      sql,
      named: flags.named,
      since: flags.since,
      dataDir: cmd.optsWithGlobals<{ dataDir: string }>().dataDir,
    });
    process.stdout.write(`${flags.json ? JSON.stringify(result.rows, null, 2) : formatResult(result)}\n`);
  });

program
  .command('export')
  .description('Backfill the analytics store from the prediction log table (logs that predate the stream); local system only')
  .action(async (_flags: object, cmd: Command) => {
    const r = await runExport(await target(cmd), (p) => progress(`scanned ${p.scanned} items, wrote ${p.predictions} predictions…`));
    progressDone();
    process.stdout.write(
      `scanned ${r.scanned} items: ${r.predictions} predictions and ${r.feedback} feedback rows in ${r.objects} Parquet objects\n`,
    );
  });

// `versions`, `promote`, `rollback`: the champion and challenger side by side (docs/versions.md).
const onPromoted = (t: { kind: string }) => (t.kind === 'stack' ? promoteInConfigFile(process.cwd()) : undefined);
for (const c of versionsCommands({ target, manifest: (t) => callApi<ModelManifest>(t, '/model'), onPromoted })) program.addCommand(c);

// `batch`: a local dataset through the same code as the container's batch mode, or the state machine in AWS.
program.addCommand(batchCommand(() => modelDirOf(loadConfig({ context: () => undefined, rootDir: process.cwd() }), process.cwd())));

program.parseAsync(process.argv).catch((e: unknown) => {
  // Expected failures read as one line; a stack trace would only hide the message.
  const message = e instanceof ApiCallError || e instanceof Error ? e.message : String(e);
  process.stderr.write(`mlship: ${message}\n`);
  process.exitCode = 1;
});

/**
 * The commands of `mlship`, the command line of the kit (its entry is bin/mlship-cli.ts). Commands go to
 * the local system by default (`npm start`) or to a deployed stack with `--stack NAME` (found through its
 * CloudFormation outputs). Each command loads what it runs (the SDK clients, onnxruntime, DuckDB, the
 * local system) only when it runs: the help and a light command never wait for the heavy ones.
 */
import { Command, Help, InvalidArgumentError, Option } from 'commander';
import { NAMED_QUERIES, type NamedQuery } from '../contract/analytics-queries';
import type { ModelManifest } from '../contract/manifest';
import { PARAMETERS, summaryWindowMs } from '../contract/route-schemas';
import { DEFAULT_DATA_DIR } from '../local/paths';
import { addStartOptions, type StartFlags, startOptionsOf } from '../local/start-options';
import { batchCommand } from './batch';
import type { TargetOptions } from './target';
import type { TrainFlags } from './train/command';

function intOption(name: string, min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
    return Number(raw);
  };
}

/** The global options, whatever subcommand is running. */
async function target(cmd: Command) {
  const { resolveTarget } = await import('./target');
  return resolveTarget(cmd.optsWithGlobals<TargetOptions>());
}

/** `--since` of `mlship versions`: a window in minutes, hours or days, as milliseconds. */
function windowOption(raw: string): number {
  const parsed = PARAMETERS.window.safeParse(raw);
  if (!parsed.success) throw new InvalidArgumentError('--since takes minutes, hours or days, e.g. 30m, 24h, 7d.');
  return summaryWindowMs(parsed.data);
}

/** The `sync-config` command line for the stack `cmd` talks to, as `mlship versions` suggests it. */
function syncCommand(cmd: Command): string {
  const { stack, region } = cmd.optsWithGlobals<TargetOptions>();
  return `mlship --stack ${stack ?? 'NAME'}${region === undefined ? '' : ` --region ${region}`} sync-config`;
}

/** The global options, by attribute name: where a command goes (a deployed stack or the local system) and with which key. */
type GlobalOption = 'stack' | 'region' | 'dataDir' | 'apiKey';
/** Commands that talk to a deployed stack or the local system. */
const TARGET: readonly GlobalOption[] = ['stack', 'region', 'dataDir', 'apiKey'];
/** Commands that run against the local system only. */
const LOCAL_API: readonly GlobalOption[] = ['dataDir', 'apiKey'];
const STACK = 'Options for a deployed stack:';
const LOCAL = 'Options for the local system:';
const globalsRead = new WeakMap<Command, readonly GlobalOption[]>();

/** A subcommand of `program` that reads these global options (and lists only them in its help). */
function subcommand(program: Command, name: string, globals: readonly GlobalOption[] = []): Command {
  const cmd = program.command(name);
  globalsRead.set(cmd, globals);
  return cmd;
}

/** The `mlship` program: every command and the global options. */
export function mlshipProgram(): Command {
  const program = new Command('mlship')
    .description('Take a trained ONNX model to an inference API — on this machine or on AWS.')
    .addOption(new Option('--stack <name>', 'deployed stack (or stack prefix) to talk to, instead of the local system').helpGroup(STACK))
    .addOption(new Option('--region <region>', "AWS region of the stack (default: the SDK's configuration)").helpGroup(STACK))
    .addOption(
      new Option('--data-dir <dir>', 'data folder of the local system').default(DEFAULT_DATA_DIR, '.mlship/local').helpGroup(LOCAL),
    )
    .addOption(new Option('--api-key <key>', "API key (default: MLSHIP_API_KEY, or the local system's key)"))
    .showHelpAfterError()
    .configureHelp({
      showGlobalOptions: true,
      // A command's help lists only the global options it reads: `init` and `serve` read none.
      visibleGlobalOptions(this: Help, cmd: Command): Option[] {
        const reads = globalsRead.get(cmd) ?? [];
        return Help.prototype.visibleGlobalOptions.call(this, cmd).filter((o) => (reads as string[]).includes(o.attributeName()));
      },
    });

  addStartOptions(subcommand(program, 'start', ['dataDir']))
    .description('Run the whole system on 127.0.0.1: DynamoDB, S3 and SQS stand-ins, the model server and the API (same as npm start)')
    .action(async (flags: StartFlags, cmd: Command) => {
      const { runStart } = await import('../local/start');
      await runStart(startOptionsOf(flags, cmd.optsWithGlobals<{ dataDir: string }>().dataDir));
    });

  subcommand(program, 'init')
    .description('Write a model folder (model.json, baseline.json, parity.json) for an ONNX file a converter exported')
    .argument('<model.onnx>', 'the ONNX file (skl2onnx, onnxmltools, torch.onnx.export, tf2onnx)')
    .requiredOption('--out <dir>', 'model folder to write')
    .option('--name <name>', 'model name (default: the file name)')
    .option('--version <v>', 'model version', '1')
    .option('--data <sample.csv>', 'sample rows with a header row naming the columns: feature names, baseline.json, five test predictions')
    .option('--labels <a,b,…>', "class labels in the model's class order, when the model does not name them")
    .option(
      '--expected-column <col>',
      "column of --data holding the training framework's own predictions: writes parity.json and checks it",
    )
    .action(
      async (
        model: string,
        flags: { out: string; name?: string; version: string; data?: string; labels?: string; expectedColumn?: string },
      ) => {
        const { formatInit, initModel } = await import('./init');
        const result = await initModel({ model, ...flags, labels: flags.labels?.split(',').map((l) => l.trim()) });
        process.stdout.write(`${formatInit(result)}\n`);
        if (result.parityMismatches > 0) process.exitCode = 1;
      },
    );

  subcommand(program, 'serve')
    .description("Run the model server alone (the container's `serve` command)")
    .requiredOption('--model <dir>', 'model folder (model.json + the ONNX file)')
    .option('--port <n>', 'port (default: SAGEMAKER_BIND_TO_PORT, PORT or 8080)')
    .option('--workers <n>', 'worker processes, 0 = one per core')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(async (flags: { model: string; port?: string; workers?: string; host: string }) => {
      const args = ['--model', flags.model, '--host', flags.host];
      if (flags.port !== undefined) args.push('--port', flags.port);
      if (flags.workers !== undefined) args.push('--workers', flags.workers);
      const { serve } = await import('./commands');
      process.exitCode = await serve(args);
    });

  subcommand(program, 'invoke', TARGET)
    .description('Send instances to POST /predict: a JSON string or file, a CSV file, image files, or - for stdin')
    .argument('<input...>', '\'{"instances": [...]}\', data.json, rows.csv, digit.png…')
    .option('--idempotency-key <key>', 'repeat-safe key: the same key and body return the first answer')
    .addHelpText(
      'after',
      '\nExamples:\n  mlship invoke \'{"instances": [[1, 2, 3]]}\'\n  mlship invoke rows.csv            (one instance per row; a header row names the features)\n  mlship invoke seven.png three.png (images are sent base64)',
    )
    .action(async (inputs: string[], flags: { idempotencyKey?: string }, cmd: Command) => {
      const { invoke } = await import('./commands');
      const answer = await invoke(await target(cmd), inputs, flags);
      process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    });

  subcommand(program, 'upload-model', TARGET)
    .description('Pack a model folder into model.tar.gz (as the deploy does) and upload it under models/<name>/<version>/')
    .argument('<dir>', 'model folder (model.json + the ONNX file)')
    .action(async (dir: string, _flags: object, cmd: Command) => {
      const { uploadModel } = await import('./commands');
      const r = await uploadModel(await target(cmd), dir);
      process.stdout.write(`${r.s3Uri}\n  ${r.manifest.name} ${r.manifest.version}, ${r.bytes} bytes, sha256 ${r.sha256}\n`);
    });

  subcommand(program, 'predictions', TARGET)
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
        const { followPredictions, formatTable, listPredictions } = await import('./commands');
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

  subcommand(program, 'feedback', TARGET)
    .description('Record the true label of a prediction (a number for regression models)')
    .argument('<id>', 'prediction id')
    .argument('<label>', 'the true label')
    .option('--replace', 'replace the label the prediction already has (without it, a second label is refused)', false)
    .action(async (id: string, label: string, flags: { replace: boolean }, cmd: Command) => {
      const { feedback } = await import('./commands');
      const answer = await feedback(await target(cmd), id, label, { replace: flags.replace });
      process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    });

  subcommand(program, 'replay', TARGET)
    .description("Drain the prediction log's dead-letter queue into the table (exactly once per record)")
    .option('--max-batches <n>', 'stop after this many batches of 10', intOption('--max-batches', 1, 100_000), 1000)
    .action(async (flags: { maxBatches: number }, cmd: Command) => {
      const { replay } = await import('./commands');
      const r = await replay(await target(cmd), flags.maxBatches);
      process.stdout.write(`received ${r.received}, replayed ${r.replayed}, failed ${r.failed}\n`);
      if (r.failed > 0) process.exitCode = 1;
    });

  subcommand(program, 'preflight', ['region'])
    .description("Before a first deploy: check the account's Lambda quotas against what mlship needs (exit 1 if one is short)")
    .action(async (_flags: unknown, cmd: Command) => {
      const { formatPreflight, lambdaAccountSettings, preflight } = await import('./preflight');
      const region = cmd.optsWithGlobals<TargetOptions>().region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
      if (region === undefined) throw new InvalidArgumentError('Give --region (or set AWS_REGION): the quotas are per region.');
      const checks = await preflight(lambdaAccountSettings({ region }));
      process.stdout.write(`${formatPreflight(checks)}\n`);
      if (checks.some((c) => !c.ok)) process.exitCode = 1;
    });

  subcommand(program, 'query', LOCAL_API)
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
      const { formatResult, runQuery } = await import('./analytics');
      const t = await target(cmd);
      const result = await runQuery(t, {
        sql,
        named: flags.named,
        since: flags.since,
        dataDir: cmd.optsWithGlobals<{ dataDir: string }>().dataDir,
      });
      process.stdout.write(`${flags.json ? JSON.stringify(result.rows, null, 2) : formatResult(result)}\n`);
    });

  subcommand(program, 'report', TARGET)
    .description('Write one self-contained HTML file: quality, drift, missing values and latency per model version')
    .option('--since <window>', 'how far back, 1h to 90d', '7d')
    .option('--out <file>', 'the HTML file to write', 'report.html')
    .action(async (flags: { since: string; out: string }, cmd: Command) => {
      const [{ runQuery }, { callApi }, { writeReport }] = await Promise.all([
        import('./analytics'),
        import('./api'),
        import('../local/report/write'),
      ]);
      const t = await target(cmd);
      const { dataDir } = cmd.optsWithGlobals<{ dataDir: string }>();
      // The analytics store is queried on the local system; a stack's report leaves the per-day section out.
      const named = (name: NamedQuery, since: string) => runQuery(t, { named: name, since, dataDir });
      const source = { getJson: <T>(path: string) => callApi<T>(t, path), ...(t.kind === 'local' ? { named } : {}) };
      process.stdout.write(`${await writeReport(source, flags)}\n`);
    });

  subcommand(program, 'export', LOCAL_API)
    .description('Backfill the analytics store from the prediction log table (logs that predate the stream); local system only')
    .action(async (_flags: object, cmd: Command) => {
      const { runExport } = await import('./analytics');
      const { progress, progressDone } = await import('./commands');
      const r = await runExport(await target(cmd), (p) => progress(`scanned ${p.scanned} items, wrote ${p.predictions} predictions…`));
      progressDone();
      process.stdout.write(
        `scanned ${r.scanned} items: ${r.predictions} predictions, ${r.feedback} feedback rows and ${r.shadows} shadow predictions in ${r.objects} Parquet objects\n`,
      );
    });

  // `versions`, `promote`, `rollback`: the champion and challenger side by side (docs/versions.md).
  subcommand(program, 'versions', TARGET)
    .description('The hosted model versions: role, traffic, and live figures from the prediction log')
    .addOption(
      new Option('--since <window>', 'window of the figures (30m, 24h, 7d)').default(windowOption('24h'), '24h').argParser(windowOption),
    )
    .option('--json', 'print JSON instead of a table', false)
    .option('--all', 'also every registered version (models/<name>/<version>/) with its held-out metrics', false)
    .action(async (flags: { since: number; json: boolean; all: boolean }, cmd: Command) => {
      const [{ callApi }, { formatVersions, versionsReport, configNote }] = await Promise.all([import('./api'), import('./versions')]);
      const t = await target(cmd);
      const manifest = await callApi<ModelManifest>(t, '/model');
      const report = await versionsReport(t, manifest, flags.since);
      // On a stack, whether the config file still names the champion in force (a promotion on AWS changes only the store).
      const note = t.kind === 'stack' ? configNote(report, process.cwd(), syncCommand(cmd)) : undefined;
      const table = `${formatVersions(report)}${note === undefined ? '' : `\n\n${note}`}`;
      if (!flags.all) {
        process.stdout.write(`${flags.json ? JSON.stringify(report, null, 2) : table}\n`);
        return;
      }
      const { registeredVersions, formatRegistered } = await import('./train/command');
      const registered = await registeredVersions(t, manifest.name);
      process.stdout.write(
        `${flags.json ? JSON.stringify({ ...report, registered }, null, 2) : `${table}\n\nregistered:\n${formatRegistered(manifest.name, registered)}`}\n`,
      );
    });

  subcommand(program, 'sync-config', ['stack', 'region', 'apiKey'])
    .description(
      "Bring mlship.config.json in line with a stack's routing state after a promotion made on AWS (e.g. by the automatic policy), downloading a promoted registered version beside the champion; nothing when they agree",
    )
    .action(async (_flags: object, cmd: Command) => {
      if (cmd.optsWithGlobals<TargetOptions>().stack === undefined)
        throw new Error(
          'sync-config follows a deployed stack: give --stack NAME (the local system takes its versions from its start flags).',
        );
      const [{ callApi }, { formatSync, syncConfig }] = await Promise.all([import('./api'), import('./versions')]);
      const t = await target(cmd);
      const r = await syncConfig(t, await callApi<ModelManifest>(t, '/model'), process.cwd());
      process.stdout.write(`${formatSync(r, t.label)}\n`);
    });

  const routingChange = (name: 'promote' | 'rollback', description: string) =>
    subcommand(program, name, TARGET)
      .description(description)
      .action(async (_flags: object, cmd: Command) => {
        const [{ callApi }, { changeRouting, configAfterPromotion, formatChange }] = await Promise.all([
          import('./api'),
          import('./versions'),
        ]);
        const t = await target(cmd);
        const manifest = await callApi<ModelManifest>(t, '/model');
        const c = await changeRouting(t, manifest, name);
        process.stdout.write(`${formatChange(name, c, t)}\n`);
        if (name === 'promote' && t.kind === 'stack') {
          // The stack's config follows the promotion as sync-config makes it follow (a registered champion
          // included), so the next deploy serves the promoted version alone.
          const note = await configAfterPromotion(t, manifest, process.cwd());
          if (note !== undefined) process.stdout.write(`${note}\n`);
        }
      });
  routingChange('promote', 'Make the challenger the champion (the former champion stays hosted, without traffic)');
  routingChange('rollback', "Drop the challenger's traffic and shadow to 0 (it stays hosted)");

  subcommand(program, 'train', LOCAL_API)
    .description(
      'Retrain a model: snapshot its data, run its train.py, evaluate against the serving model, register a version the policy accepts',
    )
    .option('--model <dir>', 'model folder with train.py (its model is the champion)', 'models/breast-cancer')
    .option('--data <file|s3://…>', 'training CSV (default: datasets/<name>/dataset.csv in the bucket)')
    .option(
      '--with-feedback',
      'add the labeled predictions (inputs as served, latest feedback as the label); the most recent are held out',
      false,
    )
    .option('--since <days>', 'how far back --with-feedback reads, e.g. 30d', '30d')
    .option('--param <name=value...>', 'a hyperparameter for train.py (repeatable)')
    .option('--shadow', 'put an accepted version in the shadow of the running system as the challenger (no restart)', false)
    .option(
      '--reproduce <version>',
      'retrain a registered version from its snapshot, code and parameters and compare its parity predictions',
    )
    .option('--break-lock', 'remove a training lock a crashed run left behind, then run', false)
    .addHelpText(
      'after',
      '\nExamples:\n  mlship train --model models/breast-cancer\n  mlship train --with-feedback --since 14d --param hidden-units=64\n  mlship train --reproduce 1.0.1',
    )
    .action(async (flags: Omit<TrainFlags, 'dataDir'>, cmd: Command) => {
      const { runTrainCommand } = await import('./train/command');
      process.exitCode = await runTrainCommand(await target(cmd), {
        ...flags,
        dataDir: cmd.optsWithGlobals<{ dataDir: string }>().dataDir,
      });
    });

  subcommand(program, 'registry', LOCAL_API)
    .description("List a model's registered versions with their held-out metrics")
    .option('--model <dir>', 'model folder (its model.json names the model)', 'models/breast-cancer')
    .option('--json', 'print the evaluations as JSON', false)
    .action(async (flags: { model: string; json: boolean }, cmd: Command) => {
      const { runRegistryCommand } = await import('./train/command');
      process.stdout.write(`${await runRegistryCommand(await target(cmd), flags)}\n`);
    });

  // `batch`: a local dataset through the same code as the container's batch mode, or the state machine in AWS.
  program.addCommand(
    batchCommand({
      described: 'modelDir of ./mlship.config.json, else models/breast-cancer',
      async dir() {
        const { loadConfig, modelDirOf } = await import('../lib/config');
        return modelDirOf(loadConfig({ context: () => undefined, rootDir: process.cwd() }), process.cwd());
      },
    }),
  );
  return program;
}

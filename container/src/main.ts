/**
 * Command line of the model server. SageMaker starts the image as `docker run IMAGE serve`; without
 * Docker, `npm run serve -- --model models/breast-cancer --port 8080` starts the same server.
 * `batch` runs a dataset through the model in chunks (the Fargate backend's batch task); `snapshot` and
 * `evaluate` are the training state machine's steps.
 */
import { Command } from 'commander';
import { batchContainerCommand } from './batch/command';
import { serveCluster } from './cluster';
import { serveSettings } from './config';
import { log } from './log';
import { trainingContainerCommands } from './training/command';

const program = new Command('mlship-model-server').description('ONNX inference server speaking the SageMaker container contract');

program
  .command('serve')
  .description('Load the model and answer /ping and /invocations')
  .option('--model <dir>', 'model directory (default: MODEL_DIR, MODEL_S3_URI or /opt/ml/model)')
  .option('--challenger <dir>', 'a second model version hosted beside it (default: CHALLENGER_MODEL_DIR, CHALLENGER_MODEL_S3_URI or none)')
  .option('--port <n>', 'port (default: SAGEMAKER_BIND_TO_PORT, PORT or 8080)')
  .option('--workers <n>', 'worker processes, 0 = one per core (default: MLSHIP_WORKERS or 0)')
  .option('--host <addr>', 'address to listen on', '0.0.0.0')
  .action(async (flags: { model?: string; challenger?: string; port?: string; workers?: string; host: string }) => {
    await serveCluster(serveSettings(flags), flags.host);
  });

// `batch --input s3://… --output s3://…`: the ECS RunTask of the batch state machine runs this.
program.addCommand(batchContainerCommand());

// `snapshot` and `evaluate`: the training state machine's Processing jobs (docs/retraining.md).
for (const command of trainingContainerCommands()) program.addCommand(command);

program.parseAsync(process.argv).catch((e: unknown) => {
  log('error', 'the model server could not start', { error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});

/**
 * `mlship train --shadow`: an accepted version made ready to serve as the challenger in shadow. The
 * running model server does not load a new version while it runs, so the registered package is
 * extracted into a local model folder and the exact `npm start` line that hosts it beside the champion
 * is given; nothing is routed to a version no server hosts.
 */
import { join, resolve } from 'node:path';
import { downloadModel } from '../../container/src/model-source';
import { modelPackageKey } from '../../contract/bucket';
import { DEFAULT_DATA_DIR } from '../../local/paths';
import type { Target } from '../target';

export interface ShadowHandOver {
  /** The extracted model folder (model.json + the ONNX file) of the registered version. */
  readonly dir: string;
  /** The command that serves it as the challenger in shadow. */
  readonly command: string;
}

/** Extracts the registered package of `model` `version` under `<dataDir>/challengers/` and returns its folder. */
export async function prepareShadowChallenger(
  target: Target,
  opts: { model: string; version: string; dataDir: string },
): Promise<ShadowHandOver> {
  const uri = `s3://${target.bucketName}/${modelPackageKey(opts.model, opts.version)}`;
  const dir = await downloadModel(uri, {
    s3Url: target.s3.endpoint,
    region: target.s3.region,
    credentials: target.s3.credentials,
    cacheDir: join(resolve(opts.dataDir), 'challengers'),
  });
  // The restart must open the same data folder, where the log, the bucket and the registry are.
  const dataDir = resolve(opts.dataDir) === DEFAULT_DATA_DIR ? '' : ` --data-dir ${resolve(opts.dataDir)}`;
  return { dir, command: `npm start --${dataDir} --challenger ${dir} --shadow` };
}

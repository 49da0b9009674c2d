/**
 * The versions one model server hosts: the champion (`--model`) and an optional challenger
 * (`--challenger`) beside it, each with its own session and batcher. A request names the version it wants
 * in `x-mlship-model-version` (SageMaker: `mlship-model-version=…` in the custom attributes); without
 * one the champion answers; `x-mlship-shadow-version` (`mlship-shadow-version=…`) names a version run beside
 * it on the same rows. Which version is champion for the API is decided outside the image (the
 * routing state the predict function reads), so the server only hosts and routes.
 */
import type * as http from 'node:http';
import { ApiError } from '../../contract/errors';
import { SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER } from '../../contract/prediction';
import {
  checkChallenger,
  MODEL_VERSION_ATTRIBUTE,
  MODEL_VERSION_REQUEST_HEADER,
  SHADOW_VERSION_ATTRIBUTE,
  SHADOW_VERSION_REQUEST_HEADER,
} from '../../contract/versions';
import { type LoadedModel, loadModel } from './model';
import { resolveChallengerDir } from './model-source';

export class ModelSet<S> {
  private readonly byVersion: ReadonlyMap<string, S>;

  /** `entries[0]` is the one that answers requests naming no version. */
  constructor(private readonly entries: ReadonlyArray<{ readonly version: string; readonly serving: S }>) {
    const first = entries[0];
    if (first === undefined) throw new Error('A model set needs at least one model.');
    this.byVersion = new Map(entries.map((e) => [e.version, e.serving]));
    this.fallback = first.serving;
  }

  private readonly fallback: S;

  /** Hosted versions, the default first. */
  get versions(): string[] {
    return this.entries.map((e) => e.version);
  }

  all(): S[] {
    return this.entries.map((e) => e.serving);
  }

  has(version: string): boolean {
    return this.byVersion.has(version);
  }

  /** This set with `version` added (a version loaded while the server runs), and `drop` removed. */
  with(version: string, serving: S, drop?: string): ModelSet<S> {
    return new ModelSet([...this.entries.filter((e) => e.version !== drop), { version, serving }]);
  }

  /** The serving for a request's version (the default when it names none); UNKNOWN_MODEL_VERSION (404) otherwise. */
  pick(version: string | undefined): S {
    if (version === undefined) return this.fallback;
    const s = this.byVersion.get(version);
    if (s !== undefined) return s;
    throw new ApiError(
      'UNKNOWN_MODEL_VERSION',
      `Model version "${version}" is not hosted; hosted: ${this.versions.join(', ')}.`,
      MODEL_VERSION_REQUEST_HEADER,
      { versions: this.versions },
    );
  }
}

/** The version a request names in `header`, or in SageMaker's custom attributes as `attribute=…`; undefined when none. */
function namedVersion(header: string, attribute: string): (req: http.IncomingMessage) => string | undefined {
  const pattern = new RegExp(`(?:^|[;,\\s])${attribute}=([^;,\\s]*)`);
  return (req) => {
    const h = req.headers[header];
    if (typeof h === 'string' && h !== '') return h;
    const attrs = req.headers[SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER];
    if (typeof attrs !== 'string' || !attrs.includes(attribute)) return undefined;
    return pattern.exec(attrs)?.[1] || undefined;
  };
}

/** The version that must answer a request. */
export const requestedVersion = namedVersion(MODEL_VERSION_REQUEST_HEADER, MODEL_VERSION_ATTRIBUTE);
/** The version that shadows the answering one on the same rows (JSON answers only). */
export const requestedShadowVersion = namedVersion(SHADOW_VERSION_REQUEST_HEADER, SHADOW_VERSION_ATTRIBUTE);

export interface LoadChallengerOptions {
  /** `--challenger DIR`. @default - CHALLENGER_MODEL_DIR or CHALLENGER_MODEL_S3_URI, else none */
  readonly challengerDir?: string;
  /** Supplies the challenger instead of loading a directory. */
  readonly loadChallenger?: () => Promise<LoadedModel | undefined>;
}

/**
 * Loads the champion and the challenger (if any) side by side, checks they can share the API, and
 * releases whatever did load when either fails.
 */
export async function loadModels(champion: () => Promise<LoadedModel>, opts: LoadChallengerOptions): Promise<LoadedModel[]> {
  const challenger =
    opts.loadChallenger ??
    (async () => {
      const dir = await resolveChallengerDir({ challengerDir: opts.challengerDir });
      return dir === undefined ? undefined : loadModel(dir);
    });
  const [a, b] = await Promise.allSettled([champion(), challenger()]);
  const loaded = [a, b].flatMap((r) => (r.status === 'fulfilled' && r.value !== undefined ? [r.value] : []));
  try {
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
    if (b.value !== undefined) checkChallenger(a.value.manifest, b.value.manifest);
  } catch (e) {
    await Promise.all(loaded.map((m) => m.close()));
    throw e;
  }
  return loaded;
}

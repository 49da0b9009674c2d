/**
 * Registered versions in the cluster (docs/retraining.md, "The hand-over"): the primary reads the registry
 * for the whole instance, so a version is checked and downloaded once, not once per worker; each worker
 * loads what the primary fetched, and is told to load a version another worker has loaded before a
 * request names it there (a cold worker would make that request wait for the load).
 */
import cluster, { type Worker } from 'node:cluster';
import { errorMessage } from '../../contract/errors';
import { NotRegisteredError, type RegisteredFetcher, registeredFetcher, registrySourceFromEnv } from './model-registry';
import { MAX_REGISTERED_VERSIONS } from './model-server';

/** Worker → primary: where is this registered version? */
export interface RegisteredRequest {
  type: 'registered?';
  version: string;
}

/** Primary → worker: a registered version's directory, or why there is none (`why` when it is not registered). */
interface RegisteredMessage {
  type: 'registered';
  version: string;
  dir?: string;
  why?: string;
  error?: string;
}
/** Primary → worker: another worker has loaded this registered version; load it too, before a request names it. */
interface WarmMessage {
  type: 'warm';
  version: string;
}

function isVersionMessage<T extends RegisteredMessage | WarmMessage>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as T).type === type && typeof (m as T).version === 'string';
}

/**
 * The registry as the primary reads it for the whole instance: each version is checked and downloaded once
 * (concurrent asks share it), and once one worker has it the others are told to load it too, so no request
 * waits for a load on a worker that happens to be cold.
 */
export function registryOfInstance() {
  const source = registrySourceFromEnv();
  const fetch = source === undefined ? undefined : registeredFetcher(source);
  const fetched = new Map<string, Promise<string>>();
  // The latest versions fetched, for a restarted worker; the servers host no more than this at once.
  const latest: string[] = [];
  const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
  const send = (w: Worker, m: RegisteredMessage | WarmMessage) => w.isConnected() && w.send(m);

  return {
    answer(worker: Worker, version: string): void {
      if (fetch === undefined) {
        send(worker, { type: 'registered', version, error: 'The model server has no registry.' });
        return;
      }
      let dir = fetched.get(version);
      const first = dir === undefined;
      if (dir === undefined) {
        dir = fetch(version);
        fetched.set(version, dir);
        // A refusal is not kept here: each worker remembers it, and asks again once it has expired.
        dir.catch(() => fetched.delete(version));
      }
      dir.then(
        (d) => {
          send(worker, { type: 'registered', version, dir: d });
          if (!first) return;
          latest.push(version);
          if (latest.length > MAX_REGISTERED_VERSIONS) latest.shift();
          for (const w of workers()) if (w !== worker) send(w, { type: 'warm', version });
        },
        (e: unknown) =>
          send(worker, {
            type: 'registered',
            version,
            ...(e instanceof NotRegisteredError ? { why: e.why } : { error: errorMessage(e) }),
          }),
      );
    },
    warmRestarted(worker: Worker): void {
      for (const version of latest) send(worker, { type: 'warm', version });
    },
  };
}

/** A worker's registry: the primary fetches, this worker loads; versions other workers loaded are warmed here. */
export function registryFromPrimary(): { fetch: RegisteredFetcher; onWarm(warm: (version: string) => void): void } {
  const waiting = new Map<string, Array<{ resolve: (dir: string) => void; reject: (e: Error) => void }>>();
  process.on('message', (m: unknown) => {
    if (!isVersionMessage<RegisteredMessage>(m, 'registered')) return;
    const callers = waiting.get(m.version) ?? [];
    waiting.delete(m.version);
    for (const c of callers) {
      if (m.dir !== undefined) c.resolve(m.dir);
      else if (m.why !== undefined) c.reject(new NotRegisteredError(m.version, m.why));
      else c.reject(new Error(m.error ?? 'The registered version could not be fetched.'));
    }
  });
  return {
    fetch: (version) =>
      new Promise<string>((resolve, reject) => {
        const callers = waiting.get(version);
        if (callers !== undefined) callers.push({ resolve, reject });
        else {
          waiting.set(version, [{ resolve, reject }]);
          process.send?.({ type: 'registered?', version } satisfies RegisteredRequest);
        }
      }),
    onWarm: (warm) =>
      process.on('message', (m: unknown) => {
        if (isVersionMessage<WarmMessage>(m, 'warm')) warm(m.version);
      }),
  };
}

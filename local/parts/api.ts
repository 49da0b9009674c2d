/**
 * The Api stack on this machine: the gateway (API keys, routes, the dashboard at `/`) in front of the same
 * Lambda handlers as on AWS, and the replay function fed from the log's dead-letter queue on a timer, as
 * its event source mapping feeds it there (the functions themselves are built by `startFunctions`).
 */
import { errorMessage } from '../../contract/errors';
import { SERVICE_LIMITS } from '../../contract/limits';
import { ensureWebBuilt } from '../../web/build';
import { createRequestAuthorizer, type LocalAuthOptions } from '../auth/gateway-auth';
import { type AccessLogEntry, createGateway, type GatewayOptions } from '../gateway';
import { gracefulStop, listen } from '../listen';
import { LOCAL_NAMES } from '../paths';
import { type DrainResult, drainQueue } from '../replay-loop';
import type { DataPart } from './data';
import type { FunctionsPart } from './functions';
import { startPart } from './part';

export interface ApiKeys {
  /** The operator key: every prediction and the metrics. */
  readonly apiKey: string;
  readonly apiKeyId: string;
  /** The client key: its own predictions only. */
  readonly clientApiKey: string;
  readonly clientApiKeyId: string;
}

export interface ApiPartOptions {
  functions: Pick<FunctionsPart, 'handlers' | 'replay'>;
  keys: ApiKeys;
  /** Gateway port; 0 picks a free one. */
  port: number;
  /** Dashboard folder served at `/`. */
  staticDir: string;
  /** Build the dashboard into `staticDir` first when it is missing or stale. */
  buildDashboard: boolean;
  /** The queue the replay function drains, and a client of it. */
  data: Pick<DataPart, 'sqs' | 'logDlqUrl'>;
  /** How often the dead-letter queue is drained into the replay function; 0 turns it off. */
  replayIntervalMs: number;
  /** IAM or JWT on the routes besides the keys (docs/auth.md). @default - the keys alone */
  auth?: LocalAuthOptions;
  onRequest?: (entry: AccessLogEntry) => void;
  onResponse?: GatewayOptions['onResponse'];
  onProgress: (message: string) => void;
}

export interface ApiPart {
  /** Base URL of the API (routes at its root, dashboard at `/`). */
  readonly url: string;
  /** Drains the log dead-letter queue into the replay function now. */
  replay(): Promise<DrainResult>;
  stop(): Promise<void>;
}

/** Time past the integration timeout a stop waits for a request in flight to send its answer. */
const STOP_MARGIN_MS = 1_000;

export function startApi(opts: ApiPartOptions): Promise<ApiPart> {
  return startPart(async (started) => {
    if (opts.buildDashboard) {
      opts.onProgress('building the dashboard');
      // The API is useful without the page: a failed build is a warning, not a failed start.
      await ensureWebBuilt(opts.staticDir).catch((e: unknown) =>
        process.stderr.write(`\nmlship: the dashboard was not built: ${errorMessage(e).split('\n')[0]}\n`),
      );
    }
    const { keys } = opts;
    const gateway = createGateway({
      handlers: opts.functions.handlers,
      apiKey: keys.apiKey,
      apiKeyId: keys.apiKeyId,
      extraApiKeys: [{ value: keys.clientApiKey, id: keys.clientApiKeyId }],
      stage: LOCAL_NAMES.stage,
      authorize: opts.auth ? createRequestAuthorizer(opts.auth) : undefined,
      onRequest: opts.onRequest,
      onResponse: opts.onResponse,
    });
    const stopGateway = gracefulStop(gateway);
    const port = await listen(gateway, opts.port, 'API gateway');
    // Requests in flight are answered (each within the integration timeout) before the functions stop.
    started.defer(() => stopGateway(SERVICE_LIMITS.apiGatewayIntegrationTimeoutMs + STOP_MARGIN_MS));

    const drain = () => drainQueue(opts.data.sqs, opts.data.logDlqUrl, opts.functions.replay);
    if (opts.replayIntervalMs > 0) {
      let draining: Promise<unknown> = Promise.resolve();
      const timer = setInterval(() => {
        draining = drain().catch((e: unknown) => process.stderr.write(`replay: ${errorMessage(e)}\n`));
      }, opts.replayIntervalMs);
      started.defer(async () => {
        clearInterval(timer);
        await draining;
      });
    }
    return { url: `http://127.0.0.1:${port}`, replay: drain };
  });
}

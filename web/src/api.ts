/** The dashboard's calls to the inference API, with every failure turned into a message that says what to do. */
import { AUTHORIZATION_HEADER } from '../../contract/auth';
import type { ModelBaseline } from '../../contract/baseline';
import type { ModelManifest } from '../../contract/manifest';
import type { MetricsSummary, PredictionPage, PredictionRecord } from '../../contract/prediction-log';
import { API_KEY_HEADER } from '../../contract/routes';

export type ModelInfo = ModelManifest & { backend?: string; baseline?: ModelBaseline };

/** A failure the page shows in its status banner. */
export class DashboardError extends Error {
  constructor(
    readonly kind: 'no-key' | 'bad-key' | 'no-token' | 'bad-token' | 'needs-signature' | 'unreachable' | 'api',
    message: string,
  ) {
    super(message);
  }
}

export interface ApiSettings {
  baseUrl: string;
  apiKey: string;
  /** A bearer token for the routes a deployment puts behind a JWT (`auth` mode `jwt`); empty when none. */
  token: string;
}

/** Pages of `GET /predictions` read per refresh (the page size is the API's maximum, 200). */
const MAX_PAGES = 5;
const PAGE_SIZE = 200;

async function getJson<T>(s: ApiSettings, path: string): Promise<T> {
  if (s.apiKey.trim() === '') {
    throw new DashboardError(
      'no-key',
      'Enter the API key above. `npm start` prints it, and keeps it in .mlship/local/api-key; on AWS it is the stack output ApiKeyId (aws apigateway get-api-key --include-value).',
    );
  }
  // Without a base URL the API is the page's own origin and path: the page is served at the API root
  // (`/prod/` on API Gateway), so a relative URL keeps the stage.
  const url = s.baseUrl === '' ? path.replace(/^\//, '') : `${s.baseUrl.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    const token = s.token.trim();
    res = await fetch(url, {
      headers: {
        [API_KEY_HEADER]: s.apiKey.trim(),
        accept: 'application/json',
        ...(token === '' ? {} : { [AUTHORIZATION_HEADER]: `Bearer ${token}` }),
      },
    });
  } catch {
    throw new DashboardError(
      'unreachable',
      `Cannot reach the API at ${s.baseUrl || window.location.origin}. Is it running (npm start)? Is the URL right?`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (res.status === 401 || res.status === 403) throw refusal(s, path, res.status, err);
    throw new DashboardError('api', `${path} answered ${res.status}${err ? ` ${err.code}: ${err.message}` : ''}.`);
  }
  if (body === undefined)
    throw new DashboardError('api', `${path} did not answer JSON. Is ${s.baseUrl || 'this origin'} the API's base URL?`);
  return body as T;
}

/**
 * What a 401 or 403 says is missing. API Gateway checks a route's token or signature before its key, so
 * a 401 is the token (the route's mode is `jwt`), a 403 naming SigV4 the signature (mode `iam`), and any
 * other 403 the key.
 */
function refusal(s: ApiSettings, path: string, status: number, err: { code?: string; message?: string } | undefined): DashboardError {
  const answer = `${status} ${err?.code ?? ''}`.trim();
  const route = path.replace(/\?.*$/, '');
  if (status === 401 && s.token.trim() === '') {
    return new DashboardError(
      'no-token',
      `This deployment asks for a bearer token on ${route} (auth mode jwt; ${answer}). Paste a token from its issuer in the Bearer token field above: it is kept for this browser tab only.`,
    );
  }
  if (status === 401) {
    return new DashboardError(
      'bad-token',
      `The API refused the bearer token on ${route} (${answer}${err?.message ? `: ${err.message}` : ''}). Paste a current token from the configured issuer.`,
    );
  }
  if (/SigV4|signature|signed/i.test(err?.message ?? '')) {
    return new DashboardError(
      'needs-signature',
      `${route} needs a SigV4-signed request (auth mode iam; ${answer}). A browser page holds no AWS credentials to sign with, so the dashboard cannot show it: use the CLI (mlship predictions, mlship report), or give these routes the jwt mode.`,
    );
  }
  return new DashboardError(
    'bad-key',
    `The API refused the key (${answer}). Check the API key above: it must be the key of this deployment.`,
  );
}

export interface DashboardData {
  model: ModelInfo;
  summary: MetricsSummary;
  /** Newest first. */
  items: PredictionRecord[];
}

export async function loadDashboard(s: ApiSettings, window: string): Promise<DashboardData> {
  const [model, summary, items] = await Promise.all([
    getJson<ModelInfo>(s, '/model'),
    getJson<MetricsSummary>(s, `/metrics/summary?window=${encodeURIComponent(window)}`),
    loadPredictions(s),
  ]);
  return { model, summary, items };
}

async function loadPredictions(s: ApiSettings): Promise<PredictionRecord[]> {
  const items: PredictionRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const q = `limit=${PAGE_SIZE}${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const p = await getJson<PredictionPage>(s, `/predictions?${q}`);
    items.push(...p.items);
    cursor = p.cursor;
    if (cursor === undefined) break;
  }
  return items;
}

/** The dashboard's calls to the inference API, with every failure turned into a message that says what to do. */
import type { ModelBaseline } from '../../contract/baseline';
import type { ModelManifest } from '../../contract/manifest';
import type { MetricsSummary, PredictionPage, PredictionRecord } from '../../contract/prediction-log';
import { API_KEY_HEADER } from '../../contract/routes';

export type ModelInfo = ModelManifest & { backend?: string; baseline?: ModelBaseline };

/** A failure the page shows in its status banner. */
export class DashboardError extends Error {
  constructor(
    readonly kind: 'no-key' | 'bad-key' | 'unreachable' | 'api',
    message: string,
  ) {
    super(message);
  }
}

export interface ApiSettings {
  baseUrl: string;
  apiKey: string;
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
    res = await fetch(url, { headers: { [API_KEY_HEADER]: s.apiKey.trim(), accept: 'application/json' } });
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
    if (res.status === 401 || res.status === 403) {
      throw new DashboardError(
        'bad-key',
        `The API refused the key (${res.status} ${err?.code ?? ''}). Check the API key above: it must be the key of this deployment.`,
      );
    }
    throw new DashboardError('api', `${path} answered ${res.status}${err ? ` ${err.code}: ${err.message}` : ''}.`);
  }
  if (body === undefined)
    throw new DashboardError('api', `${path} did not answer JSON. Is ${s.baseUrl || 'this origin'} the API's base URL?`);
  return body as T;
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

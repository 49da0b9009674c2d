/** Shared by the container tests: a small HTTP client over a keep-alive agent, and the parity files. */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const BREAST_CANCER = path.join(ROOT, 'models/breast-cancer');
export const DIGITS = path.join(ROOT, 'models/digits');

export interface ParityFile {
  labels: string[];
  rows: { input: number[]; label: string; probabilities: number[] }[];
}

export function parity(modelDir: string): ParityFile {
  return JSON.parse(readFileSync(path.join(modelDir, 'parity.json'), 'utf8')) as ParityFile;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, typed as the tests read it (unchecked: assertions check the fields). */
  json: () => ReplyBody;
}

/** One prediction as the tests read it: a classifier's label and probabilities, or a regressor's value. */
export interface ReplyPrediction {
  label: string;
  probabilities: Record<string, number>;
  value: number;
}

/** A model server answer as the tests read it: predictions, an error, or the ping's fields. */
export interface ReplyBody {
  predictions: ReplyPrediction[];
  error: { code: string; message: string; field?: string };
  model: unknown;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

export function request(
  baseUrl: string,
  method: string,
  route: string,
  body?: string | Buffer,
  headers: http.OutgoingHttpHeaders = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${route}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as ReplyBody });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`timeout ${method} ${route}`)));
    req.end(body);
  });
}

export function postJson(baseUrl: string, body: unknown, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return request(baseUrl, 'POST', '/invocations', typeof body === 'string' ? body : JSON.stringify(body), {
    'content-type': 'application/json',
    ...headers,
  });
}

/** Largest difference between served probabilities (keyed by label) and expected ones (label order). */
export function maxProbabilityDiff(served: Record<string, number>, expected: number[], labels: string[]): number {
  let max = 0;
  labels.forEach((l, j) => {
    max = Math.max(max, Math.abs(served[l] - expected[j]));
  });
  return max;
}

export function closeAgent(): void {
  agent.destroy();
}

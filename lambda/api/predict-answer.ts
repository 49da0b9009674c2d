/**
 * The media type of a `POST /predict` answer, chosen from the request's `Accept` (JSON unless the caller
 * prefers CSV), and the CSV form of an answer. The answer is written as JSON once (and stored so by an
 * Idempotency-Key) and turned into CSV on the way out, so a replay answers in the form asked this time.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../../contract/errors';
import type { PredictResponse } from '../../contract/prediction';
import { header } from '../http/api-handler';

export const ANSWER_MEDIA_TYPES = ['application/json', 'text/csv'] as const;
export type AnswerMediaType = (typeof ANSWER_MEDIA_TYPES)[number];

/** What each media range of an Accept header picks (anything else is no answer we can give). */
const RANGES: Record<string, AnswerMediaType> = {
  'application/json': 'application/json',
  'application/*': 'application/json',
  '*/*': 'application/json',
  'text/csv': 'text/csv',
  'text/*': 'text/csv',
};

/** The answer's media type by the request's Accept: its most preferred range we can answer (406 when none). */
export function answerMediaType(event: APIGatewayProxyEvent): AnswerMediaType {
  const accept = header(event, 'accept')?.trim();
  if (accept === undefined || accept === '') return 'application/json';
  const ranges = accept
    .split(',')
    .map((part, order) => {
      const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { range, q: q === undefined ? 1 : Number(q.slice(2)), order };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order);
  for (const { range } of ranges) {
    const type = RANGES[range];
    if (type !== undefined) return type;
  }
  throw new ApiError('NOT_ACCEPTABLE', `Accept ${accept} asks for none of ${ANSWER_MEDIA_TYPES.join(', ')}.`, 'Accept');
}

/** `result` in `type`: a 200 JSON answer becomes CSV when asked; anything else stays as it is. */
export function answerAs(type: AnswerMediaType, result: APIGatewayProxyResult): APIGatewayProxyResult {
  if (type !== 'text/csv' || result.statusCode !== 200) return result;
  const answer = JSON.parse(result.body) as PredictResponse;
  return { ...result, headers: { ...result.headers, 'content-type': 'text/csv; charset=utf-8' }, body: predictionsCsv(answer) };
}

/**
 * One line per prediction after a header: `id,label,probability_<label>…` for a classifier (its labels in
 * the order of the first prediction's probabilities), `id,value` for a regressor.
 */
export function predictionsCsv(answer: PredictResponse): string {
  const first = answer.predictions[0];
  const labels = first !== undefined && 'probabilities' in first ? Object.keys(first.probabilities) : undefined;
  const head = labels === undefined ? ['id', 'value'] : ['id', 'label', ...labels.map((l) => `probability_${l}`)];
  const lines = answer.predictions.map((p) =>
    'value' in p ? [p.id, String(p.value)] : [p.id, p.label, ...(labels ?? []).map((l) => String(p.probabilities[l]))],
  );
  return `${[head, ...lines].map((cells) => cells.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/** A cell quoted when it holds a comma, quote or line break (RFC 4180). */
function csvCell(cell: string): string {
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/**
 * Turns what a person hands `mlship invoke` into a `POST /predict` request: a JSON string or file, a CSV
 * file (sent as it is, as `text/csv`: the API reads its cells by the manifest's feature types and its
 * optional header by feature name), or image files (PNG/JPEG, sent base64).
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { errorMessage } from '../contract/errors';

export interface PredictBody {
  instances: unknown[];
}

export interface PredictRequest {
  contentType: 'application/json' | 'text/csv';
  body: string;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export function predictRequest(inputs: string[], readStdin: () => string = () => readFileSync(0, 'utf8')): PredictRequest {
  const [input] = inputs;
  if (input === undefined) throw new Error('Give the input: a JSON string, a .json, .csv, .png or .jpg file, or - for JSON on stdin.');
  if (inputs.every((i) => IMAGE_EXTENSIONS.has(extname(i).toLowerCase()))) {
    return asJson({ instances: inputs.map((file) => ({ b64: readFileSync(file).toString('base64') })) });
  }
  if (inputs.length > 1) throw new Error('Several inputs are accepted for image files only.');
  const trimmed = input.trimStart();
  if (input === '-') return asJson(fromJson(readStdin(), 'stdin'));
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return asJson(fromJson(input, 'the argument'));
  const ext = extname(input).toLowerCase();
  if (ext === '.csv') return { contentType: 'text/csv', body: readFileSync(input, 'utf8') };
  if (ext === '.json') return asJson(fromJson(readFileSync(input, 'utf8'), input));
  throw new Error(`Cannot tell what ${input} is: use a JSON string, or a file ending in .json, .csv, .png, .jpg or .jpeg.`);
}

function asJson(body: PredictBody): PredictRequest {
  return { contentType: 'application/json', body: JSON.stringify(body) };
}

/** `{"instances": [...]}` as is, a bare array as the instances, a bare object as one instance. */
function fromJson(text: string, source: string): PredictBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${errorMessage(e)}`);
  }
  if (Array.isArray(value)) return { instances: value.length > 0 && value.every((v) => typeof v === 'number') ? [value] : value };
  if (typeof value === 'object' && value !== null && 'instances' in value) return value as PredictBody;
  if (typeof value === 'object' && value !== null) return { instances: [value] };
  throw new Error(`${source} must hold {"instances": [...]}, an array of instances, or one instance.`);
}

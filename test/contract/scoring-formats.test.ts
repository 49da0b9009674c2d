/**
 * MLflow's and TF-Serving's bodies on `POST /predict`: each form read into the same instances as the
 * API's own body, through the one validator (same codes), with errors naming the place as sent.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../../contract/errors';
import { type Instance, validateInstances } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { scoringInstances } from '../../contract/protocols/scoring-formats';
import { PROJECT_ROOT } from '../../local/paths';

const FIXTURE = join(PROJECT_ROOT, 'test', 'fixtures', 'byom', 'mixed-columns');
const mixed = readManifestFile(join(FIXTURE, 'model.json'));
const digits = readManifestFile(join(PROJECT_ROOT, 'models', 'digits', 'model.json'));
type Row = { city: string; rooms: number; garden: boolean; area: number; score: number };
const rows = (JSON.parse(readFileSync(join(FIXTURE, 'parity.json'), 'utf8')) as { rows: { input: Row }[] }).rows
  .slice(0, 3)
  .map((r) => r.input);
const names = ['city', 'rooms', 'garden', 'area', 'score'] as const;

/** What the API's own body gives for these rows. */
const expected: Instance[] = validateInstances(mixed, { instances: rows });

function refusal(body: unknown, m = mixed): { code: string; field?: string; message: string } {
  try {
    scoringInstances(m, body, { allowS3Keys: true });
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, field: e.field, message: e.message };
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

describe('scoring formats', () => {
  it('reads every accepted form into the instances of the API body', () => {
    const reversed = [...names].reverse();
    const bodies = [
      { instances: rows },
      { instances: rows.map((r) => names.map((n) => r[n])) },
      { inputs: rows },
      { inputs: rows.map((r) => names.map((n) => r[n])) },
      { inputs: Object.fromEntries(reversed.map((n) => [n, rows.map((r) => r[n])])) },
      { dataframe_records: rows },
      { dataframe_split: { columns: [...names], data: rows.map((r) => names.map((n) => r[n])) } },
      { dataframe_split: { columns: reversed, data: rows.map((r) => reversed.map((n) => r[n])), index: [0, 1, 2] } },
    ];
    for (const body of bodies) expect(scoringInstances(mixed, body)).toEqual(expected);
  });

  it('keeps the API body and its answers exactly as before', () => {
    for (const body of [{ instances: [] }, { instances: [[1]] }, { instance: [] }, { instances: rows, extra: 1 }, []]) {
      let before: unknown;
      try {
        validateInstances(mixed, body, { allowS3Keys: true });
      } catch (e) {
        before = e;
      }
      expect(refusal(body)).toEqual({
        code: (before as ApiError).code,
        field: (before as ApiError).field,
        message: (before as ApiError).message,
      });
    }
    expect(scoringInstances(mixed, { instances: [{ s3Key: 'datasets/a.json' }] }, { allowS3Keys: true })).toEqual([
      { s3Key: 'datasets/a.json' },
    ]);
  });

  it('names an unknown or missing column', () => {
    expect(refusal({ dataframe_split: { columns: ['city', 'rooms', 'garden', 'area', 'size'], data: [] } })).toMatchObject({
      code: 'UNKNOWN_FEATURE',
      field: 'dataframe_split.columns[4]',
    });
    expect(refusal({ dataframe_split: { columns: ['city', 'rooms', 'garden', 'area'], data: [] } })).toMatchObject({
      code: 'MISSING_FEATURE',
      field: 'dataframe_split.columns.score',
    });
    expect(refusal({ inputs: { ...Object.fromEntries(names.map((n) => [n, [rows[0][n]]])), size: [1] } })).toMatchObject({
      code: 'UNKNOWN_FEATURE',
      field: 'inputs.size',
    });
    expect(refusal({ inputs: { city: ['rome'] } })).toMatchObject({ code: 'MISSING_FEATURE', field: 'inputs.rooms' });
    expect(refusal({ dataframe_records: [{ ...rows[0], size: 1 }] })).toMatchObject({
      code: 'UNKNOWN_FEATURE',
      field: 'dataframe_records[0].size',
    });
    expect(refusal({ dataframe_records: [{ city: 'rome' }] })).toMatchObject({
      code: 'MISSING_FEATURE',
      field: 'dataframe_records[0].rooms',
    });
  });

  it('applies the same type checks, naming the cell as sent', () => {
    const data = rows.map((r) => names.map((n) => r[n]));
    data[1][0] = 'paris';
    expect(refusal({ dataframe_split: { columns: [...names], data } })).toMatchObject({
      code: 'UNKNOWN_CATEGORY',
      field: 'dataframe_split.data[1].city',
    });
    expect(refusal({ inputs: [names.map((n) => rows[0][n]), [1]] })).toMatchObject({ code: 'WRONG_FEATURE_COUNT', field: 'inputs[1]' });
    expect(refusal({ inputs: { ...Object.fromEntries(names.map((n) => [n, [rows[0][n]]])), rooms: [2.5] } })).toMatchObject({
      code: 'INVALID_FEATURE_TYPE',
      field: 'inputs[0].rooms',
    });
    expect(refusal({ dataframe_records: [] })).toMatchObject({ code: 'EMPTY_INSTANCES', field: 'dataframe_records' });
    expect(refusal({ dataframe_records: Array.from({ length: 101 }, () => rows[0]) })).toMatchObject({ code: 'TOO_MANY_INSTANCES' });
  });

  it('refuses malformed bodies with INVALID_BODY or WRONG_FEATURE_COUNT', () => {
    expect(refusal({ instances: rows, inputs: rows })).toMatchObject({ code: 'INVALID_BODY' });
    expect(refusal({ inputs: rows, params: { temperature: 1 } })).toMatchObject({ code: 'INVALID_BODY', field: 'params' });
    expect(refusal({ inputs: 3 })).toMatchObject({ code: 'INVALID_BODY', field: 'inputs' });
    expect(refusal({ inputs: { ...Object.fromEntries(names.map((n) => [n, [rows[0][n]]])), rooms: [1, 2] } })).toMatchObject({
      code: 'INVALID_BODY',
      field: 'inputs.rooms',
    });
    expect(refusal({ dataframe_split: { columns: [...names], data: [[1, 2]] } })).toMatchObject({
      code: 'WRONG_FEATURE_COUNT',
      field: 'dataframe_split.data[0]',
    });
    expect(refusal({ dataframe_split: { columns: [...names], data: [], orient: 'split' } })).toMatchObject({
      code: 'INVALID_BODY',
      field: 'dataframe_split.orient',
    });
    expect(refusal({ dataframe_split: { columns: [...names, 'city'], data: [] } })).toMatchObject({
      code: 'INVALID_BODY',
      field: 'dataframe_split.columns[5]',
    });
    expect(refusal({ dataframe_split: { columns: [...names], data: [], index: [1] } })).toMatchObject({ field: 'dataframe_split.index' });
    expect(refusal({ dataframe_records: [[1, 2]] })).toMatchObject({ code: 'INVALID_BODY', field: 'dataframe_records' });
    // A dataframe's cells are values: an S3 reference is a row form only.
    expect(refusal({ dataframe_records: [{ s3Key: 'datasets/a.json' }] })).toMatchObject({
      code: 'UNKNOWN_FEATURE',
      field: 'dataframe_records[0].s3Key',
    });
  });

  it('takes image rows as inputs and refuses dataframes for an image model', () => {
    const pixels = Array.from({ length: 64 }, () => 0);
    expect(scoringInstances(digits, { inputs: [pixels] })).toEqual(validateInstances(digits, { instances: [pixels] }));
    expect(refusal({ dataframe_records: [{ a: 1 }] }, digits)).toMatchObject({ code: 'INVALID_BODY', field: 'dataframe_records' });
    expect(refusal({ inputs: { a: [1] } }, digits)).toMatchObject({ code: 'INVALID_BODY', field: 'inputs' });
  });
});

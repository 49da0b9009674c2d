/**
 * The Open Inference Protocol's published REST specification (KServe's `rest_predict_v2.yaml`, vendored
 * in test/fixtures/open-inference/ with its source) as validators of its component schemas.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { PROJECT_ROOT } from '../../local/paths';

// The specification is published as YAML; js-yaml (a devDependency) reads it.
const yaml = require('js-yaml') as { load(text: string): unknown };

export const OPEN_INFERENCE_SPEC = join(PROJECT_ROOT, 'test', 'fixtures', 'open-inference', 'rest_predict_v2.yaml');

export function openInferenceSpec() {
  const doc = yaml.load(readFileSync(OPEN_INFERENCE_SPEC, 'utf8')) as { components: { schemas: Record<string, unknown> } };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'oip');
  return {
    /** The problems of `value` against component `schema` (empty when valid). */
    errors(schema: string, value: unknown): string[] {
      const validate = ajv.getSchema(`oip#/components/schemas/${schema}`);
      if (validate === undefined) throw new Error(`The specification has no schema ${schema}.`);
      return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    },
  };
}

/**
 * Every error code of the contract is one something can answer: thrown by a handler, the model server or
 * the local gateway, or given to API Gateway's own responses. A code nothing produces would sit in the
 * OpenAPI document as a promise no client can see kept.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ERROR_STATUS, errorCode, errorMessage, errorStack } from '../../contract/errors';

const ROOT = resolve(__dirname, '../..');
/** Where codes are produced; the contract's own lists (errors.ts, api-schemas.ts) only declare them. */
const PRODUCERS = ['lambda', 'container', 'contract', 'local', 'lib'];
const DECLARATIONS = new Set([join('contract', 'errors.ts'), join('contract', 'api-schemas.ts')]);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(rel);
    return e.name.endsWith('.ts') && !DECLARATIONS.has(rel) ? [readFileSync(join(ROOT, rel), 'utf8')] : [];
  });
}

describe('error codes', () => {
  const text = PRODUCERS.flatMap(sources).join('\n');

  it.each(Object.keys(ERROR_STATUS))('%s is produced somewhere', (code) => {
    expect(text).toMatch(new RegExp(`['"\`]${code}['"\`]`));
  });
});

describe('error helpers', () => {
  it('read an Error, a system error and anything else thrown', () => {
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(errorMessage(enoent)).toBe('no such file');
    expect(errorCode(enoent)).toBe('ENOENT');
    expect(errorStack(enoent)).toMatch(/^Error: no such file\n/);
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorStack(42)).toBe('42');
    expect(errorCode(undefined)).toBeUndefined();
    expect(errorCode({ code: 7 })).toBeUndefined();
  });
});

/**
 * What the JSON depth check costs on the request path: the linear scan of `checkJsonDepth` beside
 * `JSON.parse` of the same body (the baseline every request already pays), for a one-row body of the
 * 30-feature model, a 100-row body and a digits image body; and both on 2.5 million nesting levels.
 *
 *   npx tsx bench/container/json-depth.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkJsonDepth } from '../../contract/json';

const parity = (model: string) =>
  JSON.parse(readFileSync(join(__dirname, '../../models', model, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] };
const rows = parity('breast-cancer').rows.map((r) => r.input);
const bodies: Record<string, string> = {
  'one row, 30 features': JSON.stringify({ instances: [rows[0]] }),
  '100 rows, 30 features': JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => rows[i % rows.length]) }),
  'one 8x8 digits pixel grid': JSON.stringify({ instances: [parity('digits').rows[0].input] }),
};

/** Median ns per call over 7 rounds of `n` calls. */
function time(fn: () => void, n: number): number {
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return rounds.sort((a, b) => a - b)[3];
}

console.log('body                          bytes   JSON.parse ns   depth scan ns   scan/parse');
for (const [name, body] of Object.entries(bodies)) {
  const n = body.length > 10_000 ? 2_000 : 50_000;
  const parse = time(() => JSON.parse(body), n);
  const scan = time(() => checkJsonDepth(body), n);
  console.log(
    `${name.padEnd(28)} ${String(body.length).padStart(7)} ${parse.toFixed(0).padStart(15)} ${scan.toFixed(0).padStart(15)} ${(scan / parse).toFixed(2).padStart(12)}`,
  );
}
const depth = 2_500_000;
const deep = `{"instances":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
let t0 = process.hrtime.bigint();
try {
  JSON.parse(deep);
} catch {
  // V8 may refuse it too; the time spent is what counts.
}
const parseMs = Number(process.hrtime.bigint() - t0) / 1e6;
t0 = process.hrtime.bigint();
try {
  checkJsonDepth(deep);
} catch {
  // Refused at level 33.
}
const scanMs = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(`2.5 million nesting levels: JSON.parse ${parseMs.toFixed(1)} ms, depth scan ${scanMs.toFixed(3)} ms (refused)`);

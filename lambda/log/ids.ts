import { randomFillSync } from 'node:crypto';
import { FORMATS } from '../../contract/limits';

/**
 * Prediction ids: 26 characters of Crockford base32, 48 bits of millisecond time then 80 random bits
 * (the ULID layout), so ids sort by creation time and never need coordination.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const PREDICTION_ID = FORMATS.predictionId;

/** Random bytes drawn from the CSPRNG a page at a time: one call per 256 ids rather than one each. */
const pool = Buffer.alloc(4096);
let used = pool.length;

export function newPredictionId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  if (used + 16 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  let rand = '';
  for (let i = used; i < used + 16; i++) rand += ALPHABET.charAt((pool[i] ?? 0) % 32);
  used += 16;
  return time + rand;
}

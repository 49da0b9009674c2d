import { randomBytes } from 'node:crypto';
import { FORMATS } from '../../contract/limits';

/**
 * Prediction ids: 26 characters of Crockford base32, 48 bits of millisecond time then 80 random bits
 * (the ULID layout), so ids sort by creation time and never need coordination.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const PREDICTION_ID = FORMATS.predictionId;

export function newPredictionId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (const byte of randomBytes(16)) rand += ALPHABET.charAt(byte % 32);
  return time + rand;
}

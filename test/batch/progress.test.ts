/** The batch progress line: share read with the time left while running, 100 % when the run completed. */
import { progressLine } from '../../container/src/batch/progress';

const state = { rows: 25_000, rejected: 3, bytes: 250 };

test('shows the share read and an estimate of the time left from the rate so far', () => {
  expect(progressLine(state, 1000, 10, false)).toBe('batch: 25.0% 25,000 rows, 3 rejected, 2,500 rows/s, 10.0 s, about 30 s left   ');
  expect(progressLine(state, 1000, 100, false)).toContain('about 5 min 00 s left');
  expect(progressLine({ ...state, bytes: 1 }, 1000, 10, false)).toContain('about 2 h 46 min left');
});

test('ends at 100 % when the run completed, even when the bytes counted stop short of the size', () => {
  expect(progressLine({ ...state, bytes: 990 }, 1000, 12.5, true)).toBe('batch: 100.0% 25,000 rows, 3 rejected, 2,000 rows/s, 12.5 s   ');
});

test('without a known size: no share and no estimate while running, 100 % at the end', () => {
  expect(progressLine(state, undefined, 10, false)).toBe('batch: 25,000 rows, 3 rejected, 2,500 rows/s, 10.0 s   ');
  expect(progressLine(state, undefined, 10, true)).toMatch(/^batch: 100\.0% /);
});

test('no estimate before anything is read, nor once everything is', () => {
  expect(progressLine({ ...state, bytes: 0 }, 1000, 1, false)).not.toContain('left');
  expect(progressLine({ ...state, bytes: 1000 }, 1000, 1, false)).toMatch(/^batch: 100\.0% .* s {3}$/);
});

/**
 * Logged inputs with missing values: the quality job and the analytics rows read a nullable feature's
 * null as a missing value (never a number, never a reason to drop the row), and drift compares only
 * the values that were sent.
 */
import { featureDrift, inputValues } from '../../lambda/quality/analyze';
import { NULLABLE_MANIFEST } from '../analytics/fixtures';

const manifest = NULLABLE_MANIFEST;

const numeric = (name: string) => ({
  name,
  mean: 0,
  std: 1,
  min: -2,
  max: 2,
  edges: [-1, 0, 1],
  proportions: [0.25, 0.25, 0.25, 0.25],
});

test('a null is read as missing for a nullable feature only', () => {
  expect(inputValues(manifest, [null, 1])).toEqual([null, 1]);
  expect(inputValues(manifest, { a: null, b: 1 })).toEqual([null, 1]);
  expect(inputValues(manifest, [1, null])).toBeUndefined();
});

test('drift leaves missing values out of the distribution instead of reading them as 0', () => {
  const sent = [
    [-1.5, 0.5],
    [-0.5, 0.5],
    [0.5, 0.5],
    [1.5, 0.5],
  ];
  const withMissing = [...sent, [null, 0.5], [null, 0.5], [null, 0.5], [null, 0.5]];
  const baseline = [numeric('a'), numeric('b')];
  const a = (rows: (number | null)[][]) => featureDrift(baseline, rows).find((d) => d.feature === 'a');
  // Four values, one per bin: no drift, whatever the number of missing ones beside them.
  expect(a(sent)).toEqual({ feature: 'a', psi: 0, ks: 0 });
  expect(a(withMissing)).toEqual({ feature: 'a', psi: 0, ks: 0 });
});

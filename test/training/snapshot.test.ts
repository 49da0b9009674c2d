/** How a snapshot splits and names its rows: pure, before anything is written. */
import { buildSnapshot, trafficRows } from '../../container/src/training/snapshot';
import { parseManifest } from '../../contract/manifest';

const manifest = parseManifest({
  name: 'tiny',
  version: '1.0.0',
  file: 'model.onnx',
  inputTensor: 'input',
  input: {
    kind: 'tabular',
    features: [
      { name: 'a', type: 'float' },
      { name: 'B-b', type: 'float' },
    ],
  },
  output: { kind: 'classification', labels: ['no', 'yes'], tensor: 'probabilities' },
});
// Columns in another order than the manifest's: the snapshot puts them in manifest order.
const dataset = {
  text: ['label,B-b,a', ...Array.from({ length: 10 }, (_, i) => `${i % 2 ? 'yes' : 'no'},${i},${i * 10}`)].join('\n'),
  source: 'd.csv',
};

describe('a training snapshot', () => {
  it('holds every fifth dataset row out without labeled traffic, and names itself by its content', () => {
    const s = buildSnapshot({ manifest, dataset });
    expect(s.header).toEqual(['a', 'B-b', 'label']);
    expect(s.validation).toBe('a,B-b,label\n40,4,no\n90,9,yes\n');
    expect([s.trainRows, s.heldOutRows]).toEqual([8, 2]);
    expect(buildSnapshot({ manifest, dataset }).sha256).toBe(s.sha256);
    expect(buildSnapshot({ manifest, dataset: { ...dataset, text: dataset.text.replace('yes,9,90', 'no,9,90') } }).sha256).not.toBe(
      s.sha256,
    );
  });

  it('holds the most recent labeled traffic out and trains on the dataset and the older traffic', () => {
    const traffic = { rows: Array.from({ length: 10 }, (_, i) => [String(i), String(-i), i < 5 ? 'no' : 'yes']), source: 'labeled' };
    const s = buildSnapshot({ manifest, dataset, traffic });
    expect(s.heldOutRows).toBe(3);
    expect(s.validation).toBe('a,B-b,label\n7,-7,yes\n8,-8,yes\n9,-9,yes\n');
    expect(s.trainRows).toBe(10 + 7);
    expect(s.sources).toEqual(['d.csv', 'labeled']);
  });

  it('reads the analytics columns of the features back under the feature names, in manifest order', () => {
    const rows = trafficRows(manifest, { rows: [{ f_b_b: 2.5, f_a: 1, actual: 'yes', ts: '2026-01-01' }] });
    expect(rows).toEqual([['1', '2.5', 'yes']]);
  });
});

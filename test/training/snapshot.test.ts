/** How a snapshot splits and names its rows: pure, before anything is written. */
import { buildSnapshot, trafficRows } from '../../container/src/training/snapshot';
import { MANIFEST as manifest } from '../analytics/fixtures';

// Columns in another order than the manifest's (a, b, c, d): the snapshot puts them in manifest order.
const dataset = {
  text: ['label,d,c,b,a', ...Array.from({ length: 10 }, (_, i) => `${i % 2 ? 'yes' : 'no'},true,red,${i},${i * 10}`)].join('\n'),
  source: 'd.csv',
};

describe('a training snapshot', () => {
  it('holds every fifth dataset row out without labeled traffic, and names itself by its content', () => {
    const s = buildSnapshot({ manifest, dataset });
    expect(s.header).toEqual(['a', 'b', 'c', 'd', 'label']);
    expect(s.validation).toBe('a,b,c,d,label\n40,4,red,true,no\n90,9,red,true,yes\n');
    expect([s.trainRows, s.heldOutRows]).toEqual([8, 2]);
    expect(buildSnapshot({ manifest, dataset }).sha256).toBe(s.sha256);
    expect(
      buildSnapshot({ manifest, dataset: { ...dataset, text: dataset.text.replace('yes,true,red,9', 'no,true,red,9') } }).sha256,
    ).not.toBe(s.sha256);
  });

  it('holds the most recent labeled traffic out and trains on the dataset and the older traffic', () => {
    const traffic = {
      rows: Array.from({ length: 10 }, (_, i) => [String(i), String(-i), 'blue', 'false', i < 5 ? 'no' : 'yes']),
      source: 'labeled',
    };
    const s = buildSnapshot({ manifest, dataset, traffic });
    expect(s.heldOutRows).toBe(3);
    expect(s.validation).toBe('a,b,c,d,label\n7,-7,blue,false,yes\n8,-8,blue,false,yes\n9,-9,blue,false,yes\n');
    expect(s.trainRows).toBe(10 + 7);
    expect(s.sources).toEqual(['d.csv', 'labeled']);
  });

  it('reads the analytics columns of the features back under the feature names, in manifest order', () => {
    const rows = trafficRows(manifest, { rows: [{ f_d: 'true', f_c: "o'k", f_b: 2, f_a: 1.5, actual: 'yes', ts: '2026-01-01' }] });
    expect(rows).toEqual([['1.5', '2', "o'k", 'true', 'yes']]);
  });
});

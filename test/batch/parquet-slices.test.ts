/**
 * Where a large Parquet row group is cut (`chooseCuts`): a page is decoded whole, so a cut inside a page
 * has both slices decode it; cuts go to page starts, and a group whose pages are too large to cut cheaply
 * is not cut at all.
 */
import { type ChunkPages, chooseCuts, SLICING } from '../../container/src/batch/parquet-slices';

/** A column chunk of `rows` rows in pages of `pageRows` rows (the last one shorter), after a dictionary page. */
function column(rows: number, pageRows: number, firstPage = pageRows): ChunkPages {
  const pages: { offset: number; end: number; firstRow: number; rows: number }[] = [];
  for (let row = 0; row < rows; ) {
    const n = Math.min(rows - row, pages.length === 0 ? firstPage : pageRows);
    pages.push({ offset: 0, end: 0, firstRow: row, rows: n });
    row += n;
  }
  return { dictionary: 0, pages };
}

describe('cutting a large row group', () => {
  it('does not cut a group whose columns are each one page (as DuckDB writes them)', () => {
    expect(chooseCuts([column(1_000_000, 1_000_000), column(1_000_000, 1_000_000)], 1_000_000, SLICING)).toEqual([]);
  });

  it('does not cut pages of 131,072 rows (1 MiB of doubles) into slices of 65,536 rows, but cuts at their starts', () => {
    const cols = Array.from({ length: 30 }, () => column(1_000_000, 131_072));
    const cuts = chooseCuts(cols, 1_000_000, SLICING);
    // Eight slices of about 125,000 rows: each cut at a page start, within half a slice of its even share.
    expect(cuts).toEqual([131_072, 262_144, 393_216, 524_288, 655_360, 786_432, 917_504]);
  });

  it('cuts where every column starts a page, even where pages do not line up elsewhere', () => {
    // Doubles in pages of 8,192 rows, an id column in pages of 5,958: cuts at double pages cost one id page.
    const cols = [...Array.from({ length: 30 }, () => column(150_000, 8_192)), column(150_000, 5_958)];
    const cuts = chooseCuts(cols, 150_000, SLICING);
    expect(cuts).toHaveLength(2);
    for (const [k, at] of cuts.entries()) {
      expect(at % 8_192).toBe(0);
      expect(Math.abs(at - ((k + 1) * 150_000) / 3)).toBeLessThan(25_000);
    }
  });

  it('cuts at rows no page starts at when the pages are small, each a few rows from its even share', () => {
    // Pages of 1,000 rows, each column's shifted: no row starts a page in every column, and a cut costs 3,000 rows.
    const cols = [column(200_000, 1_000, 100), column(200_000, 1_000, 400), column(200_000, 1_000, 700)];
    const cuts = chooseCuts(cols, 200_000, SLICING);
    expect(cuts).toHaveLength(3);
    for (const [k, at] of cuts.entries()) expect(Math.abs(at - ((k + 1) * 200_000) / 4)).toBeLessThanOrEqual(1_000);
  });

  it('takes fewer slices when more would cost too much', () => {
    // Pages of 400,000 rows in a 1,600,000-row group: only cuts at their starts are free, so four slices, not 25.
    expect(chooseCuts([column(1_600_000, 400_000)], 1_600_000, SLICING)).toEqual([400_000, 800_000, 1_200_000]);
  });
});

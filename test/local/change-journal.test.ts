/** The table stream's journal: a start resumes past the writer's checkpoint, and written segments go away. */
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangeJournal, readJournal, writeCheckpoint } from '../../local/change-journal';

describe('change journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlship-journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands back the changes past the checkpoint, in order, numbering on from the last', () => {
    // GIVEN five changes journaled, the first three written, and a last line cut short by a crash
    const journal = new ChangeJournal<{ n: number }>(dir, 1);
    for (let n = 1; n <= 5; n++) expect(journal.append({ n })).toBe(n);
    writeCheckpoint(dir, 3);
    const [segment] = readdirSync(dir).filter((f) => f.endsWith('.ndjson'));
    appendFileSync(join(dir, segment ?? ''), '{"seq":6,"chan');
    // WHEN a start reads it THEN the last two come back, and the next change is number 6
    expect(readJournal<{ n: number }>(dir)).toEqual({
      pending: [
        { seq: 4, change: { n: 4 } },
        { seq: 5, change: { n: 5 } },
      ],
      nextSeq: 6,
    });
  });

  it('deletes a full segment once the checkpoint has passed it, never the one in use', () => {
    const journal = new ChangeJournal<number>(dir, 1);
    for (let n = 1; n <= 10_001; n++) journal.append(n);
    const files = () => readdirSync(dir).filter((f) => f.endsWith('.ndjson'));
    expect(files()).toHaveLength(2);
    writeCheckpoint(dir, 9_999);
    expect(files()).toHaveLength(2);
    writeCheckpoint(dir, 10_001);
    expect(files()).toEqual(['changes-000000000010001.ndjson']);
    expect(readJournal(dir)).toEqual({ pending: [], nextSeq: 10_002 });
  });
});

/**
 * The durable half of the local table stream. Every write the embedded DynamoDB accepts is appended to a
 * journal in the data folder before the write is answered, numbered in order; the analytics feeder
 * records a checkpoint — the number of the last change the writer has written to the Parquet store —
 * after each batch. A start after a crash (kill -9, a power cut of the process) reads the journal past the
 * checkpoint and hands those changes to the writer again, as a stream consumer resumes from its
 * checkpoint: a change is lost only if the write was never answered. The writer names its objects by
 * their rows, so a batch handed over twice is written once.
 *
 * The journal is a few segment files (`changes-<first number>.ndjson`, one JSON line per change); a
 * segment whose every change is behind the checkpoint is deleted.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Changes per segment file before the next one is started. */
const SEGMENT_CHANGES = 10_000;
const CHECKPOINT_FILE = 'checkpoint.json';
const SEGMENT = /^changes-(\d{15})\.ndjson$/;

export interface JournalEntry<T> {
  readonly seq: number;
  readonly change: T;
}

const segmentName = (first: number) => `changes-${String(first).padStart(15, '0')}.ndjson`;

/** The segment files of `dir` with their first numbers, oldest first. */
function segments(dir: string): { name: string; first: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .flatMap((name) => {
      const m = SEGMENT.exec(name);
      return m ? [{ name, first: Number(m[1]) }] : [];
    })
    .sort((a, b) => a.first - b.first);
}

/** The number of the last change the writer has written (0 when none). */
function checkpointOf(dir: string): number {
  try {
    const seq = (JSON.parse(readFileSync(join(dir, CHECKPOINT_FILE), 'utf8')) as { seq?: unknown }).seq;
    return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : 0;
  } catch {
    return 0;
  }
}

/**
 * What a start resumes from: the journaled changes past the checkpoint, in order, and the number the next
 * change gets. Read before the table takes writes (a line cut short by a crash mid-append is skipped: its
 * write was never answered).
 */
export function readJournal<T>(dir: string): { pending: JournalEntry<T>[]; nextSeq: number } {
  const done = checkpointOf(dir);
  const pending: JournalEntry<T>[] = [];
  let last = done;
  for (const { name } of segments(dir)) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      let entry: JournalEntry<T>;
      try {
        entry = JSON.parse(line) as JournalEntry<T>;
      } catch {
        continue;
      }
      if (!Number.isSafeInteger(entry.seq)) continue;
      last = Math.max(last, entry.seq);
      if (entry.seq > done) pending.push(entry);
    }
  }
  return { pending, nextSeq: last + 1 };
}

/** Appends changes (in the DynamoDB thread, before each write is answered). */
export class ChangeJournal<T> {
  private next: number;
  private file: string;
  private inSegment = 0;

  constructor(
    private readonly dir: string,
    nextSeq: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.next = nextSeq;
    this.file = join(dir, segmentName(nextSeq));
  }

  /** Writes `change` to the journal and returns its number. */
  append(change: T): number {
    if (this.inSegment >= SEGMENT_CHANGES) {
      this.file = join(this.dir, segmentName(this.next));
      this.inSegment = 0;
    }
    const seq = this.next++;
    // One write call per line: a crash leaves whole lines, or a last one cut short that is never answered.
    appendFileSync(this.file, `${JSON.stringify({ seq, change })}\n`);
    this.inSegment++;
    return seq;
  }
}

/**
 * Records that every change up to `seq` is written (atomically: a crash leaves the old checkpoint or the
 * new one), then deletes the segments wholly behind it. A segment is deleted only once a later one exists,
 * so the one being appended to is never touched.
 */
export function writeCheckpoint(dir: string, seq: number): void {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify({ seq }));
  renameSync(tmp, join(dir, CHECKPOINT_FILE));
  const all = segments(dir);
  for (const [i, segment] of all.entries()) {
    const next = all[i + 1];
    if (next !== undefined && next.first <= seq + 1) rmSync(join(dir, segment.name), { force: true });
  }
}

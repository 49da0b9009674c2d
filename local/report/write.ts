/** `mlship report`: collects the figures of a window and writes them as one self-contained HTML file. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { collectReport, type ReportSource } from './collect';
import { reportHtml } from './html';

export async function writeReport(source: ReportSource, opts: { since: string; out: string; now?: Date }): Promise<string> {
  const data = await collectReport(source, opts);
  const path = resolve(opts.out);
  writeFileSync(path, reportHtml(data));
  return `Wrote ${path}: ${data.manifest.name}, last ${data.window}, ${data.recordsRead} predictions in ${data.versions.length} version(s).`;
}

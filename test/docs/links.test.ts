/**
 * The documentation's own links: every relative link in a Markdown file of the project names a file that
 * exists and, with a `#fragment`, a heading of that file (as GitHub turns headings into anchors). The
 * README links into docs/ and bench/, and those pages into each other, so a moved or renamed section
 * shows here instead of as a dead link.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const SKIPPED = new Set(['node_modules', '.git', 'cdk.out', '.mlship', 'test-artifacts']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIPPED.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return markdownFiles(path);
    return e.name.endsWith('.md') ? [path] : [];
  });
}

/** The text outside fenced code blocks, where headings and links are what they look like. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

/** GitHub's anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading = ''] of prose(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Relative link targets (`[text](target)`), leaving out code spans and absolute URLs. */
function relativeLinks(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

const files = markdownFiles(ROOT);

it('finds the README and the docs/ pages', () => {
  const names = files.map((f) => relative(ROOT, f));
  expect(names).toEqual(expect.arrayContaining(['README.md', join('docs', 'api.md'), join('bench', 'README.md')]));
});

it('anchors follow GitHub: punctuation and code marks dropped, repeats numbered', () => {
  expect([
    ...anchorsOf('# The API keys and `--data-dir`\n## What `cdk destroy` keeps\n## Batch\n```sh\n# not a heading\n```\n## Batch\n'),
  ]).toEqual(['the-api-keys-and---data-dir', 'what-cdk-destroy-keeps', 'batch', 'batch-1']);
});

describe.each(files.map((f) => [relative(ROOT, f), f]))('%s', (_name, file) => {
  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
      const [path = '', fragment] = target.split('#', 2);
      const dest = path === '' ? file : resolve(dirname(file), decodeURI(path));
      if (!existsSync(dest)) broken.push(`${target}: no such file`);
      else if (fragment !== undefined && dest.endsWith('.md') && !anchorsOf(readFileSync(dest, 'utf8')).has(fragment))
        broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });
});

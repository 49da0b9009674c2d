/**
 * cfn-lint, an independent linter with its own resource schemas, over every synthesized template of a
 * backend, for every supported region. Findings judged false positives are ignored by rule and resource
 * type in cfn-lint-ignores.json, each with its reason; everything else (errors and warnings) fails.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../../contract/errors';
import { SUPPORTED_REGIONS } from '../../lib/supported-regions';
import { describeWithTools, installCommand } from '../support/external-tools';

export interface CfnLintIgnore {
  rule: string;
  /** A CloudFormation resource type, or `Outputs` for a template output. */
  resourceType: string;
  /** Only findings whose message contains this text. @default - every message of the rule */
  message?: string;
  reason: string;
}

export interface CfnLintFinding {
  rule: string;
  level: string;
  template: string;
  /** `Resources/<id>/...` or `Outputs/<name>/...`. */
  path: string;
  resourceType: string;
  message: string;
}

interface RawMatch {
  Filename: string;
  Level: string;
  Location: { Path: (string | number)[] };
  Message: string;
  Rule: { Id: string };
}

export const IGNORES: CfnLintIgnore[] = JSON.parse(readFileSync(join(__dirname, 'cfn-lint-ignores.json'), 'utf8')).ignores;

export const INSTALL_HINT = `cfn-lint is not installed: ${installCommand('cfn-lint')}`;

/** Runs cfn-lint over every `*.template.json` in the cloud assembly directories; returns every finding above informational. */
export function cfnLint(assemblyDirs: string[], command = 'cfn-lint'): CfnLintFinding[] {
  const templates = assemblyDirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => join(dir, f)),
  );
  if (templates.length === 0) throw new Error(`No templates in ${assemblyDirs.join(', ')}`);
  const res = spawnSync(command, ['--format', 'json', '--regions', ...SUPPORTED_REGIONS, '--', ...templates], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (errorCode(res.error) === 'ENOENT') throw new Error(INSTALL_HINT);
  if (res.error) throw res.error;
  // Exit codes are bit flags of the levels found (2 errors, 4 warnings, 8 informational); 1 is a failure of cfn-lint itself.
  if (res.status === 1 || !res.stdout.trim().startsWith('['))
    throw new Error(`cfn-lint failed (exit ${res.status}): ${res.stderr || res.stdout}`);
  const parsed = new Map<string, { Resources?: Record<string, { Type: string }> }>();
  const typeOf = (file: string, path: (string | number)[]) => {
    if (path[0] !== 'Resources') return String(path[0]);
    if (!parsed.has(file)) parsed.set(file, JSON.parse(readFileSync(file, 'utf8')));
    return parsed.get(file)?.Resources?.[String(path[1])]?.Type ?? 'unknown';
  };
  return (JSON.parse(res.stdout) as RawMatch[])
    .filter((m) => m.Level !== 'Informational')
    .map((m) => ({
      rule: m.Rule.Id,
      level: m.Level,
      template: m.Filename.split(/[\\/]/).pop() ?? m.Filename,
      path: m.Location.Path.slice(0, 2).join('/'),
      resourceType: typeOf(m.Filename, m.Location.Path),
      message: m.Message,
    }));
}

export function isIgnored(f: CfnLintFinding, ignores = IGNORES): boolean {
  return ignores.some(
    (i) => i.rule === f.rule && i.resourceType === f.resourceType && (i.message === undefined || f.message.includes(i.message)),
  );
}

/** Lints the templates of every backend's synthesis once (one cfn-lint process: its start-up is the slow part). */
export function describeCfnLint(synths: Record<string, () => { app: { outdir: string } }>): void {
  describe('cfn-lint', () => {
    describeWithTools(['cfn-lint'], "cfn-lint over every backend's templates", () => {
      let findings: CfnLintFinding[];
      beforeAll(() => {
        findings = cfnLint(Object.values(synths).map((s) => s().app.outdir));
      }, 180_000);

      it(`finds no error or warning in any backend's templates for ${SUPPORTED_REGIONS.join(', ')}, apart from the acknowledged false positives`, () => {
        expect(findings.filter((f) => !isIgnored(f))).toEqual([]);
      });

      it('acknowledges each false positive by rule and resource type with a reason, and only ones that still occur', () => {
        for (const i of IGNORES) {
          expect({ ...i, reason: i.reason.length > 30, used: findings.some((f) => isIgnored(f, [i])) }).toEqual({
            ...i,
            reason: true,
            used: true,
          });
        }
      });
    });

    it('fails with one line saying how to install it when it is missing', () => {
      expect(() => cfnLint([Object.values(synths)[0]().app.outdir], 'cfn-lint-not-installed-here')).toThrow(new Error(INSTALL_HINT));
    });
  });
}

/**
 * `npx cdk synth` as a user runs it: the CDK CLI, the app from cdk.json, context on the command line, and
 * no AWS credentials or region anywhere in the environment. (The other backends synthesize in-process
 * in their own test files; this one checks the CLI path end to end.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './synth';

function envWithoutAws(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  // Nowhere to find credentials either.
  env.HOME = mkdtempSync(join(tmpdir(), 'mlship-home-'));
  return env;
}

describe('npx cdk synth', () => {
  it('synthesizes the app with no AWS credentials, context values applied', () => {
    const out = mkdtempSync(join(tmpdir(), 'mlship-cdk-out-'));
    const res = spawnSync('npx', ['cdk', 'synth', '--quiet', '-c', 'logRetentionDays=30', '-o', out], {
      cwd: ROOT,
      env: envWithoutAws(),
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect({ status: res.status, stderr: res.status === 0 ? '' : res.stderr }).toEqual({ status: 0, stderr: '' });
    const templates = readdirSync(out)
      .filter((f) => f.endsWith('.template.json'))
      .sort();
    expect(templates).toEqual([
      'Mlship-Analytics.template.json',
      'Mlship-Api.template.json',
      'Mlship-Data.template.json',
      'Mlship-Monitoring.template.json',
      'Mlship-Serving-fargate.template.json',
    ]);
    const api = JSON.parse(readFileSync(join(out, 'Mlship-Api.template.json'), 'utf8'));
    expect(api.Outputs.Backend.Value).toBe('fargate');
    const groups = Object.values(api.Resources as Record<string, { Type: string; Properties: { RetentionInDays?: number } }>).filter(
      (r) => r.Type === 'AWS::Logs::LogGroup',
    );
    expect(groups.map((g) => g.Properties.RetentionInDays)).toEqual(groups.map(() => 30));
  }, 300_000);

  it('fails with the config error when a context value is bad', () => {
    const res = spawnSync('npx', ['cdk', 'synth', '--quiet', '-c', 'backend=ec2', '-o', mkdtempSync(join(tmpdir(), 'mlship-cdk-out-'))], {
      cwd: ROOT,
      env: envWithoutAws(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('backend = "ec2": expected one of fargate, sagemaker, sagemaker-serverless');
  }, 150_000);
});

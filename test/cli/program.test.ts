/** The help of `mlship`: the global options grouped by where a command goes, and each command listing only those it reads. */
import type { Command } from 'commander';
import { mlshipProgram } from '../../cli/program';
import { batchContainerCommand } from '../../container/src/batch/command';

const program = mlshipProgram();
const help = (name: string) => {
  const cmd = program.commands.find((c: Command) => c.name() === name);
  if (!cmd) throw new Error(`no command ${name}`);
  return cmd.helpInformation();
};
const globalOptions = (text: string) => [...(text.split('Global Options:')[1] ?? '').matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);

describe('mlship --help', () => {
  it('groups the global options by where a command goes', () => {
    const text = program.helpInformation();
    expect(text).toMatch(/Options for a deployed stack:\n {2}--stack <name>[\s\S]*\n {2}--region <region>/);
    expect(text).toMatch(/Options for the local system:\n {2}--data-dir <dir>/);
  });

  it.each(['init', 'serve'])('%s lists no global option: it goes to no stack and no local system', (name) => {
    expect(help(name)).not.toContain('--stack');
    expect(globalOptions(help(name))).toEqual([]);
  });

  it.each([
    ['start', ['--data-dir']],
    ['invoke', ['--stack', '--region', '--data-dir', '--api-key']],
    ['predictions', ['--stack', '--region', '--data-dir', '--api-key']],
    ['query', ['--data-dir', '--api-key']],
    ['preflight', ['--region']],
    ['sync-config', ['--stack', '--region', '--api-key']],
  ])('%s lists the global options it reads', (name, expected) => {
    expect(globalOptions(help(name))).toEqual(expected);
  });

  it('offers feedback --replace, which the 409 of a second label asks for', () => {
    expect(help('feedback')).toMatch(/--replace +replace the label the prediction already has/);
  });

  it('sync-config goes to a stack only: without --stack it says so before reaching anything', async () => {
    await expect(mlshipProgram().exitOverride().parseAsync(['node', 'mlship', 'sync-config'])).rejects.toThrow(
      'sync-config follows a deployed stack: give --stack NAME',
    );
  });

  it("batch states the model it uses without --model: the configured one, not the container's", () => {
    const modelLine = (text: string) => /--model <dir> +([\s\S]*?)\n {2}--/.exec(text)?.[1].replace(/\s+/g, ' ');
    expect(modelLine(help('batch'))).toBe('model directory (default: modelDir of ./mlship.config.json, else models/breast-cancer)');
    expect(modelLine(batchContainerCommand().helpInformation())).toBe(
      'model directory (default: MODEL_DIR, MODEL_S3_URI or /opt/ml/model)',
    );
  });
});

import { withoutTsx } from '../../container/src/batch/pool';

describe('withoutTsx', () => {
  it('drops the TypeScript loaders a bundled worker does not need, in every spelling', () => {
    // GIVEN the flags `node --import tsx` and `npx tsx` give a process, among others
    const argv = [
      '--max-old-space-size=512',
      '--import',
      'tsx',
      '--require',
      '/srv/node_modules/tsx/dist/preflight.cjs',
      '--import=file:///srv/node_modules/tsx/dist/loader.mjs',
      '-r',
      'tsx/cjs',
      '--enable-source-maps',
      '--import',
      './telemetry.mjs',
    ];
    // WHEN they are filtered THEN only the loaders are gone
    expect(withoutTsx(argv)).toEqual(['--max-old-space-size=512', '--enable-source-maps', '--import', './telemetry.mjs']);
  });

  it('keeps a trailing flag without a value', () => {
    expect(withoutTsx(['--import'])).toEqual(['--import']);
  });
});

/** npm in this project: dependencies' install scripts stay off (offline installs), and npm warns about nothing. */
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../local/paths';

describe('npm in the project', () => {
  it('reads the project .npmrc without a warning and skips install scripts', () => {
    const out = spawnSync('npm', ['config', 'get', 'ignore-scripts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, npm_config_ignore_scripts: undefined },
    });
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe('true');
    expect(out.stderr).toBe('');
  });
});

/**
 * The manual page: generated from the CLI's own command table (so it lists every command and option),
 * valid roff for groff, and what plain `git prolly --help` shows — git runs `man git-prolly`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMON_OPTIONS } from '../../src/cli/argv.js';
import { commandSpecs } from '../../src/cli/main.js';
import { gitProllyManPage, roffText } from '../../src/cli/man-page.js';

const root = join(import.meta.dirname, '..', '..');
const pageFile = join(root, 'man', 'man1', 'git-prolly.1');
const hasTool = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;

describe('git-prolly(1)', () => {
  it('the checked-in page is what the command table generates (run `npm run man` after changing commands)', async () => {
    expect(readFileSync(pageFile, 'utf8')).toBe(await gitProllyManPage());
  });

  it('names every visible command with its arguments and every option', async () => {
    const page = await gitProllyManPage();
    for (const c of commandSpecs().filter((s) => !s.hidden)) {
      expect(page).toContain(`.B git prolly ${roffText(c.name)}${c.args ? ` ${roffText(c.args)}` : ''}\n`);
      for (const [flags] of c.options ?? []) expect(page, `${c.name} ${flags}`).toContain(`.B ${roffText(flags)}\n`);
    }
    for (const [flags] of COMMON_OPTIONS) expect(page).toContain(`.B ${roffText(flags)}\n`);
    for (const c of commandSpecs().filter((s) => s.hidden)) expect(page).not.toContain(`.B git prolly ${roffText(c.name)}\n`);
  });

  it('escapes what roff would otherwise interpret', () => {
    expect(roffText('.hidden')).toBe('\\&.hidden');
    expect(roffText('a\\b')).toBe('a\\eb');
    expect(roffText('--at → x')).toBe('\\-\\-at \\[u2192] x');
  });

  it.skipIf(!hasTool('groff'))('groff formats it without a single warning', () => {
    const r = spawnSync('groff', ['-man', '-ww', '-z', pageFile], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });

  it.skipIf(!hasTool('man'))('plain `git prolly --help` shows the page through git and man', () => {
    const env = {
      ...process.env,
      PATH: `${join(root, 'bin')}:${process.env.PATH}`,
      MANPATH: join(root, 'man'),
      MANPAGER: 'cat',
      PAGER: 'cat',
      MANWIDTH: '100',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    };
    const r = spawnSync('git', ['prolly', '--help'], { env, encoding: 'utf8', cwd: root });
    expect(r.stderr).not.toMatch(/No manual entry/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+git-prolly - version large key-value and SQL datasets with git/m);
    expect(r.stdout).toMatch(/git prolly gc/);
  });
});

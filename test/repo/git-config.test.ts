/** The git config reader against git itself (`git config -f FILE --list`) as the oracle. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitIdentity, parseGitConfig, readGitConfig } from '../../src/repo/git-config.js';

const TRICKY = `# comment
[core]
\tbare = false ; trailing comment
\tEditor = "vim -c \\"set tw=72\\""
[user]
\tname = Ada   Lovelace   
\temail = ada@example.org # comment
[diff "prolly"]
\tcommand = git-prolly diff-driver
[Section.Sub]
\tKey = one
[multi]
\tvalue = a
\tvalue = b
\tflag
\tcont = one \\
two
\tesc = tab\\there
`;

describe('git config reader', () => {
  it('reads what git reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prolly-gitcfg-'));
    try {
      const file = join(dir, 'config');
      writeFileSync(file, TRICKY);
      const r = spawnSync('git', ['config', '-f', file, '--list'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const oracle = new Map<string, string[]>();
      for (const line of r.stdout.trim().split('\n')) {
        const eq = line.indexOf('=');
        const [k, v] = eq < 0 ? [line, 'true'] : [line.slice(0, eq), line.slice(eq + 1)];
        oracle.set(k, [...(oracle.get(k) ?? []), v]);
      }
      const ours = parseGitConfig(TRICKY);
      expect(new Map([...ours].map(([k, v]) => [k.toLowerCase(), v]))).toEqual(new Map([...oracle].map(([k, v]) => [k.toLowerCase(), v])));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('layers global, repository and -c settings; identity follows git precedence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prolly-gitcfg-'));
    try {
      writeFileSync(join(dir, 'global'), '[user]\n\tname = Global\n\temail = g@x\n');
      writeFileSync(join(dir, 'config'), '[user]\n\temail = repo@x\n');
      const env = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(dir, 'global'), HOME: dir };
      const values = readGitConfig({ gitDir: dir, commonDir: dir }, env);
      expect(gitIdentity({ role: 'author', config: values, env })).toMatchObject({ name: 'Global', email: 'repo@x' });
      const withParams = readGitConfig({ gitDir: dir, commonDir: dir }, { ...env, GIT_CONFIG_PARAMETERS: "'user.name'='From -c'" });
      expect(gitIdentity({ role: 'committer', config: withParams, env })).toMatchObject({ name: 'From -c' });
      expect(gitIdentity({ role: 'author', config: values, env: { ...env, GIT_AUTHOR_NAME: 'Env', GIT_AUTHOR_DATE: '@1700000000 +0130' } })).toEqual({
        name: 'Env',
        email: 'repo@x',
        timestamp: 1700000000,
        timezoneOffset: -90,
      });
      expect(() => gitIdentity({ role: 'author', config: new Map(), env: {} })).toThrow(/author identity unknown/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

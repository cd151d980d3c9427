/** examples/pipeline.mjs runs as documented and leaves a repository real git accepts. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, plainDir, ROOT, testEnv } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

describe('examples/pipeline.mjs', () => {
  const tmp = plainDir();
  afterAll(() => tmp.cleanup());

  it('imports, commits, corrects, diffs and reports history', () => {
    const dir = join(tmp.dir, 'repo');
    const env = testEnv(tmp.dir);
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'pipeline.mjs'), dir], { env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('imported 3000 rows → 3000 users');
    expect(r.stdout).toMatch(/removed {2}u00007\n {2}modified u00042\n {2}added {4}u09999/);
    expect(r.stdout).toContain('u00007 at HEAD~1: present, now: absent');
    const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, env, encoding: 'utf8' });
    expect(git('log', '--format=%s').stdout.trim().split('\n')).toEqual(['Daily corrections', 'Import users extract']);
    expect(git('fsck', '--strict').status).toBe(0);
    expect(git('status', '--porcelain').stdout).toBe('');
  });
});

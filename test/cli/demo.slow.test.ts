/** `npm run demo` (git prolly demo): the README's one-command end-to-end tour runs clean. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt, plainDir, testEnv } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

describe('git prolly demo', () => {
  const tmp = plainDir();
  afterAll(() => tmp.cleanup());

  it('runs every step with real git and keeps the repository when given a directory', () => {
    const dir = join(tmp.dir, 'demo');
    const env = { ...testEnv(tmp.dir) };
    const r = spawnSync(process.execPath, [BIN, 'demo', dir], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stdout.slice(-3000) + r.stderr).toBe(0);
    expect(r.stdout).not.toContain('!! step failed');
    expect(r.stdout).toContain("Merge made by the 'ort' strategy.");
    expect(r.stdout).toContain('CONFLICT (dataset): 1 key was changed differently on both sides in users');
    expect(r.stdout).toMatch(/\+u03001 = \{"id":"u03001"/);
    expect(r.stdout).toContain(`Done. The demo repository is at ${dir}`);
    expect(existsSync(join(dir, '.prolly', 'datasets', 'users'))).toBe(true);
    const fsck = spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: dir, env, encoding: 'utf8' });
    expect(fsck.status, fsck.stderr).toBe(0);
    expect(spawnSync('git', ['status', '--porcelain'], { cwd: dir, env, encoding: 'utf8' }).stdout).toBe('');
  }, 180_000);
});

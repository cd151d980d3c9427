/**
 * gc when the local store does not hold everything reachable (a lazy clone, or a lost chunk): the
 * mark cannot see below the missing chunk, so an unmarked chunk is deleted only when a remote backend
 * has it — never the last copy — and with no remote backend nothing is deleted for being unmarked.
 * Remote backends themselves are never touched.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleUsersCsv } from '../../src/dataset/sample.js';
import { LocalStore } from '../../src/store/local-store.js';
import { toHex } from '../../src/util/bytes.js';
import { ensureBuilt, makeRepo, type TestRepo } from '../cli/helpers.js';
import { digest, gc, inStore, storeDir, workRoot } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

function listRecursive(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

describe('gc with chunks missing from the local store', () => {
  let r: TestRepo;
  let share: string;
  let headRoot = '';
  let pushedGarbage = '';
  let localGarbage = '';
  let headDigest = '';

  beforeAll(async () => {
    r = makeRepo({ init: true });
    share = join(r.home, 'share');
    const csv = (name: string, seed: number) => {
      const f = join(r.home, name);
      writeFileSync(f, sampleUsersCsv({ rows: 1500, seed }));
      return f;
    };
    r.ok(['import', 'users', csv('v1.csv', 1)]);
    r.ok(['commit', '-m', 'v1']);
    r.ok(['remote', 'add', 'share', share]);
    r.ok(['commit', '-m', 'remote']);
    // A version pushed, then made unreachable (branch deleted, reflogs expired).
    r.gitOk(['switch', '-q', '-c', 'tmp']);
    r.ok(['import', 'users', csv('tmp.csv', 2), '--replace']);
    pushedGarbage = workRoot(r, 'users');
    r.ok(['commit', '-m', 'tmp']);
    r.ok(['push', '--all']);
    r.gitOk(['switch', '-q', 'main']);
    r.gitOk(['branch', '-q', '-D', 'tmp']);
    r.gitOk(['reflog', 'expire', '--expire=now', '--all']);
    // A version only ever local, then overwritten.
    r.ok(['import', 'users', csv('local.csv', 3), '--replace']);
    localGarbage = workRoot(r, 'users');
    r.ok(['restore', 'users']);
    headRoot = workRoot(r, 'users');
    headDigest = await digest(r.dir, 'HEAD');
    // Lose HEAD's root node locally (as a lazy clone that never read it would lack it).
    const store = await LocalStore.open({ dir: storeDir(r) });
    try {
      await store.compact({ live: (a) => toHex(a) !== headRoot, keepNewerThanMs: Date.now() + 86_400_000 });
    } finally {
      await store.close();
    }
    expect(await inStore(r, [headRoot, pushedGarbage, localGarbage])).toEqual([false, true, true]);
  }, 120_000);
  afterAll(() => r?.cleanup());

  it('without a remote backend, deletes nothing for being unmarked', async () => {
    const config = join(r.dir, '.prolly', 'config.toml');
    const text = readFileSync(config, 'utf8');
    r.ok(['remote', 'remove', 'share']);
    try {
      const report = gc(r, ['--keep-recent', '0']);
      expect(report.unreadableChunks).toBe(1);
      expect(report.store.reclaimedChunks).toBe(0);
      expect(report.notes.join('\n')).toContain('no remote backend is configured');
      expect(await inStore(r, [pushedGarbage, localGarbage])).toEqual([true, true]);
    } finally {
      writeFileSync(config, text);
    }
  });

  it('with one, deletes only unmarked chunks the remote has; HEAD still reads (through the remote)', async () => {
    const remoteFiles = listRecursive(share);
    const report = gc(r, ['--keep-recent', '0']);
    expect(report.unreadableChunks).toBe(1);
    expect(report.store.reclaimedChunks).toBeGreaterThan(0);
    expect(report.notes.join('\n')).toMatch(/deleted only where a remote backend has them \(\d+ kept\)/);
    expect(await inStore(r, [pushedGarbage, localGarbage])).toEqual([false, true]);
    expect(listRecursive(share)).toEqual(remoteFiles);
    expect(await digest(r.dir, 'HEAD')).toBe(headDigest);
  });
});

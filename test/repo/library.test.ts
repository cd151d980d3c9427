/**
 * The library API (src/index.ts) as a data pipeline uses it: no git binary in the code under test
 * (git is only the oracle and sets up branches), checked afterwards with real git.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobRef, ErrorCodes, initRepo, openRepo, ProllyError, type Repo } from '../../src/index.js';
import { fromUtf8 } from '../../src/util/bytes.js';
import { testEnv } from '../cli/helpers.js';

let base: string;
let dir: string;
const git = (...args: string[]) => {
  const r = spawnSync('git', args, { cwd: dir, env: testEnv(join(base, 'home')), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'prolly-lib-'));
  dir = join(base, 'repo');
  mkdirSync(join(base, 'home'));
  mkdirSync(dir);
  Object.assign(process.env, testEnv(join(base, 'home')));
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), '# data\n');
  git('add', 'README.md');
  git('commit', '-q', '-m', 'initial');
  const init = await initRepo({ dir });
  expect(init.changed).toContain('.prolly/config.toml');
  expect((await initRepo({ dir })).changed).toEqual([]);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function withRepo<T>(fn: (repo: Repo) => Promise<T>): Promise<T> {
  const repo = await openRepo({ dir });
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

describe('library API', () => {
  it('put / get / putMany / del / scan, with large values stored as blobs', async () => {
    const big = randomBytes(300_000);
    await withRepo(async (repo) => {
      const ds = repo.dataset('items');
      await ds.putMany([
        ['b', '2'],
        ['a', '1'],
        ['c', '3'],
        ['a', 'one'],
      ]);
      expect(await ds.getText('a')).toBe('one');
      await ds.put('big', big);
      await ds.put('streamed', Readable.from([big.subarray(0, 1000), big.subarray(1000)]));
      await ds.put(new Uint8Array([0xff, 0x00]), new Uint8Array([1, 2, 3]));
      expect(Buffer.from((await ds.get('big'))!).equals(big)).toBe(true);
      expect(Buffer.from((await ds.get('streamed'))!).equals(big)).toBe(true);
      expect(await ds.getRaw('big')).toBeInstanceOf(BlobRef);
      expect(await ds.getRaw('a')).toBeInstanceOf(Uint8Array);
      expect(Array.from((await ds.get(new Uint8Array([0xff, 0x00])))!)).toEqual([1, 2, 3]);
      const del = await ds.del('b', 'missing');
      expect(del.deleted).toBe(1);
      const keys = async (opts: Parameters<typeof ds.scan>[0]) => {
        const out: string[] = [];
        for await (const e of ds.scan(opts)) out.push(fromUtf8(e.key));
        return out;
      };
      expect(await keys({ to: 'c' })).toEqual(['a', 'big']);
      expect(await keys({ prefix: 's' })).toEqual(['streamed']);
      expect(await keys({ from: 'big', reverse: true, limit: 2 })).toEqual(['\ufffd\u0000', 'streamed']);
      expect(await ds.count()).toBe(5);
    });
  });

  it('commit writes a git commit of .prolly/ only; log, diff and history read it back', async () => {
    writeFileSync(join(dir, 'staged.txt'), 'mine\n');
    git('add', 'staged.txt');
    const first = await withRepo((repo) => repo.commit({ message: 'items' }));
    expect(first.oid).toBe(git('rev-parse', 'HEAD').trim());
    expect(first.datasets).toEqual(['items']);
    expect(git('status', '--porcelain')).toBe('A  staged.txt\n');
    git('commit', '-q', '-m', 'staged');
    expect((await withRepo((repo) => repo.commit({ message: 'nothing' }))).oid).toBeUndefined();

    await withRepo(async (repo) => {
      await repo.dataset('items').put('a', 'uno');
      await repo.dataset('items').del('c');
      const changes = [];
      for await (const c of repo.diff()) changes.push([c.dataset, c.type, fromUtf8(c.key)]);
      expect(changes).toEqual([
        ['items', 'modified', 'a'],
        ['items', 'removed', 'c'],
      ]);
      await repo.commit({ message: 'a is uno' });
      const log = await repo.log({ dataset: 'items' });
      expect(log.map((e) => e.commit.message)).toEqual(['a is uno\n', 'items\n']);
      const history = await repo.history('items', 'a');
      expect(history.map((h) => [h.type, fromUtf8(h.to as Uint8Array)])).toEqual([
        ['modified', 'uno'],
        ['added', 'one'],
      ]);
      expect(await repo.dataset('items').getText('a', { at: 'HEAD~2' })).toBe('one');
    });
    expect(git('log', '--format=%s').trim().split('\n')).toEqual(['a is uno', 'staged', 'items', 'initial']);
  });

  it('merge without git: key-level merge commit, fast-forward, and all-or-nothing conflicts', async () => {
    git('branch', 'feature');
    await withRepo(async (repo) => {
      await repo.dataset('items').put('main-only', 'm');
      await repo.commit({ message: 'main change' });
    });
    git('switch', '-q', 'feature');
    await withRepo(async (repo) => {
      await repo.dataset('items').put('feature-only', 'f');
      await repo.dataset('items').put('a', 'feature-a');
      await repo.commit({ message: 'feature change' });
    });
    git('switch', '-q', 'main');

    const merged = await withRepo((repo) => repo.merge({ rev: 'feature' }));
    expect(merged.kind).toBe('merge');
    expect(merged.datasets).toEqual(['items']);
    expect(git('rev-parse', 'HEAD').trim()).toBe(merged.oid);
    expect(git('log', '-1', '--format=%P').trim().split(' ')).toEqual([git('rev-parse', 'HEAD~1').trim(), git('rev-parse', 'feature').trim()]);
    expect(git('status', '--porcelain')).toBe('');
    await withRepo(async (repo) => {
      const ds = repo.dataset('items');
      expect([await ds.getText('main-only'), await ds.getText('feature-only'), await ds.getText('a')]).toEqual(['m', 'f', 'feature-a']);
    });
    expect((await withRepo((repo) => repo.merge({ rev: 'feature' }))).kind).toBe('up-to-date');

    // Fast-forward: feature catches up with main.
    git('switch', '-q', 'feature');
    const ff = await withRepo((repo) => repo.merge({ rev: 'main' }));
    expect(ff.kind).toBe('fast-forward');
    expect(git('rev-parse', 'HEAD').trim()).toBe(git('rev-parse', 'main').trim());
    expect(git('status', '--porcelain')).toBe('');
    expect(existsSync(join(dir, 'staged.txt'))).toBe(true);

    // A same-key conflict: refused, nothing changes; with a strategy it merges.
    await withRepo(async (repo) => {
      await repo.dataset('items').put('a', 'feature-again');
      await repo.commit({ message: 'feature a again' });
    });
    git('switch', '-q', 'main');
    await withRepo(async (repo) => {
      await repo.dataset('items').put('a', 'main-again');
      await repo.commit({ message: 'main a again' });
    });
    const head = git('rev-parse', 'HEAD').trim();
    const err = await withRepo((repo) => repo.merge({ rev: 'feature' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe(ErrorCodes.MERGE_CONFLICT);
    expect((err as ProllyError).message).toBe('merge of feature has conflicts (nothing was changed): items: key "a"');
    expect(git('rev-parse', 'HEAD').trim()).toBe(head);
    expect(git('status', '--porcelain')).toBe('');
    const resolved = await withRepo((repo) => repo.merge({ rev: 'feature', strategy: 'theirs' }));
    expect(resolved.kind).toBe('merge');
    expect(await withRepo((repo) => repo.dataset('items').getText('a'))).toBe('feature-again');
    expect(git('status', '--porcelain')).toBe('');
    const fsck = spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: dir, env: testEnv(join(base, 'home')), encoding: 'utf8' });
    expect(fsck.status, fsck.stderr).toBe(0);
  });

  it('import from a file, and errors for unknown datasets and locked repositories', async () => {
    const csv = join(base, 'rows.csv');
    writeFileSync(csv, 'sku,qty\nx1,3\nx2,4\n');
    const seen: number[] = [];
    await withRepo(async (repo) => {
      const r = await repo.dataset('stock').import(csv, { onProgress: (p) => seen.push(p.rows) });
      expect(r).toMatchObject({ rows: 2, count: 2 });
      expect(await repo.dataset('stock').getText('x2')).toBe('{"sku":"x2","qty":"4"}');
      await expect(repo.dataset('nope').get('k')).rejects.toMatchObject({ code: ErrorCodes.UNKNOWN_DATASET });
      // This repo now holds the write lock: a second writer is refused.
      const other = await openRepo({ dir });
      try {
        await expect(other.dataset('stock').put('x3', '1')).rejects.toMatchObject({ code: ErrorCodes.LOCKED });
      } finally {
        await other.close();
      }
    });
    expect(seen.at(-1)).toBe(2);
  });
});

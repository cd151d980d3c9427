/** The index reader/writer against git itself: what git wrote we read, what we write git reads. */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { indexEntryFor, readIndex, writeIndex, encodeIndex, parseIndex } from '../../src/repo/git-index.js';
import type { ProllyError } from '../../src/errors.js';
import { GitRepo } from '../../src/repo/git.js';
import { findRepo } from '../../src/repo/paths.js';
import { replaceUnderGitLock, replaceUnderGitLockSync } from '../../src/util/atomic-file.js';
import { testEnv } from '../cli/helpers.js';

let dir: string;
let base: string;
const git = (...args: string[]) => {
  const r = spawnSync('git', args, { cwd: dir, env: testEnv(base), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
/** `git ls-files --stage` as [mode, oid, stage, path] rows. */
const lsFiles = () =>
  git('ls-files', '--stage', '-z')
    .split('\0')
    .filter(Boolean)
    .map((l) => {
      const [meta, path] = l.split('\t');
      const [mode, oid, stage] = meta!.split(' ');
      return [mode, oid, Number(stage), path];
    });
const ours = () => readIndex(join(dir, '.git')).entries.map((e) => [e.mode.toString(8), e.oid, e.stage, e.path]);

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'prolly-index-'));
  dir = join(base, 'repo');
  mkdirSync(dir);
  git('init', '-q', '-b', 'main');
  mkdirSync(join(dir, 'a', 'deep', 'er'), { recursive: true });
  writeFileSync(join(dir, 'a', 'deep', 'er', 'file.txt'), 'x\n');
  writeFileSync(join(dir, 'a', 'b.txt'), 'b\n');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'run.sh'), 0o755);
  mkdirSync(join(dir, 'd'.repeat(120)), { recursive: true });
  writeFileSync(join(dir, 'd'.repeat(120), `${'long-name-'.repeat(20)}.txt`), 'long\n');
  writeFileSync(join(dir, 'ünïcödé.txt'), 'u\n');
  git('add', '-A');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('git index', () => {
  it('reads what git wrote, and re-encodes it byte for byte when it has no extensions', () => {
    expect(ours()).toEqual(lsFiles());
    const raw = readFileSync(join(dir, '.git', 'index'));
    const parsed = parseIndex(raw);
    // git add writes no extensions here, so our encoding must be identical.
    expect(encodeIndex(parsed).equals(raw)).toBe(true);
  });

  it('what we write, git reads: entries, stat data (clean status) and extensions dropped safely', () => {
    git('commit', '-q', '-m', 'c'); // writes a cache-tree (TREE) extension
    const index = readIndex(join(dir, '.git'));
    writeIndex(join(dir, '.git'), index);
    expect(lsFiles()).toEqual(ours());
    expect(git('status', '--porcelain')).toBe('');
    expect(git('diff', '--cached', '--name-only')).toBe('');
    expect(spawnSync('git', ['fsck'], { cwd: dir, env: testEnv(base) }).status).toBe(0);
  });

  it('a replaced entry with stat data is staged, and the work tree compares clean', () => {
    git('commit', '-q', '-m', 'c');
    const file = join(dir, 'a', 'b.txt');
    writeFileSync(file, 'changed\n');
    const oid = git('hash-object', '-w', 'a/b.txt').trim();
    const index = readIndex(join(dir, '.git'));
    const entries = index.entries.filter((e) => e.path !== 'a/b.txt');
    entries.push(indexEntryFor({ path: 'a/b.txt', oid, stat: statSync(file, { bigint: true }) }));
    writeIndex(join(dir, '.git'), { version: index.version, entries });
    expect(git('status', '--porcelain')).toBe('M  a/b.txt\n');
    expect(git('diff', '--name-only')).toBe('');
  });

  it('index version 4 (path compression) is read and written back as version 4', () => {
    git('update-index', '--index-version', '4');
    expect(readIndex(join(dir, '.git')).version).toBe(4);
    expect(ours()).toEqual(lsFiles());
    writeIndex(join(dir, '.git'), readIndex(join(dir, '.git')));
    expect(readFileSync(join(dir, '.git', 'index')).readUInt32BE(4)).toBe(4);
    expect(lsFiles()).toEqual(ours());
    expect(git('status', '--porcelain').split('\n').filter((l) => l && !l.startsWith('A '))).toEqual([]);
  });

  it('conflict stages are read as git lists them', () => {
    git('commit', '-q', '-m', 'base');
    git('switch', '-q', '-c', 'other');
    writeFileSync(join(dir, 'a', 'b.txt'), 'theirs\n');
    git('commit', '-q', '-am', 'theirs');
    git('switch', '-q', 'main');
    writeFileSync(join(dir, 'a', 'b.txt'), 'ours\n');
    git('commit', '-q', '-am', 'ours');
    spawnSync('git', ['merge', 'other'], { cwd: dir, env: testEnv(base) });
    expect(ours().filter((e) => e[3] === 'a/b.txt').map((e) => e[2])).toEqual([1, 2, 3]);
    expect(ours()).toEqual(lsFiles());
  });

  it('refuses to write while git holds index.lock, and refuses a split index', () => {
    writeFileSync(join(dir, '.git', 'index.lock'), '');
    expect(() => writeIndex(join(dir, '.git'), readIndex(join(dir, '.git')))).toThrow(/index\.lock exists/);
    rmSync(join(dir, '.git', 'index.lock'));
    git('update-index', '--split-index');
    expect(() => readIndex(join(dir, '.git'))).toThrow(/"link" extension \(split index\)/);
  });
});

describe("git's lock-file protocol (shared by the index and ref writers)", () => {
  it('a failure while the lock is held leaves the file as it was and removes the lock', async () => {
    const target = join(dir, 'file');
    writeFileSync(target, 'old\n');
    const busy = (l: string) => new Error(`busy ${l}`);
    expect(() => replaceUnderGitLockSync({ path: target, busy, content: () => { throw new Error('no content'); } })).toThrow('no content');
    await expect(replaceUnderGitLock({ path: target, busy, content: async () => { throw new Error('check failed'); } })).rejects.toThrow('check failed');
    expect(readFileSync(target, 'utf8')).toBe('old\n');
    expect(existsSync(`${target}.lock`)).toBe(false);
    writeFileSync(`${target}.lock`, '');
    expect(() => replaceUnderGitLockSync({ path: target, busy, content: () => 'new\n' })).toThrow(`busy ${target}.lock`);
    expect(readFileSync(target, 'utf8')).toBe('old\n');
    rmSync(`${target}.lock`);
    replaceUnderGitLockSync({ path: target, busy, content: () => 'new\n' });
    expect(readFileSync(target, 'utf8')).toBe('new\n');
  });

  it('updateRef writes under the lock what git reads, and refuses when the ref moved or is locked', async () => {
    git('commit', '-q', '-m', 'c1');
    const c1 = git('rev-parse', 'HEAD').trim();
    git('commit', '-q', '--allow-empty', '-m', 'c2');
    const c2 = git('rev-parse', 'HEAD').trim();
    const repo = new GitRepo(findRepo({ dir }));
    const identity = { name: 'T', email: 't@example.org', timestamp: 1_700_000_000, timezoneOffset: 0 };
    await repo.updateRef({ ref: 'refs/heads/side', newOid: c1, expectedOld: undefined, message: 'create', identity, alsoHead: false });
    expect(git('rev-parse', 'side').trim()).toBe(c1);
    const moved = await repo.updateRef({ ref: 'refs/heads/side', newOid: c2, expectedOld: c2, message: 'x', identity, alsoHead: false }).catch((e: unknown) => e);
    expect((moved as ProllyError).code).toBe('EGITSTATE');
    expect(existsSync(join(dir, '.git', 'refs', 'heads', 'side.lock'))).toBe(false);
    writeFileSync(join(dir, '.git', 'refs', 'heads', 'side.lock'), '');
    const locked = await repo.updateRef({ ref: 'refs/heads/side', newOid: c2, expectedOld: c1, message: 'x', identity, alsoHead: false }).catch((e: unknown) => e);
    expect((locked as ProllyError).message).toMatch(/side\.lock exists/);
    rmSync(join(dir, '.git', 'refs', 'heads', 'side.lock'));
    await repo.updateRef({ ref: 'refs/heads/side', newOid: c2, expectedOld: c1, message: 'advance', identity, alsoHead: false });
    expect(git('rev-parse', 'side').trim()).toBe(c2);
    expect(git('reflog', 'show', '--format=%gs', 'refs/heads/side').trim().split('\n')).toEqual(['advance', 'create']);
  });
});

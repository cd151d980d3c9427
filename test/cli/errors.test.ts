/**
 * Bad input through the real CLI: every failure is one clear line naming the input, the right exit
 * code, and nothing already stored changes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileLock } from '../../src/store/file-lock.js';
import { ensureBuilt, makeRepo, plainDir, type TestRepo } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

describe('bad input', () => {
  let r: TestRepo;
  const pointerFile = () => join(r.dir, '.prolly', 'datasets', 'users');
  beforeAll(() => {
    r = makeRepo({ init: true });
    r.ok(['put', 'users', 'alice', '{"age":31}']);
    r.ok(['commit', '-m', 'alice']);
  });
  afterAll(() => r.cleanup());

  it('a malformed CSV row: the error names the file and line, and nothing is written', () => {
    const before = readFileSync(pointerFile(), 'utf8');
    const file = join(r.dir, 'bad.csv');
    writeFileSync(file, 'id,name\nbob,Bob\ncarol,Carol,extra\ndave,Dave\n');
    const res = r.prolly(['import', 'users', file]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe(`git-prolly: ${file}:3: expected 2 fields (as in the header), got 3`);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(pointerFile(), 'utf8')).toBe(before);
    expect(r.prolly(['get', 'users', 'bob']).code).toBe(1);
    expect(r.gitOk(['status', '--porcelain', '.prolly'])).toBe('');

    writeFileSync(file, 'id,name\nbob,"Bob\ncarol,Carol\n');
    const unterminated = r.prolly(['import', 'users', file]);
    expect(unterminated.code).toBe(2);
    expect(unterminated.stderr).toContain(`${file}:2: unterminated quoted field`);

    writeFileSync(join(r.dir, 'bad.ndjson'), '{"id":"x"}\n{"id": oops}\n');
    const nd = r.prolly(['import', 'users', join(r.dir, 'bad.ndjson')]);
    expect(nd.code).toBe(2);
    expect(nd.stderr).toMatch(/bad\.ndjson:2: invalid JSON/);
    expect(readFileSync(pointerFile(), 'utf8')).toBe(before);
  });

  it('an import of a new dataset that fails creates no dataset', () => {
    const file = join(r.dir, 'bad2.csv');
    writeFileSync(file, 'id,v\na,1\nb,"x"y\n');
    const res = r.prolly(['import', 'fresh', file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${file}:3:`);
    expect(JSON.parse(r.ok(['datasets', '--json'])).map((d: { name: string }) => d.name)).toEqual(['users']);
  });

  it('an unknown dataset is named in a one-line error (exit 2)', () => {
    for (const args of [['get', 'nope', 'k'], ['scan', 'nope'], ['del', 'nope', 'k'], ['export', 'nope'], ['stats', 'nope']]) {
      const res = r.prolly(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr.trim()).toMatch(/^git-prolly: unknown dataset "nope"/);
    }
    const json = r.prolly(['get', 'nope', 'k', '--json']);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'ENODATASET', message: expect.stringContaining('"nope"') } });
    const bad = r.prolly(['put', '../evil', 'k', 'v']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid dataset name "../evil"');
  });

  it('a missing key exits 1; an over-long key is refused with its length', () => {
    const missing = r.prolly(['get', 'users', 'zed']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('git-prolly: key "zed" not found in dataset users');
    const before = readFileSync(pointerFile(), 'utf8');
    const long = 'k'.repeat(5000);
    const res = r.prolly(['put', 'users', long, 'v']);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe('git-prolly: key of 5000 bytes is longer than the 4096-byte maximum');
    expect(readFileSync(pointerFile(), 'utf8')).toBe(before);
    const csv = join(r.dir, 'long.csv');
    writeFileSync(csv, `id,v\nok,1\n${'x'.repeat(4097)},2\n`);
    const imp = r.prolly(['import', 'users', csv]);
    expect(imp.code).toBe(2);
    expect(imp.stderr).toContain(`${csv}:3: key of 4097 bytes is longer than the 4096-byte maximum`);
  });

  it('outside a git repository, and before init, the error says so', () => {
    const plain = plainDir();
    try {
      for (const args of [['init'], ['get', 'a', 'b'], ['datasets']]) {
        const res = r.prolly(args, { cwd: plain.dir });
        expect(res.code, args.join(' ')).toBe(2);
        expect(res.stderr.trim()).toBe(`git-prolly: not a git repository (or any parent up to /): ${plain.dir}`);
      }
    } finally {
      plain.cleanup();
    }
    const fresh = makeRepo();
    try {
      const res = fresh.prolly(['get', 'users', 'a']);
      expect(res.code).toBe(2);
      expect(res.stderr.trim()).toBe(`git-prolly: git-prolly is not set up in ${fresh.dir}: run git prolly init`);
    } finally {
      fresh.cleanup();
    }
  });

  it('a second writer gets a clear lock error and changes nothing', async () => {
    const before = readFileSync(pointerFile(), 'utf8');
    const lock = await FileLock.acquire({ path: join(r.dir, '.git', 'prolly', 'lock'), purpose: 'git-prolly import' });
    try {
      const res = r.prolly(['put', 'users', 'bob', '1']);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('another git-prolly process is writing to this repository');
      expect(res.stderr).toContain(`process ${process.pid}`);
      expect(res.stderr).toContain('git-prolly import');
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      // Readers are not blocked.
      expect(r.ok(['get', 'users', 'alice'])).toBe('{"age":31}');
    } finally {
      lock.release();
    }
    expect(readFileSync(pointerFile(), 'utf8')).toBe(before);
    r.ok(['put', 'users', 'bob', '1']);
    expect(r.ok(['get', 'users', 'bob'])).toBe('1');
  });

  it('usage errors exit 2; a broken pointer file is reported with its line', () => {
    expect(r.prolly(['put', 'users']).code).toBe(2);
    expect(r.prolly(['no-such-command']).code).toBe(2);
    expect(r.prolly(['scan', 'users', '--limit', 'lots']).stderr).toContain('--limit must be a non-negative integer');
    expect(r.prolly(['put', 'users', 'k', 'v', '--stdin']).stderr).toContain('exactly one value');
    writeFileSync(join(r.dir, '.prolly', 'datasets', 'broken'), 'prolly-dataset 1\nkind kv\nroot abc\ncount 1\n');
    const res = r.prolly(['get', 'broken', 'k']);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe('git-prolly: .prolly/datasets/broken:3: root must be 64 lower-case hex digits, got "abc"');
  });
});

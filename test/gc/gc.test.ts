/**
 * `git prolly gc` through the real CLI in a real git repository whose datasets are named from every
 * kind of root: branches, an annotated tag, a commit only the reflog still names, a stash (and its
 * index commit), a staged pointer, the work tree, and a SQL table with a cached secondary index —
 * with garbage from rewrites and overwritten blobs. After gc every revision reads back exactly as
 * before and `git prolly verify --deep` passes over each.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleUsersCsv } from '../../src/dataset/sample.js';
import { ensureBuilt, makeRepo, type TestRepo } from '../cli/helpers.js';
import { digest, gc, inStore, storeAddresses, storeBytes, storeListing, verifyDeep, workRoot } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

/** The datasets every revision's digest covers. */
const DATASETS = ['users', 'files'];

/** Deterministic bytes for a large (blob) value. */
function blobBytes(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('git prolly gc', () => {
  let r: TestRepo;
  /** Revision → digest of its datasets, before gc. */
  const before = new Map<string, string>();
  let revs: string[] = [];
  let stagedExport = '';
  let workExport = '';
  let garbageRoot = '';
  let liveRoots: string[] = [];
  let sqlBefore = '';
  let indexRoot = '';

  beforeAll(async () => {
    r = makeRepo({ init: true });
    const csv = (name: string, rows: number, seed: number) => {
      const file = join(r.home, name);
      writeFileSync(file, sampleUsersCsv({ rows, seed }));
      return file;
    };
    const file = (name: string, seed: number) => {
      const f = join(r.home, name);
      writeFileSync(f, blobBytes(seed, 300_000));
      return f;
    };
    r.ok(['import', 'users', csv('v1.csv', 2000, 1)]);
    r.ok(['put', 'files', 'big', '--file', file('big1', 1)]);
    r.ok(['commit', '-m', 'v1']);
    r.gitOk(['tag', '-a', 'v1', '-m', 'first release']);
    r.ok(['import', 'users', csv('v2.csv', 2000, 2), '--replace']);
    r.ok(['commit', '-m', 'v2']);
    r.gitOk(['switch', '-q', '-c', 'feature']);
    r.ok(['put', 'users', 'feature-key', '{"f":1}']);
    r.ok(['put', 'files', 'big', '--file', file('big2', 2)]);
    r.ok(['commit', '-m', 'feature']);
    r.gitOk(['switch', '-q', 'main']);
    // A commit only the reflog remembers.
    r.ok(['put', 'users', 'dropped-key', '{"d":1}']);
    r.ok(['commit', '-m', 'dropped']);
    const dropped = r.gitOk(['rev-parse', 'HEAD']).trim();
    r.gitOk(['reset', '-q', '--hard', 'HEAD~1']);
    // A stash holding an uncommitted dataset version.
    r.ok(['put', 'users', 'stashed-key', '{"s":1}']);
    r.gitOk(['stash', 'push', '-q', '-m', 'wip']);
    const stash = r.gitOk(['rev-parse', 'refs/stash']).trim();
    revs = ['main', 'v1', 'feature', dropped, stash, `${stash}^2`];
    for (const rev of revs) before.set(rev, await digest(r.dir, rev, DATASETS));

    // Garbage: a version written and overwritten before any commit, and overwritten blob values.
    r.ok(['import', 'users', csv('junk.csv', 3000, 3), '--replace']);
    garbageRoot = workRoot(r, 'users');
    r.ok(['put', 'files', 'big', '--file', file('big3', 3)]);
    r.ok(['put', 'files', 'big', '--file', file('big4', 4)]);
    // A staged version, then a different work-tree version.
    r.ok(['import', 'users', csv('staged.csv', 2000, 4), '--replace']);
    r.gitOk(['add', '.prolly/datasets/users', '.prolly/datasets/files']);
    stagedExport = await digest(r.dir, undefined, DATASETS);
    r.ok(['put', 'users', 'work-key', '{"w":1}']);
    workExport = await digest(r.dir, undefined, DATASETS);
    // A SQL table with a secondary index, whose root lives only in .git/prolly/sql-index-roots.json.
    r.ok(['sql', 'CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT)']);
    r.ok(['sql', "INSERT INTO t VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x'); CREATE INDEX by_email ON t (email)"]);
    sqlBefore = r.ok(['sql', "SELECT id FROM t WHERE email = 'b@x'", '--format', 'json']);
    const cache = JSON.parse(readFileSync(join(r.dir, '.git', 'prolly', 'sql-index-roots.json'), 'utf8')) as { entries: string[][] };
    indexRoot = cache.entries[cache.entries.length - 1]![2]!;
    liveRoots = [workRoot(r, 'users'), workRoot(r, 't'), indexRoot];
  }, 120_000);
  afterAll(() => r?.cleanup());

  it('--dry-run reports the garbage and changes nothing', async () => {
    const listing = storeListing(r);
    const dry = gc(r, ['--dry-run', '--keep-recent', '0']);
    expect(dry.dryRun).toBe(true);
    expect(dry.store.garbageChunks).toBeGreaterThan(0);
    expect(dry.store.reclaimedChunks).toBe(dry.store.garbageChunks);
    expect(dry.store.bytesAfter).toBeLessThan(dry.store.bytesBefore);
    expect(storeListing(r)).toEqual(listing);
    expect(await inStore(r, [garbageRoot])).toEqual([true]);
    expect(JSON.parse(r.ok(['audit', '--json'])).some((e: { entry: { op: string } }) => e.entry.op === 'gc')).toBe(false);
  });

  it('keeps unreachable chunks written within --keep-recent (default two weeks)', async () => {
    const kept = gc(r);
    expect(kept.store.reclaimedChunks).toBe(0);
    expect(kept.store.recentGarbageChunks).toBe(kept.store.garbageChunks);
    expect(kept.store.garbageChunks).toBeGreaterThan(0);
    expect(await inStore(r, [garbageRoot])).toEqual([true]);
    // 1 hour is still recent for packs written seconds ago.
    expect(gc(r, ['--keep-recent', '1.hour']).store.reclaimedChunks).toBe(0);
  });

  it('refuses while a git command holds the index', () => {
    const lock = join(r.dir, '.git', 'index.lock');
    writeFileSync(lock, '');
    try {
      const run = r.prolly(['gc', '--keep-recent', '0']);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('index.lock');
    } finally {
      rmSync(lock);
    }
    expect(() => r.ok(['gc', '--keep-recent', 'soon'])).toThrow(/not a duration: "soon"/);
  });

  it('--keep-recent 0 reclaims the garbage; every revision, the index and the work tree read back as before', async () => {
    const bytesBefore = storeBytes(r);
    const report = gc(r, ['--keep-recent', '0']);
    expect(report.roots).toMatchObject({ indexEntries: 2, workTreePointers: 3 });
    expect(report.roots.reflogEntries).toBeGreaterThan(0);
    expect(report.roots.sqlIndexRoots).toBeGreaterThanOrEqual(1);
    expect(report.unreadableChunks).toBe(0);
    expect(report.store.reclaimedChunks).toBe(report.store.garbageChunks);
    expect(report.store.reclaimedChunks).toBeGreaterThan(0);
    expect(report.store.bytesBefore).toBe(bytesBefore);
    expect(storeBytes(r)).toBe(report.store.bytesAfter);
    expect(report.store.bytesAfter).toBeLessThan(bytesBefore - report.store.reclaimedBytes / 2);
    expect(await inStore(r, [garbageRoot, ...liveRoots])).toEqual([false, true, true, true]);

    for (const rev of revs) {
      expect(await digest(r.dir, rev, DATASETS), rev).toBe(before.get(rev));
      expect(await verifyDeep(r.dir, rev), rev).toEqual([]);
    }
    expect(await digest(r.dir, undefined, DATASETS)).toBe(workExport);
    expect(r.ok(['sql', "SELECT id FROM t WHERE email = 'b@x'", '--format', 'json'])).toBe(sqlBefore);
    const audit = JSON.parse(r.ok(['audit', '--json'])) as { entry: { op: string; details: Record<string, number> } }[];
    const entry = audit.find((e) => e.entry.op === 'gc')!.entry;
    expect(entry.details).toMatchObject({ reclaimedChunks: report.store.reclaimedChunks, bytesAfter: report.store.bytesAfter });

    // The staged pointer's data is intact: commit the index with plain git and read it.
    r.gitOk(['commit', '-q', '-m', 'staged']);
    expect(await digest(r.dir, 'HEAD', DATASETS)).toBe(stagedExport);
    expect(await verifyDeep(r.dir, 'HEAD')).toEqual([]);
  });

  it('is idempotent: a second run finds nothing, changes no file and writes no audit entry', async () => {
    const listing = storeListing(r);
    const auditCount = (JSON.parse(r.ok(['audit', '--json'])) as unknown[]).length;
    const again = gc(r, ['--keep-recent', '0']);
    expect(again.store).toMatchObject({ garbageChunks: 0, reclaimedChunks: 0, packsRewritten: 0, duplicateChunks: 0 });
    expect(storeListing(r)).toEqual(listing);
    expect((JSON.parse(r.ok(['audit', '--json'])) as unknown[]).length).toBe(auditCount);
    const { total, distinct } = await storeAddresses(r);
    expect(total).toBe(distinct);
    expect(distinct).toBe(again.store.chunksAfter);
  });

  it('prints a readable summary', () => {
    const out = r.ok(['gc', '--dry-run']);
    expect(out).toMatch(/dataset versions \(\d+ commits from \d+ refs, \d+ reflog entries/);
    expect(out).toMatch(/local store: [\d,]+ chunks in \d+ packs? \([\d.]+ [kMG]?B\) → /);
    expect(r.ok(['gc', '--help'])).toMatch(/remote backends are not touched/);
  });
});

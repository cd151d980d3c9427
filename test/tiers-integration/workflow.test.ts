/**
 * The user-facing workflow through the real CLI and real git, against the shared s3rver:
 * remote add/list/remove, push (incremental, idempotent), a fresh `git clone` that queries lazily
 * and then fetches everything, the pre-push hook, storage status and metrics.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareRepo, cloneOf, json, listKeys, newBucket, tierRepo, writeCsv, type TestRepo } from './helpers.js';

function storeBytes(repo: TestRepo): number {
  const dir = join(repo.dir, '.git', 'prolly', 'store');
  let total = 0;
  try {
    for (const f of readdirSync(dir)) if (f.endsWith('.pack')) total += statSync(join(dir, f)).size;
  } catch {
    /* none yet */
  }
  return total;
}

describe('push, clone with lazy reads, fetch (s3rver)', () => {
  let origin: TestRepo;
  let s3: Awaited<ReturnType<typeof newBucket>>;

  beforeAll(async () => {
    s3 = await newBucket();
    origin = await tierRepo();
    origin.ok(['import', 'users', writeCsv(origin, 'users.csv', 30_000, 1), '--key', 'id']);
    origin.ok(['remote', 'add', 'archive', `s3://${s3.bucket}/team/data`, '--endpoint', s3.endpoint, '--region', 'us-east-1']);
    origin.ok(['commit', '-m', 'users v1']);
  }, 120_000);
  afterAll(() => origin?.cleanup());

  it('remote add writes a valid [[storage.backends]] entry; list shows it; remove takes it out', () => {
    const config = readFileSync(join(origin.dir, '.prolly', 'config.toml'), 'utf8');
    expect(config).toContain(`bucket = "${s3.bucket}"`);
    expect(config).toContain('prefix = "team/data"');
    const list = json<{ name: string; type: string; role: string }[]>(origin.ok(['remote', 'list', '--json']));
    expect(list.map((b) => `${b.name}:${b.type}:${b.role}`)).toEqual(['local:local:working', 'archive:s3:remote']);

    origin.ok(['remote', 'add', 'share', join(origin.dir, '..', 'share')]);
    expect(json<unknown[]>(origin.ok(['remote', 'list', '--json']))).toHaveLength(3);
    const dup = origin.prolly(['remote', 'add', 'share', '/elsewhere']);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/"share" already exists/);
    origin.ok(['remote', 'remove', 'share']);
    expect(readFileSync(join(origin.dir, '.prolly', 'config.toml'), 'utf8')).toBe(config);
    const bad = origin.prolly(['remote', 'add', 'x', 'ftp://host/path']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot tell what kind of remote/);
  });

  it('push uploads packs once; a second push sends nothing', async () => {
    const first = json<{ chunksSent: number; bytesSent: number; alreadyPresent: number }>(origin.ok(['push', '--json']));
    expect(first.chunksSent).toBeGreaterThan(100);
    const keys = await listKeys(s3.client, s3.bucket, 'team/data/');
    const packs = keys.filter((k) => k.startsWith('team/data/packs/'));
    expect(packs.length).toBeGreaterThanOrEqual(1);
    // Packs, not one object per chunk.
    expect(packs.length).toBeLessThan(first.chunksSent / 50);
    expect(keys.filter((k) => k.startsWith('team/data/manifest/'))).toHaveLength(1);

    s3.counter.reset();
    const again = json<{ chunksSent: number; alreadyPresent: number }>(origin.ok(['push', '--json']));
    expect(again.chunksSent).toBe(0);
    expect(again.alreadyPresent).toBeGreaterThan(0);
    expect(await listKeys(s3.client, s3.bucket, 'team/data/')).toEqual(keys);
  });

  it('a fresh git clone reads lazily (a few chunks), then fetch makes everything local; data is identical', () => {
    const clone = cloneOf(origin);
    const expected = origin.ok(['get', 'users', '00012345']);
    expect(clone.ok(['get', 'users', '00012345'])).toBe(expected);
    const lazy = json<{ reads: { remoteChunks: number } }>(clone.ok(['storage', 'metrics', '--json']));
    // One root-to-leaf path, not the dataset.
    expect(lazy.reads.remoteChunks).toBeGreaterThan(0);
    expect(lazy.reads.remoteChunks).toBeLessThanOrEqual(6);
    const lazyBytes = storeBytes(clone);
    expect(lazyBytes).toBeLessThan(storeBytes(origin) / 10);

    const fetched = json<{ chunksFetched: number }>(clone.ok(['fetch', '--json']));
    expect(fetched.chunksFetched).toBeGreaterThan(100);
    type AuditRow = { entry: { seq: number; op: string; details: { command: string; chunksFetched: number } } };
    const lastAudit = () => json<AuditRow[]>(clone.ok(['audit', '--json'])).reduce((a, b) => (b.entry.seq > a.entry.seq ? b : a)).entry;
    const afterFetch = lastAudit();
    expect(afterFetch).toMatchObject({ op: 'fetch', details: { command: 'fetch', chunksFetched: fetched.chunksFetched } });
    expect(json<{ chunksFetched: number }>(clone.ok(['fetch', '--json'])).chunksFetched).toBe(0);
    expect(lastAudit().seq).toBe(afterFetch.seq); // nothing came in, nothing recorded
    // Offline now: point the backend at a dead endpoint and read everything.
    const offline = { AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'nobody' };
    const exported = clone.prolly(['export', 'users', '--format', 'csv'], { env: offline });
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(origin.ok(['export', 'users', '--format', 'csv']));

    const metrics = json<{ reads: { remoteChunks: number }; bytesReadPerTier: Record<string, number>; cacheHitRate: number | null }>(clone.ok(['storage', 'metrics', '--json']));
    expect(metrics.reads.remoteChunks).toBe(lazy.reads.remoteChunks + fetched.chunksFetched);
    expect(metrics.bytesReadPerTier.archive).toBeGreaterThan(0);
    expect(clone.ok(['storage', 'metrics'])).toMatch(/fetched from remotes\s+\d/);
  });

  it('incremental push sends only the changed nodes', () => {
    origin.ok(['import', 'users', writeCsv(origin, 'more.csv', 50, 2, 40_000), '--key', 'id']);
    origin.ok(['commit', '-m', 'users v2']);
    const r = json<{ chunksSent: number; bytesSent: number }>(origin.ok(['push', '--json']));
    expect(r.chunksSent).toBeGreaterThan(0);
    expect(r.chunksSent).toBeLessThan(12);
  });

  it('pull = git pull + fetch: the new commit is readable offline afterwards', () => {
    const clone = cloneOf(origin);
    origin.ok(['import', 'users', writeCsv(origin, 'pull.csv', 30, 5, 70_000), '--key', 'id']);
    origin.ok(['commit', '-m', 'users for pull']);
    origin.ok(['push']);
    const r = json<{ chunksFetched: number }>(clone.ok(['pull', '--json']));
    expect(r.chunksFetched).toBeGreaterThan(0);
    // The fetch part changed the local store: the clone's audit log says so.
    const audit = json<{ entry: { seq: number; op: string; details: { command: string; chunksFetched: number } } }[]>(clone.ok(['audit', '--json']));
    const last = audit.reduce((a, b) => (b.entry.seq > a.entry.seq ? b : a)).entry;
    expect(last).toMatchObject({ op: 'fetch', details: { command: 'pull', chunksFetched: r.chunksFetched } });
    const offline = clone.prolly(['get', 'users', '00070001'], { env: { AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'nobody' } });
    expect(offline.code).toBe(0);
    expect(offline.stdout).toBe(origin.ok(['get', 'users', '00070001']));
  });

  it('large values (blobs) go up with their chunks and read back in a clone', () => {
    const file = join(origin.dir, '..', 'big.bin');
    const big = Buffer.alloc(700_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    writeFileSync(file, big);
    origin.ok(['put', 'files', 'big.bin', '--file', file]);
    origin.ok(['put', 'files', 'small', 'tiny value']);
    origin.ok(['commit', '-m', 'a blob']);
    const r = json<{ chunksSent: number }>(origin.ok(['push', '--json']));
    // The new leaf, the blob's root index chunk and its content-defined data chunks (≥ 3 for 700 kB).
    expect(r.chunksSent).toBeGreaterThanOrEqual(5);
    const clone = cloneOf(origin);
    const got = clone.prolly(['get', 'files', 'big.bin']);
    expect(got.code).toBe(0);
    expect(Buffer.from(got.stdout, 'latin1').length).toBeGreaterThan(0);
    const out = join(origin.dir, '..', 'big.out');
    const viaFile = spawnSync('sh', ['-c', `git prolly get files big.bin > ${out}`], { cwd: clone.dir, env: clone.env });
    expect(viaFile.status).toBe(0);
    expect(readFileSync(out).equals(big)).toBe(true);
  });

  it('storage status reports each backend reachable with objects and bytes', () => {
    const s = json<{ backends: { name: string; reachable: boolean; objects: number; bytes: number; chunks: number | null; health: string; latencyMs: number }[] }>(origin.ok(['storage', 'status', '--json']));
    const archive = s.backends.find((b) => b.name === 'archive')!;
    expect(archive.reachable).toBe(true);
    expect(archive.objects).toBeGreaterThanOrEqual(2);
    expect(archive.bytes).toBeGreaterThan(100_000);
    expect(archive.chunks).toBeGreaterThan(100);
    expect(archive.health).toBe('ok');
    expect(s.backends[0]!.name).toBe('local');
  });

  it('the pre-push hook uploads chunks before git push publishes commits, and stops the push when it cannot', async () => {
    const bare = bareRepo(origin);
    origin.gitOk(['remote', 'add', 'origin', bare]);
    origin.ok(['install-hooks']);
    expect(origin.ok(['install-hooks'])).toMatch(/already installed/);
    origin.ok(['import', 'users', writeCsv(origin, 'hook.csv', 40, 3, 50_000), '--key', 'id']);
    origin.ok(['commit', '-m', 'users v3']);
    const before = (await listKeys(s3.client, s3.bucket, 'team/data/manifest/')).length;
    origin.gitOk(['push', '-q', 'origin', 'main']);
    expect((await listKeys(s3.client, s3.bucket, 'team/data/manifest/')).length).toBe(before + 1);
    // A clone of what git published can read it from the object store.
    const clone = cloneOf(origin, bare);
    expect(clone.ok(['get', 'users', '00050001'])).toBe(origin.ok(['get', 'users', '00050001']));

    // Backend unreachable: the hook fails and git does not update the remote branch.
    origin.ok(['import', 'users', writeCsv(origin, 'hook2.csv', 40, 4, 60_000), '--key', 'id']);
    origin.ok(['commit', '-m', 'users v4']);
    const remoteHead = origin.gitOk(['ls-remote', bare, 'refs/heads/main']);
    const cfgPath = join(origin.dir, '.prolly', 'config.toml');
    const cfg = readFileSync(cfgPath, 'utf8');
    writeFileSync(cfgPath, cfg.replace(s3.endpoint, 'http://127.0.0.1:1'));
    try {
      const refused = origin.git(['push', 'origin', 'main']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/git-prolly: push to archive failed: .*127\.0\.0\.1:1/);
      expect(refused.stderr).toMatch(/git push was stopped/);
      expect(origin.gitOk(['ls-remote', bare, 'refs/heads/main'])).toBe(remoteHead);
    } finally {
      writeFileSync(cfgPath, cfg);
    }
    origin.gitOk(['push', '-q', 'origin', 'main']);
    expect(origin.gitOk(['ls-remote', bare, 'refs/heads/main'])).not.toBe(remoteHead);
  });
});

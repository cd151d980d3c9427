/**
 * Faults with real servers: the S3 server stopped in the middle of a push (clear error; the re-run
 * uploads only what is missing), an IPFS node that goes away (clear error, nothing lost locally),
 * and two clones pushing to one remote at the same time (both land, the manifest lists both).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { openRepo } from '../../src/repo/repo.js';
import { commitsBetween, datasetRootsOf } from '../../src/store/remote/commits.js';
import { pushChunks } from '../../src/store/remote/push.js';
import { pushTarget } from '../../src/store/remote/targets.js';
import { openRepoStore, type OpenRepoStoreOptions } from '../../src/store/tiered/repo-store.js';
import { NodeStore } from '../../src/tree/node-store.js';
import { fromHex } from '../../src/util/bytes.js';
import { startCountingProxy } from '../setup/counting-proxy.js';
import { createTestBucket, s3rverClient, startS3rver, useS3rverCredentials, type RunningS3rver } from '../setup/s3rver.js';
import { ipfsNode, ipfsSkipReason } from '../setup/servers.js';
import { cloneOf, json, listKeys, newBucket, tierRepo, writeCsv, type TestRepo } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Push the current branch of `repo` in this process, with the given store options. */
async function pushInProcess(repo: TestRepo, options: OpenRepoStoreOptions, onProgress?: (chunks: number) => void) {
  const r = await openRepo({ dir: repo.dir });
  const git = await r.git();
  const roots = await datasetRootsOf(git, await commitsBetween(git, [(await git.head()).oid!]));
  const rs = await openRepoStore(r.config, r.paths, { readOnly: true, ...options });
  const target = await pushTarget(rs);
  const pack = (await target.tiers[0]!.open()).pack!;
  try {
    const result = await pushChunks({ nodes: new NodeStore(rs.store), chunks: rs.store, target: target.store, has: target.has, roots, onProgress: (p) => onProgress?.(p.chunks) });
    return { result, pack: { ...pack.stats } };
  } catch (err) {
    for (const t of target.tiers) t.abandon();
    throw Object.assign(err as Error, { packStats: { ...pack.stats } });
  } finally {
    await rs.close();
    await r.close();
  }
}

function rootOf(repo: TestRepo, dataset: string): string {
  return /^root ([0-9a-f]{64})$/m.exec(readFileSync(join(repo.dir, '.prolly', 'datasets', dataset), 'utf8'))![1]!;
}

describe('S3 server stopped mid-push', () => {
  it('fails with a clear error; the re-run uploads only what is missing and the data reads back', async () => {
    useS3rverCredentials();
    let server: RunningS3rver = await startS3rver();
    cleanups.push(() => server.stop());
    const port = Number(new URL(server.endpoint).port);
    const { client } = s3rverClient(server.endpoint);
    const bucket = await createTestBucket(client, 'midpush');
    const repo = await tierRepo();
    cleanups.push(() => repo.cleanup());
    repo.ok(['import', 'users', writeCsv(repo, 'users.csv', 40_000, 5), '--key', 'id']);
    repo.ok(['remote', 'add', 's3', `s3://${bucket}/p`, '--endpoint', server.endpoint]);
    repo.ok(['commit', '-m', 'users']);

    const options: OpenRepoStoreOptions = { targetPackBytes: 48 * 1024, retry: { attempts: 2, baseDelayMs: 10, timeoutMs: 5000 } };
    let halted = false;
    const err = await pushInProcess(repo, options, (chunks) => {
      if (!halted && chunks >= 512) {
        halted = true;
        void server.halt();
      }
    }).catch((e: unknown) => e);
    expect(halted).toBe(true);
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('EBACKEND');
    expect((err as ProllyError).message).toContain(`s3://${bucket}/p/`);
    expect((err as ProllyError).message).toMatch(/ECONNREFUSED|socket hang up|ECONNRESET/);
    const firstRun = (err as { packStats: { packsWritten: number } }).packStats;
    expect(firstRun.packsWritten).toBeGreaterThan(0);

    server = await startS3rver({ port, directory: server.directory });
    const afterFailure = await listKeys(client, bucket, 'p/');
    expect(afterFailure.filter((k) => k.startsWith('p/manifest/'))).toEqual([]); // nothing listed yet
    const uploaded = afterFailure.filter((k) => k.startsWith('p/packs/')).length;
    expect(uploaded).toBe(firstRun.packsWritten);

    const second = await pushInProcess(repo, options);
    // Every pack the failed run uploaded was recognised (same content, same name) and not sent again.
    expect(second.pack.packsReused).toBe(uploaded);
    expect(second.pack.packsWritten).toBeGreaterThan(0);
    const keys = await listKeys(client, bucket, 'p/');
    expect(keys.filter((k) => k.startsWith('p/packs/')).length).toBe(uploaded + second.pack.packsWritten);

    const again = await pushInProcess(repo, options);
    expect(again.result.chunks).toBe(0);

    const clone = cloneOf(repo);
    expect(clone.ok(['export', 'users', '--format', 'csv'])).toBe(repo.ok(['export', 'users', '--format', 'csv']));
  });
});

describe.skipIf(ipfsSkipReason())('IPFS node down', () => {
  it('push fails with a clear error naming the node; nothing is lost locally; lazy reads name the chunk', async () => {
    const node = await ipfsNode();
    const proxy = await startCountingProxy(node.apiUrl);
    cleanups.push(() => proxy.stop());
    const repo = await tierRepo();
    cleanups.push(() => repo.cleanup());
    repo.ok(['import', 'users', writeCsv(repo, 'users.csv', 3000, 9), '--key', 'id']);
    repo.ok(['remote', 'add', 'ipfs', proxy.url.replace('http://', 'ipfs://')]);
    repo.ok(['commit', '-m', 'users']);
    expect(json<{ chunksSent: number }>(repo.ok(['push', '--json'])).chunksSent).toBeGreaterThan(10);
    expect(proxy.byPath['/api/v0/dag/import']).toBeGreaterThanOrEqual(1);

    repo.ok(['import', 'users', writeCsv(repo, 'more.csv', 100, 10, 10_000), '--key', 'id']);
    repo.ok(['commit', '-m', 'more users']);
    const before = repo.ok(['export', 'users', '--format', 'csv']);
    const clone = cloneOf(repo);
    await proxy.stop();

    const r = repo.prolly(['push']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^git-prolly: push to ipfs failed: IPFS node at http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stderr).toMatch(/ECONNREFUSED|fetch failed/);
    expect(r.stderr).toMatch(/nothing local was lost/);
    expect(repo.ok(['export', 'users', '--format', 'csv'])).toBe(before);
    expect(repo.ok(['get', 'users', '00010050'])).toContain('name-10050');

    const read = clone.prolly(['get', 'users', '00000001']);
    expect(read.code).toBe(2);
    expect(read.stderr).toMatch(/chunk [0-9a-f]{64} could not be read from any backend — ipfs \(http:\/\/127\.0\.0\.1:\d+\): IPFS node at/);
  });
});

describe('concurrent pushes from two clones', () => {
  it('both land and the manifest lists both', async () => {
    const s3 = await newBucket();
    const origin = await tierRepo();
    cleanups.push(() => origin.cleanup());
    origin.ok(['import', 'users', writeCsv(origin, 'users.csv', 5000, 11), '--key', 'id']);
    origin.ok(['remote', 'add', 'shared', `s3://${s3.bucket}/c`, '--endpoint', s3.endpoint]);
    origin.ok(['commit', '-m', 'users']);
    origin.ok(['push']);
    const a = cloneOf(origin);
    const b = cloneOf(origin);
    a.ok(['import', 'users', writeCsv(a, 'a.csv', 300, 12, 100_000), '--key', 'id']);
    a.ok(['commit', '-m', 'from a']);
    b.ok(['import', 'users', writeCsv(b, 'b.csv', 300, 13, 200_000), '--key', 'id']);
    b.ok(['commit', '-m', 'from b']);
    const run = (r: TestRepo) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn('git', ['prolly', 'push'], { cwd: r.dir, env: r.env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const [ra, rb] = await Promise.all([run(a), run(b)]);
    expect(ra).toEqual({ code: 0, stderr: '' });
    expect(rb).toEqual({ code: 0, stderr: '' });
    expect((await listKeys(s3.client, s3.bucket, 'c/manifest/')).length).toBe(3);

    // A fresh reader of the remote sees both new roots.
    const { PackStore } = await import('../../src/store/pack/pack-store.js');
    const { S3Backend } = await import('../../src/store/backends/s3-backend.js');
    const reader = new PackStore({ backend: new S3Backend({ client: s3.client, bucket: s3.bucket, prefix: 'c' }) });
    expect(await reader.hasMany([fromHex(rootOf(a, 'users')), fromHex(rootOf(b, 'users'))])).toEqual([true, true]);
    await reader.close();
    // And a clone of each reads its commit from the remote alone.
    for (const [from, key] of [[a, '00100001'], [b, '00200001']] as const) {
      const fresh = cloneOf(from);
      expect(fresh.ok(['get', 'users', key])).toBe(from.ok(['get', 'users', key]));
    }
  });
});

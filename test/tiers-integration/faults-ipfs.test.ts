/**
 * An IPFS node that goes away (a proxy in front of the shared node, then stopped): push fails with
 * a clear error naming the node, nothing is lost locally, and a lazy read names the chunk.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startCountingProxy } from '../setup/counting-proxy.js';
import { ipfsNode, ipfsSkipReason } from '../setup/servers.js';
import { cloneOf, json, okAsync, prollyAsync, tierRepo, writeCsv } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
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
    // (async: the proxy runs in this process)
    expect(json<{ chunksSent: number }>(await okAsync(repo, ['push', '--json'])).chunksSent).toBeGreaterThan(10);
    expect(proxy.byPath['/api/v0/dag/import']).toBeGreaterThanOrEqual(1);

    repo.ok(['import', 'users', writeCsv(repo, 'more.csv', 100, 10, 10_000), '--key', 'id']);
    repo.ok(['commit', '-m', 'more users']);
    const before = repo.ok(['export', 'users', '--format', 'csv']);
    const clone = cloneOf(repo);
    await proxy.stop();

    const r = await prollyAsync(repo, ['push']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^git-prolly: push to ipfs failed: IPFS node at http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stderr).toMatch(/ECONNREFUSED|fetch failed/);
    expect(r.stderr).toMatch(/nothing local was lost/);
    expect(repo.ok(['export', 'users', '--format', 'csv'])).toBe(before);
    expect(repo.ok(['get', 'users', '00010050'])).toContain('name-10050');

    const read = await prollyAsync(clone, ['get', 'users', '00000001']);
    expect(read.code).toBe(2);
    expect(read.stderr).toMatch(/chunk [0-9a-f]{64} could not be read from any backend — ipfs \(http:\/\/127\.0\.0\.1:\d+\): IPFS node at/);
  });
});

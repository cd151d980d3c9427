/**
 * IPFS as a remote through the CLI, against the shared IPFS node (js-ipfs daemon, or a Kubo given
 * by PROLLY_TEST_IPFS_API): push, then a fresh clone reads lazily and fetches, data identical.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ipfsNode, ipfsSkipReason } from '../setup/servers.js';
import { cloneOf, json, tierRepo, writeCsv, type TestRepo } from './helpers.js';

describe.skipIf(ipfsSkipReason())('IPFS remote', () => {
  let repo: TestRepo | undefined;
  afterAll(() => repo?.cleanup());

  it('push pins every chunk as a raw block; a clone reads lazily and fetch completes it', async () => {
    const node = await ipfsNode();
    repo = await tierRepo();
    repo.ok(['import', 'events', writeCsv(repo, 'events.csv', 8000, 21), '--key', 'id']);
    repo.ok(['remote', 'add', 'ipfs', node.apiUrl, '--type', 'ipfs']);
    repo.ok(['commit', '-m', 'events']);
    const first = json<{ chunksSent: number }>(repo.ok(['push', '--json']));
    expect(first.chunksSent).toBeGreaterThan(20);
    expect(json<{ chunksSent: number }>(repo.ok(['push', '--json'])).chunksSent).toBe(0);

    const clone = cloneOf(repo);
    expect(clone.ok(['get', 'events', '00004321'])).toBe(repo.ok(['get', 'events', '00004321']));
    const lazy = json<{ reads: { remoteChunks: number } }>(clone.ok(['storage', 'metrics', '--json']));
    expect(lazy.reads.remoteChunks).toBeLessThanOrEqual(5);
    const fetched = json<{ chunksFetched: number }>(clone.ok(['fetch', '--json']));
    expect(fetched.chunksFetched + lazy.reads.remoteChunks).toBe(first.chunksSent);
    expect(clone.ok(['export', 'events', '--format', 'csv'])).toBe(repo.ok(['export', 'events', '--format', 'csv']));

    const status = json<{ backends: { name: string; reachable: boolean; chunks: number }[] }>(repo.ok(['storage', 'status', '--json']));
    const ipfs = status.backends.find((b) => b.name === 'ipfs')!;
    expect(ipfs.reachable).toBe(true);
    expect(ipfs.chunks).toBeGreaterThanOrEqual(first.chunksSent);
  });
});

/**
 * The S3 server stopped in the middle of a push (a dedicated s3rver in this process): a clear error,
 * and the re-run uploads only what is missing (packs are named by content and recognised).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { openRepo } from '../../src/repo/repo.js';
import { commitsBetween, datasetRootsOf } from '../../src/store/remote/commits.js';
import { pushChunks } from '../../src/store/remote/push.js';
import { pushTarget } from '../../src/store/remote/targets.js';
import { openRepoStore, type OpenRepoStoreOptions } from '../../src/store/tiered/repo-store.js';
import { createTestBucket, s3rverClient, startS3rver, useS3rverCredentials, type RunningS3rver } from '../setup/s3rver.js';
import { cloneOf, listKeys, okAsync, tierRepo, writeCsv, type TestRepo } from './helpers.js';

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
    const result = await pushChunks({ chunks: rs.store, target: target.store, stored: target.stored, has: target.has, roots, onProgress: (p) => onProgress?.(p.chunks) });
    return { result, pack: { ...pack.stats } };
  } catch (err) {
    for (const t of target.tiers) t.abandon();
    throw Object.assign(err as Error, { packStats: { ...pack.stats } });
  } finally {
    await rs.close();
    await r.close();
  }
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
    // A PUT in flight when the server went down may have landed although the client saw an error.
    expect(uploaded).toBeGreaterThanOrEqual(firstRun.packsWritten);

    const second = await pushInProcess(repo, options);
    // Every pack the failed run uploaded was recognised (same content, same name) and not sent again;
    // each pack of the dataset was sent exactly once over both runs.
    expect(second.pack.packsReused).toBeGreaterThanOrEqual(uploaded);
    expect(second.pack.packsWritten).toBeGreaterThan(0);
    const keys = await listKeys(client, bucket, 'p/');
    expect(keys.filter((k) => k.startsWith('p/packs/')).length).toBe(second.pack.packsReused + second.pack.packsWritten);

    const again = await pushInProcess(repo, options);
    expect(again.result.chunks).toBe(0);

    // (async: the server runs in this process)
    const clone = cloneOf(repo);
    expect(await okAsync(clone, ['export', 'users', '--format', 'csv'])).toBe(repo.ok(['export', 'users', '--format', 'csv']));
  });
});

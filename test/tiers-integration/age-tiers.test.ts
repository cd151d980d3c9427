/**
 * Age-based routing: a hot backend (max_age_days = 30) and a cold one. `git prolly tier` copies the
 * dataset versions only old commits use to the cold backend and evicts what only they need from the
 * hot one; a fresh clone still reads every version (hot → cold).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectoryBackend } from '../../src/store/backends/directory-backend.js';
import { PackStore } from '../../src/store/pack/pack-store.js';
import { fromHex } from '../../src/util/bytes.js';
import { cloneOf, json, tierRepo, writeCsv, type TestRepo } from './helpers.js';

function rootOf(repo: TestRepo): Uint8Array {
  return fromHex(/^root ([0-9a-f]{64})$/m.exec(readFileSync(join(repo.dir, '.prolly', 'datasets', 'users'), 'utf8'))![1]!);
}

async function has(dir: string, addresses: Uint8Array[]): Promise<boolean[]> {
  const store = new PackStore({ backend: new DirectoryBackend({ root: dir }) });
  try {
    return await store.hasMany(addresses);
  } finally {
    await store.close();
  }
}

describe('age-based tiers', () => {
  let repo: TestRepo | undefined;
  afterAll(() => repo?.cleanup());

  it('git prolly tier moves versions older than max_age_days to the colder backend; reads still find them', async () => {
    repo = await tierRepo();
    const hot = join(repo.dir, '..', 'hot');
    const cold = join(repo.dir, '..', 'cold');
    repo.ok(['remote', 'add', 'hot', hot, '--max-age-days', '30']);
    repo.ok(['remote', 'add', 'cold', cold]);
    const cfg = join(repo.dir, '.prolly', 'config.toml');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('strategy = "single"', 'strategy = "age-based"'));

    // v1: committed 100 days ago (plain git, so the dates can be set).
    repo.ok(['import', 'users', writeCsv(repo, 'v1.csv', 6000, 31), '--key', 'id']);
    const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
    Object.assign(repo.env, { GIT_AUTHOR_DATE: old, GIT_COMMITTER_DATE: old });
    repo.gitOk(['add', '.prolly']);
    repo.gitOk(['commit', '-q', '-m', 'v1']);
    delete repo.env.GIT_AUTHOR_DATE;
    delete repo.env.GIT_COMMITTER_DATE;
    const v1 = rootOf(repo);
    const oldValue = repo.ok(['get', 'users', '00000100']);
    // v2: today; rewrites some rows, so some v1 nodes are used by v1 only.
    repo.ok(['import', 'users', writeCsv(repo, 'v2.csv', 200, 32, 0), '--key', 'id']);
    repo.ok(['commit', '-m', 'v2']);
    const v2 = rootOf(repo);
    expect(repo.ok(['get', 'users', '00000100'])).not.toBe(oldValue);

    repo.ok(['push']);
    expect(await has(hot, [v1, v2])).toEqual([true, true]);
    expect(await has(cold, [v1, v2])).toEqual([false, false]);

    const dry = json<{ dryRun: boolean; moves: { oldVersions: number; copiedChunks: number; evicted: { chunksEvicted: number } }[] }>(repo.ok(['tier', '--dry-run', '--json']));
    expect(dry.moves[0]!.oldVersions).toBe(1);
    expect(dry.moves[0]!.evicted.chunksEvicted).toBeGreaterThan(0);
    expect(await has(cold, [v1])).toEqual([false]);

    const moved = json<{ moves: { from: string; to: string; copiedChunks: number; evicted: { chunksEvicted: number; packsDeleted: number; packsRewritten: number } }[] }>(repo.ok(['tier', '--json']));
    const m = moved.moves[0]!;
    expect(m.from).toBe('hot');
    expect(m.to).toBe('cold');
    expect(m.copiedChunks).toBeGreaterThan(10);
    expect(m.evicted.chunksEvicted).toBe(dry.moves[0]!.evicted.chunksEvicted);
    expect(await has(hot, [v1, v2])).toEqual([false, true]);
    expect(await has(cold, [v1, v2])).toEqual([true, false]);

    // Running it again moves nothing more.
    const again = json<{ moves: { copiedChunks: number; evicted: { chunksEvicted: number } }[] }>(repo.ok(['tier', '--json']));
    expect(again.moves[0]!.copiedChunks).toBe(0);
    expect(again.moves[0]!.evicted.chunksEvicted).toBe(0);

    // A fresh clone reads both versions: v2 from hot, v1 from cold.
    const clone = cloneOf(repo);
    expect(clone.ok(['get', 'users', '00000100', '--at', 'HEAD~1'])).toBe(oldValue);
    expect(clone.ok(['get', 'users', '00000100'])).toBe(repo.ok(['get', 'users', '00000100']));
    const metrics = json<{ bytesReadPerTier: Record<string, number> }>(clone.ok(['storage', 'metrics', '--json']));
    expect(metrics.bytesReadPerTier.cold).toBeGreaterThan(0);
    expect(metrics.bytesReadPerTier.hot).toBeGreaterThan(0);
  });
});

/**
 * Two clones pushing to one remote prefix at the same time: both land, the manifest lists both.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../src/util/bytes.js';
import { cloneOf, listKeys, newBucket, tierRepo, writeCsv, type TestRepo } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function rootOf(repo: TestRepo, dataset: string): string {
  return /^root ([0-9a-f]{64})$/m.exec(readFileSync(join(repo.dir, '.prolly', 'datasets', dataset), 'utf8'))![1]!;
}

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

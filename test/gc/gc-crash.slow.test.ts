/**
 * gc killed for real: a gc process SIGKILLed between writing its new packs and deleting the old ones
 * (and after deleting the first) leaves every revision readable and verifiable, its locks are taken
 * over, and the next gc completes, removing the duplicates the crash left.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleUsersCsv } from '../../src/dataset/sample.js';
import { openRepo } from '../../src/repo/repo.js';
import { LocalStore } from '../../src/store/local-store.js';
import { utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { ROOT, ensureBuilt, makeRepo, type TestRepo } from '../cli/helpers.js';
import { digest, gc, storeAddresses, verifyDeep } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

/** Run gc (the compiled library) in a child process that SIGKILLs itself when it reaches `step`. */
function gcKilledAt(r: TestRepo, step: 'packs-written' | 'pack-deleted'): { signal: string | null; stdout: string; stderr: string } {
  const script = join(r.home, 'gc-crash.mjs');
  writeFileSync(
    script,
    `const [root, dir, step] = process.argv.slice(2);
const { openRepo } = await import(new URL('dist/src/repo/repo.js', root).href);
const { collectGarbage } = await import(new URL('dist/src/gc/gc.js', root).href);
const repo = await openRepo({ dir });
await collectGarbage({ repo, keepRecentMs: 0, onStep: (s) => { if (s === step) process.kill(process.pid, 'SIGKILL'); } });
console.log('gc finished without reaching ' + step);
`,
  );
  const run = spawnSync(process.execPath, [script, `${pathToFileURL(ROOT).href}/`, r.dir, step], { env: r.env, encoding: 'utf8' });
  return { signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

/**
 * Unreachable chunks in several small packs (the repository's own packs are 64 MiB), so a sweep
 * rewrites several packs and "killed after the first deletion" is a real midpoint.
 */
async function smallGarbagePacks(r: TestRepo, seed: number): Promise<void> {
  const store = await LocalStore.open({ dir: join(r.dir, '.git', 'prolly', 'store'), packSizeLimit: 16 * 1024 });
  try {
    for (let i = 0; i < 60; i++) {
      const bytes = utf8(`garbage ${seed} ${i} `.repeat(60));
      await store.put({ address: sha256(bytes), bytes });
    }
  } finally {
    await store.close();
  }
}

describe('gc killed mid-sweep', () => {
  let r: TestRepo;
  const revs = ['HEAD', 'HEAD~1', 'HEAD~2'];
  const before = new Map<string, string>();

  beforeAll(async () => {
    r = makeRepo({ init: true });
    for (let v = 1; v <= 3; v++) {
      const csv = join(r.home, `v${v}.csv`);
      writeFileSync(csv, sampleUsersCsv({ rows: 1500, seed: v }));
      r.ok(['import', 'users', csv, '--replace']);
      r.ok(['commit', '-m', `v${v}`]);
      const junk = join(r.home, `junk${v}.csv`);
      writeFileSync(junk, sampleUsersCsv({ rows: 1500, seed: 100 + v }));
      r.ok(['import', 'users', junk, '--replace']);
      r.ok(['restore', 'users']);
    }
    await smallGarbagePacks(r, 1);
    for (const rev of revs) before.set(rev, await digest(r.dir, rev));
  }, 120_000);
  afterAll(() => r?.cleanup());

  for (const step of ['packs-written', 'pack-deleted'] as const) {
    it(`SIGKILL at "${step}": everything stays readable, and the next gc completes`, async () => {
      const dry = gc(r, ['--dry-run', '--keep-recent', '0']);
      expect(dry.store.reclaimedChunks).toBeGreaterThan(0);
      expect(dry.store.packsBefore - dry.store.packsAfter).toBeGreaterThanOrEqual(2);
      const killed = gcKilledAt(r, step);
      expect(killed.stdout).toBe('');
      expect(killed.signal).toBe('SIGKILL');

      for (const rev of revs) {
        expect(await digest(r.dir, rev), rev).toBe(before.get(rev));
        expect(await verifyDeep(r.dir, rev), rev).toEqual([]);
      }
      // The dead process's locks are taken over; the rerun removes the garbage and the copies the crash left.
      const rerun = gc(r, ['--keep-recent', '0']);
      expect(rerun.store.reclaimedChunks).toBeGreaterThan(0);
      if (step === 'packs-written') expect(rerun.store.duplicateChunks).toBeGreaterThan(0);
      const again = gc(r, ['--keep-recent', '0']);
      expect(again.store).toMatchObject({ garbageChunks: 0, duplicateChunks: 0, reclaimedChunks: 0, packsRewritten: 0 });
      const { total, distinct } = await storeAddresses(r);
      expect(total).toBe(distinct);
      for (const rev of revs) expect(await digest(r.dir, rev), rev).toBe(before.get(rev));

      // Fresh garbage for the next round.
      const junk = join(r.home, `junk-${step}.csv`);
      writeFileSync(junk, sampleUsersCsv({ rows: 1500, seed: step.length }));
      r.ok(['import', 'users', junk, '--replace']);
      r.ok(['restore', 'users']);
      await smallGarbagePacks(r, step.length);
    });
  }
});

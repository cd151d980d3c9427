/** Helpers for the gc tests: the local store's files, pointer roots, and chunk presence. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GcReport } from '../../src/gc/gc.js';
import { openRepo } from '../../src/repo/repo.js';
import { LocalStore } from '../../src/store/local-store.js';
import { fromHex } from '../../src/util/bytes.js';
import { verifyHistory } from '../../src/verify/index.js';
import type { TestRepo } from '../cli/helpers.js';

export function storeDir(r: TestRepo): string {
  return join(r.dir, '.git', 'prolly', 'store');
}

/** Name → size and mtime of every file in the store (a dry run must leave this unchanged). */
export function storeListing(r: TestRepo): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(storeDir(r)).sort()) {
    const st = statSync(join(storeDir(r), n));
    out[n] = `${st.size}@${st.mtimeMs}`;
  }
  return out;
}

/** Bytes of the store's pack and index files. */
export function storeBytes(r: TestRepo): number {
  return readdirSync(storeDir(r))
    .filter((n) => /\.(pack|idx|ckpt)$/.test(n))
    .reduce((sum, n) => sum + statSync(join(storeDir(r), n)).size, 0);
}

/** The root a work-tree pointer file names. */
export function workRoot(r: TestRepo, dataset: string): string {
  const m = /^root ([0-9a-f]{64})$/m.exec(readFileSync(join(r.dir, '.prolly', 'datasets', dataset), 'utf8'));
  if (!m) throw new Error(`no root in the pointer of ${dataset}`);
  return m[1]!;
}

/** Which of `hexes` the local store holds (opened read-only, as another process would). */
export async function inStore(r: TestRepo, hexes: readonly string[]): Promise<boolean[]> {
  const s = await LocalStore.open({ dir: storeDir(r), readOnly: true });
  try {
    return await s.hasMany(hexes.map(fromHex));
  } finally {
    await s.close();
  }
}

/** Every address listed by the store, with how often (a clean store lists each once). */
export async function storeAddresses(r: TestRepo): Promise<{ total: number; distinct: number }> {
  const s = await LocalStore.open({ dir: storeDir(r), readOnly: true });
  try {
    let total = 0;
    const seen = new Set<string>();
    for await (const a of s.list()) {
      total++;
      seen.add(Buffer.from(a).toString('hex'));
    }
    return { total, distinct: seen.size };
  } finally {
    await s.close();
  }
}

/** What `git prolly gc --json` prints: the library's report, serialised. */
export type GcJson = GcReport;

/** `git prolly gc --json …`, parsed (throws unless exit 0). */
export function gc(r: TestRepo, args: string[] = []): GcJson {
  return JSON.parse(r.ok(['gc', '--json', ...args])) as GcJson;
}

/**
 * SHA-256 over every key and value (blobs read in full) of the datasets at `rev` (the work tree when
 * undefined), read in this process through the library, as a fresh command would.
 */
export async function digest(dir: string, rev: string | undefined, datasets: readonly string[] = ['users']): Promise<string> {
  const repo = await openRepo({ dir });
  try {
    const h = createHash('sha256');
    for (const name of datasets) {
      h.update(`${name}\0`);
      for await (const e of repo.dataset(name).scan(rev === undefined ? {} : { at: rev })) h.update(e.key).update('\0').update(e.value).update('\0');
    }
    return h.digest('hex');
  } finally {
    await repo.close();
  }
}

/** The problems `git prolly verify --deep --no-audit --to rev` finds, run in process. */
export async function verifyDeep(dir: string, rev: string): Promise<string[]> {
  const repo = await openRepo({ dir });
  try {
    return (await verifyHistory(repo, { to: rev, deep: true, audit: false })).problems.map((p) => p.message);
  } finally {
    await repo.close();
  }
}

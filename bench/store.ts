/**
 * Local chunk store benchmark: the write path a 1M-entry tree takes (~30k chunks of ~4 KiB), then
 * opening and point reads in a fresh process (no in-memory index state; the OS page cache is warm,
 * as it is for the next `git prolly` command after a write).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStore, openLocalStack } from '../src/store/local-store.js';
import type { Chunk } from '../src/store/chunk-store.js';
import { toHex } from '../src/util/bytes.js';
import { sha256 } from '../src/util/hash.js';

/** Options for {@link benchStore}. */
export interface BenchStoreOptions {
  /** Directory to work in (default: a fresh temp dir, removed afterwards). */
  dir?: string;
  /** Chunks to write (default 30 000). */
  chunks?: number;
  /** Bytes per chunk (default 4096). */
  chunkBytes?: number;
  /** Point reads to time in the fresh process (default 2000). */
  randomReads?: number;
  /** Also time the full stack (verify + zstd level 3) write path (default true). */
  stack?: boolean;
}

/**
 * Run the store benchmark; returns figures in ms / µs / MB/s.
 * @example const figures = await benchStore({ chunks: 30_000 }); // { putMs, flushMs, coldOpenMs, … }
 */
export async function benchStore(options: BenchStoreOptions = {}): Promise<Record<string, number>> {
  const count = options.chunks ?? 30_000;
  const size = options.chunkBytes ?? 4096;
  const reads = Math.min(options.randomReads ?? 2000, count);
  const root = options.dir ?? mkdtempSync(join(tmpdir(), 'prolly-bench-store-'));
  const figures: Record<string, number> = { chunks: count, chunkBytes: size };
  try {
    const chunks = makeChunks(count, size);
    const dir = join(root, 'local');

    let t = performance.now();
    const store = await LocalStore.open({ dir });
    figures.openEmptyMs = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < count; i += 1000) await store.putMany(chunks.slice(i, i + 1000));
    figures.putMs = performance.now() - t;
    t = performance.now();
    await store.flush();
    figures.flushMs = performance.now() - t;
    figures.putPlusFlushMs = figures.putMs + figures.flushMs;
    figures.writeMBps = (count * size) / 1e6 / (figures.putPlusFlushMs / 1000);
    figures.packs = store.stats().packs;
    t = performance.now();
    await store.close();
    figures.closeMs = performance.now() - t;

    t = performance.now();
    const warm = await LocalStore.open({ dir, readOnly: true });
    figures.openInProcessMs = performance.now() - t;
    t = performance.now();
    const all = await warm.getMany(chunks.map((c) => c.address));
    figures.getAllMs = performance.now() - t;
    if (all.some((b) => b === undefined)) throw new Error('benchmark store lost chunks');
    await warm.close();

    Object.assign(figures, freshProcessReads(dir, chunks, reads));

    if (options.stack ?? true) {
      const stackDir = join(root, 'stack');
      const stack = await openLocalStack({ dir: stackDir, cacheBytes: 64 << 20 });
      t = performance.now();
      for (let i = 0; i < count; i += 1000) await stack.store.putMany(chunks.slice(i, i + 1000));
      await stack.store.flush();
      figures.stackPutPlusFlushMs = performance.now() - t;
      figures.stackStoredBytesRatio = stack.compressing!.stats.storedBytes / stack.compressing!.stats.rawBytes;
      await stack.store.close();
      const cold = await openLocalStack({ dir: stackDir, readOnly: true, cacheBytes: 0 });
      t = performance.now();
      await cold.store.getMany(chunks.slice(0, reads).map((c) => c.address));
      figures.stackGetUsPerChunk = ((performance.now() - t) * 1000) / reads;
      await cold.store.close();
    }
    for (const k of Object.keys(figures)) figures[k] = Math.round(figures[k]! * 1000) / 1000;
    return figures;
  } finally {
    if (!options.dir) rmSync(root, { recursive: true, force: true });
  }
}

/** Tree-node-like chunks: sorted-looking keys and small values, so zstd has realistic work. */
function makeChunks(count: number, size: number): Chunk[] {
  const out: Chunk[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = new Uint8Array(size);
    let o = 0;
    for (let j = 0; o < size; j++) {
      const entry = `key:${String(i * 100 + j).padStart(12, '0')}\u0000${((i * 2654435761 + j * 40503) >>> 0).toString(36)};`;
      o += new TextEncoder().encodeInto(entry, bytes.subarray(o)).written;
    }
    out.push({ address: sha256(bytes), bytes });
  }
  return out;
}

/**
 * Open the store and time point reads in a new node process, so no index is in memory. Needs the
 * compiled store (dist/); from TypeScript sources it reports nothing.
 */
function freshProcessReads(dir: string, chunks: Chunk[], reads: number): Record<string, number> {
  const moduleFile = fileURLToPath(new URL('../src/store/local-store.js', import.meta.url));
  if (!existsSync(moduleFile)) return {};
  const picks: string[] = [];
  for (let i = 0; i < reads; i++) picks.push(toHex(chunks[Math.floor(Math.random() * chunks.length)]!.address));
  const listFile = join(dir, '..', 'bench-addresses.txt');
  writeFileSync(listFile, picks.join('\n'));
  const script = `
    import { readFileSync } from 'node:fs';
    const t0 = performance.now();
    const { LocalStore } = await import(${JSON.stringify(new URL('../src/store/local-store.js', import.meta.url).href)});
    const t1 = performance.now();
    const store = await LocalStore.open({ dir: ${JSON.stringify(dir)}, readOnly: true });
    const t2 = performance.now();
    const addrs = readFileSync(${JSON.stringify(listFile)}, 'utf8').split('\\n').map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
    const times = [];
    for (const a of addrs) {
      const s = performance.now();
      const b = store.getSync(a);
      times.push((performance.now() - s) * 1000);
      if (!b) throw new Error('missing chunk');
    }
    const first = times[0];
    times.sort((x, y) => x - y);
    console.log(JSON.stringify({
      importMs: t1 - t0, coldOpenMs: t2 - t1, coldFirstGetUs: first,
      coldGetMedianUs: times[Math.floor(times.length / 2)], coldGetP99Us: times[Math.floor(times.length * 0.99)],
    }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fresh-process read benchmark failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

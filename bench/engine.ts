/**
 * Engine benchmark: `npm run bench:engine` → bench/results/engine.json.
 * Figures are medians of several runs in one process, on the standard local stack
 * (cache → verify → zstd → LocalStore). Cold gets run in a fresh child process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLocalStack } from '../src/store/local-store.js';
import { NodeStore } from '../src/tree/node-store.js';
import { ProllyTree, type Edit, type Entry } from '../src/tree/prolly-tree.js';
import { benchCdc } from './cdc.js';
import { median, now, writeResults } from './common.js';
import { xorshift32 as rng } from '../src/util/prng.js';

const N = 1_000_000;


/**
 * The benchmark data set, generated before any timing: key i is 4 bytes that grow with i and 12
 * random bytes (so keys are sorted and random-looking); values are 100 random bytes. Held in two flat
 * buffers so the input itself does not load the garbage collector during the timed build.
 */
class DataSet {
  readonly keys = new Uint8Array(N * 16);
  readonly values = new Uint8Array(N * 100);
  constructor(seed: number) {
    const r = rng(seed);
    const kv = new DataView(this.keys.buffer);
    const vv = new DataView(this.values.buffer);
    for (let i = 0; i < N; i++) {
      kv.setUint32(i * 16, Math.floor((i * 2 ** 32) / N));
      for (let j = 4; j < 16; j += 4) kv.setUint32(i * 16 + j, r());
      for (let j = 0; j < 100; j += 4) vv.setUint32(i * 100 + j, r());
    }
  }
  key(i: number): Uint8Array {
    return this.keys.subarray(i * 16, i * 16 + 16);
  }
  *entries(): Generator<Entry> {
    for (let i = 0; i < N; i++) yield [this.key(i), this.values.subarray(i * 100, i * 100 + 100)];
  }
}


/** The local tier as a repository opens it: verified, cached, uncompressed (docs/PERFORMANCE.md says why). */
async function openTree(dir: string, cacheBytes = 512 << 20) {
  const stack = await openLocalStack({ dir, cacheBytes: 32 << 20, compression: false });
  return { stack, nodes: new NodeStore(stack.store, { cacheBytes }) };
}

async function build(dir: string, data: DataSet): Promise<{ seconds: number; root: Uint8Array; height: number }> {
  const { stack, nodes } = await openTree(dir);
  const t0 = now();
  const tree = await ProllyTree.fromSorted(nodes, data.entries());
  await nodes.flush();
  const seconds = (now() - t0) / 1000;
  await stack.store.close();
  return { seconds, root: tree.root, height: tree.height };
}

/**
 * Half updates of existing keys, half inserts of new random keys, each with a new 100-byte value. Like
 * DataSet, new keys and values are views into two flat buffers, so generating the input does not leave
 * 100k small ArrayBuffers (and the GC work they cause) to the timed mutation.
 */
function randomEdits(data: DataSet, n: number, seed: number): Edit[] {
  const r = rng(seed);
  const keys = new Uint8Array(n * 16);
  const values = new Uint8Array(n * 100);
  const kv = new DataView(keys.buffer);
  const vv = new DataView(values.buffer);
  const edits: Edit[] = [];
  for (let i = 0; i < n; i++) {
    let key: Uint8Array;
    if (i % 2 === 0) key = data.key(r() % N);
    else {
      for (let j = 0; j < 16; j += 4) kv.setUint32(i * 16 + j, r());
      key = keys.subarray(i * 16, i * 16 + 16);
    }
    for (let j = 0; j < 100; j += 4) vv.setUint32(i * 100 + j, r());
    edits.push({ key, value: values.subarray(i * 100, i * 100 + 100) });
  }
  return edits;
}

async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const root = mkdtempSync(join(tmpdir(), 'prolly-bench-'));
  const results: Record<string, number> = {};
  try {
    // Build (first, so peak RSS reflects the build and not the later phases).
    const data = new DataSet(1);
    const rssBefore = process.memoryUsage().rss;
    const builds: number[] = [];
    let built: { root: Uint8Array; height: number } | undefined;
    for (let i = 0; i < runs; i++) {
      const dir = join(root, `build-${i}`);
      const b = await build(dir, data);
      builds.push(b.seconds);
      built = b;
      if (i > 0) rmSync(dir, { recursive: true, force: true });
      (globalThis as { gc?: () => void }).gc?.();
    }
    results.build_1m_s = median(builds);
    // Peak RSS of the process minus what the pre-generated input occupied before the build.
    results.build_peak_rss_mb = Math.round((process.resourceUsage().maxRSS * 1024 - rssBefore) / 2 ** 20);
    results.input_rss_mb = Math.round(rssBefore / 2 ** 20);
    results.depth = built!.height;
    const storeDir = join(root, 'build-0');

    const { stack, nodes } = await openTree(storeDir);
    const base = await ProllyTree.open(nodes, built!.root);

    // Warm point gets: everything cached after a full scan.
    for await (const _ of base.range()) void _;
    const readsBefore = nodes.stats.nodeReads;
    const r = rng(7);
    const batches: number[] = [];
    for (let b = 0; b < 9; b++) {
      const probe = Array.from({ length: 20_000 }, () => data.key(r() % N));
      const t0 = now();
      for (const k of probe) await base.get(k);
      batches.push(((now() - t0) * 1000) / probe.length);
    }
    results.get_warm_us = median(batches);
    results.get_warm_node_reads = nodes.stats.nodeReads - readsBefore;

    // 100k random puts in one batch.
    const updates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const edits = randomEdits(data, 100_000, 100 + i);
      const t0 = now();
      await base.mutate(edits);
      await nodes.flush();
      updates.push((now() - t0) / 1000);
    }
    results.update_100k_s = median(updates);

    // Diff of two 1M trees differing in 100 keys, node reads counted on a cold node cache.
    const changed = await base.mutate(randomEdits(data, 100, 999));
    await nodes.flush();
    const diffs: number[] = [];
    let reads = 0;
    for (let i = 0; i < runs; i++) {
      const cold = new NodeStore(stack.store, { cacheBytes: 64 << 20 });
      const a = await ProllyTree.open(cold, base.root);
      const b2 = await ProllyTree.open(cold, changed.root);
      const before = cold.stats.nodeReads;
      const t0 = now();
      let n = 0;
      for await (const _ of a.diff(b2)) n++;
      diffs.push(now() - t0);
      reads = cold.stats.nodeReads - before;
      if (n !== 100) throw new Error(`diff found ${n} changes, expected 100`);
    }
    results.diff_100_ms = median(diffs);
    results.diff_100_node_reads = reads;

    // Three-way merge, 1,000 changes per side.
    const merges: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ours = await base.mutate(randomEdits(data, 1000, 2000 + i));
      const theirs = await base.mutate(randomEdits(data, 1000, 3000 + i));
      const t0 = now();
      await ours.merge({ base, theirs });
      merges.push(now() - t0);
    }
    results.merge_1k_ms = median(merges);
    await nodes.flush();
    await stack.store.close();

    // Cold gets: a fresh process opens the store and reads random keys.
    const child = spawnSync(process.execPath, [fileURLToPath(new URL('./engine-cold-get.js', import.meta.url)), storeDir, Buffer.from(built!.root).toString('hex')], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`cold-get child failed: ${child.stderr}`);
    Object.assign(results, JSON.parse(child.stdout));

    const cdc = await benchCdc({ mib: 256, runs });
    results.cdc_mb_s = cdc.cdc_mb_s;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  writeResults('engine', results);
}

await main();

/**
 * Storage-tier benchmark: `npm run bench:tiers` → bench/results/tiers.json
 * (script: `tsc -p tsconfig.json && node dist/bench/tiers.js`).
 *
 * Builds a 1M-entry dataset (16-byte keys, 100-byte values) in a local store, then against s3rver on
 * loopback (HTTP requests counted on the wire by SDK middleware):
 * - push_1m_*: a full push through the tier stack (zstd → packs → S3), PUTs and bytes sent;
 * - push_1m_vs_raw_sdk: that push's time ÷ a raw SDK upload of the same bytes as the same number of
 *   objects, same concurrency, same run (push_1m_cpu_ms: the push's CPU time, all threads);
 * - push_1m_local_raw_*: the same dataset pushed from an uncompressed local store, which is what
 *   `git prolly push` does with the default [compression] local = false: the tier compresses the
 *   chunks in pack blocks on the way (the push above copies per-chunk zstd stored forms as they are);
 * - push_incremental_100_rows_*: the push after 100 rows change;
 * - cold_get_requests: GETs (LIST included) to read one key in a fresh clone whose manifest segments
 *   are cached (a previous read fetched them), vs the tree depth;
 * - ipfs_push_rpc_calls: RPCs to push N chunks to an IPFS node (the js-ipfs test daemon, or
 *   PROLLY_BENCH_IPFS_API), vs N / 500 + 5.
 * Not a test: figures only, never fails on time.
 */
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BackendConfig } from '../src/config/config.js';
import { mapLimit } from '../src/store/backends/concurrency.js';
import { createS3Client } from '../src/store/backends/s3-backend.js';
import { openLocalStack } from '../src/store/local-store.js';
import { listedHas, pushChunks, type StoredCopy } from '../src/store/remote/push.js';
import { Tier, type TierContext } from '../src/store/tiered/tier.js';
import { NodeStore } from '../src/tree/node-store.js';
import { ProllyTree, type Edit, type Entry } from '../src/tree/prolly-tree.js';
import { sha256 } from '../src/util/hash.js';
import { writeResults } from './common.js';
import { xorshift32 as rng } from '../src/util/prng.js';

export interface BenchTiersOptions {
  /** Entries of the big dataset (default 1,000,000). */
  entries?: number;
  /** Entries of the dataset pushed to IPFS (default 200,000; 0 skips IPFS). */
  ipfsEntries?: number;
  /** Uploads in flight, for our push and the raw upload alike (default 4). */
  jobs?: number;
  /** Use this S3 endpoint instead of starting s3rver. */
  endpoint?: string;
  /** Use this IPFS RPC API instead of starting the js-ipfs test daemon. */
  ipfsApi?: string;
  /** Also push the dataset from an uncompressed local store (default true). */
  localRaw?: boolean;
}

interface WireCount {
  requests: number;
  byMethod: Record<string, number>;
  bytesUp: number;
  /** Body sizes of PUT requests, in order. */
  putSizes: number[];
}


function keyAt(i: number, n: number): Uint8Array {
  const k = new Uint8Array(16);
  const v = new DataView(k.buffer);
  v.setUint32(0, Math.floor((i * 2 ** 32) / n));
  v.setUint32(4, i);
  v.setUint32(8, Math.imul(i, 2654435761) >>> 0);
  v.setUint32(12, 0x9e3779b9 ^ i);
  return k;
}

function valueOf(r: () => number): Uint8Array {
  const out = new Uint8Array(100);
  const v = new DataView(out.buffer);
  // Half random, half a repeated pattern: compressible like real rows, not trivially so.
  for (let i = 0; i < 48; i += 4) v.setUint32(i, r());
  for (let i = 48; i < 100; i++) out[i] = 97 + (i % 7);
  return out;
}

function* entries(n: number, seed: number): Generator<Entry> {
  const r = rng(seed);
  for (let i = 0; i < n; i++) yield [keyAt(i, n), valueOf(r)];
}

/**
 * @example const figures = await benchTiers({ entries: 20_000, ipfsEntries: 0 });
 */
export async function benchTiers(opts: BenchTiersOptions = {}): Promise<Record<string, number>> {
  const n = opts.entries ?? 1_000_000;
  const jobs = opts.jobs ?? 4;
  const tmp = mkdtempSync(join(tmpdir(), 'prolly-bench-tiers-'));
  const server = opts.endpoint ? undefined : await startS3rver(join(tmp, 's3'));
  const out: Record<string, number> = { entries: n, jobs };
  try {
    // The dataset, in a local store.
    const stack = await openLocalStack({ dir: join(tmp, 'local'), cacheBytes: 64 << 20 });
    const nodes = new NodeStore(stack.store);
    let t0 = performance.now();
    let tree = await ProllyTree.fromSorted(nodes, entries(n, 1));
    await nodes.flush();
    out.build_s = (performance.now() - t0) / 1000;
    out.depth = tree.height;

    const endpoint = opts.endpoint ?? server!.endpoint;
    const { client, counter } = countingClient(endpoint);
    const bucket = `bench-${randomBytes(5).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const s3: BackendConfig = { name: 's3', type: 's3', bucket, prefix: 'bench', endpoint };
    const ctx = (cache: string): TierContext => ({
      workTree: tmp,
      compression: { type: 'zstd', level: 3, local: false },
      uploadConcurrency: jobs,
      cacheDir: join(tmp, cache),
      clients: { s3: () => client },
    });

    // Full push.
    const tier = new Tier(s3, ctx('cache-origin'));
    reset(counter);
    t0 = performance.now();
    // As `git prolly push` does it: stored-form bytes copied from the local store into packs.
    const stored: StoredCopy = {
      read: (a) => stack.local.getMany(a),
      decode: (a, b) => stack.compressing.decode(a, b),
      target: (await tier.open()).storedForm!,
    };
    const cpu0 = process.cpuUsage();
    const full = await pushChunks({ chunks: stack.store, target: tier.store, stored, roots: [{ root: tree.root }] });
    const pushMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    out.push_1m_cpu_ms = (cpu.user + cpu.system) / 1000;
    out.push_1m_chunks = full.chunks;
    out.push_1m_chunk_bytes = full.bytes;
    out.push_1m_puts = (counter.byMethod.PUT ?? 0) + (counter.byMethod.POST ?? 0);
    out.push_1m_bytes = counter.bytesUp;
    out.push_1m_puts_limit = counter.bytesUp / 8e6 + 10;
    out.push_1m_requests = counter.requests;
    out.push_1m_ms = pushMs;

    // Raw SDK: the same bytes as the same number of objects, same concurrency.
    const rawMs = await rawUpload(client, bucket, 'raw', counter.putSizes, jobs);
    out.raw_sdk_ms = rawMs;
    out.push_1m_vs_raw_sdk = pushMs / rawMs;

    // 100 rows change, push again.
    const r = rng(99);
    const edits: Edit[] = Array.from({ length: 100 }, () => ({ key: keyAt(r() % n, n), value: valueOf(r) }));
    tree = await tree.mutate(edits);
    await nodes.flush();
    reset(counter);
    const inc = await pushChunks({ chunks: stack.store, target: tier.store, stored, roots: [{ root: tree.root }] });
    out.push_incremental_100_rows_chunks = inc.chunks;
    out.push_incremental_100_rows_bytes = counter.bytesUp;
    out.push_incremental_100_rows_puts = (counter.byMethod.PUT ?? 0) + (counter.byMethod.POST ?? 0);
    await tier.close();

    if (opts.localRaw ?? true) Object.assign(out, await pushFromRawLocal(tmp, n, s3, ctx('cache-raw'), client, counter, bucket, jobs));

    // Cold get in a fresh clone: a first read caches the manifest segments, then a new process
    // (fresh tier objects, same cache dir) reads another key.
    const warm = new Tier(s3, ctx('cache-clone'));
    const warmTree = await ProllyTree.open(new NodeStore(warm.store), tree.root);
    await warmTree.get(keyAt(12_345 % n, n));
    await warm.close();
    const cold = new Tier(s3, ctx('cache-clone'));
    reset(counter);
    const coldTree = await ProllyTree.open(new NodeStore(cold.store), tree.root);
    const got = await coldTree.get(keyAt(Math.floor(n * 0.77), n));
    if (!got) throw new Error('cold get found nothing');
    out.cold_get_requests = counter.byMethod.GET ?? 0;
    out.cold_get_limit = tree.height + 2;
    await cold.close();
    await stack.store.close();

    const ipfsEntries = opts.ipfsEntries ?? 200_000;
    if (ipfsEntries > 0) Object.assign(out, await benchIpfs(tmp, ipfsEntries, opts.ipfsApi));
    return out;
  } finally {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** PUT random bodies of `sizes` as objects under `prefix`, `jobs` at a time; milliseconds taken. */
async function rawUpload(client: S3Client, bucket: string, prefix: string, sizes: readonly number[], jobs: number): Promise<number> {
  const bodies = sizes.map((size) => {
    const body = new Uint8Array(randomBytes(size));
    return { body, checksum: Buffer.from(sha256(body)).toString('base64') };
  });
  const t0 = performance.now();
  await mapLimit(bodies, jobs, (b, i) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${i}`, Body: b.body, ContentLength: b.body.length, ChecksumSHA256: b.checksum })),
  );
  return performance.now() - t0;
}

/**
 * The dataset in an uncompressed local store (the default local tier), pushed to a fresh prefix:
 * stored forms are raw, so the tier compresses them in pack blocks.
 */
async function pushFromRawLocal(
  tmp: string,
  n: number,
  s3: BackendConfig,
  ctx: TierContext,
  client: S3Client,
  counter: WireCount,
  bucket: string,
  jobs: number,
): Promise<Record<string, number>> {
  const stack = await openLocalStack({ dir: join(tmp, 'local-raw'), cacheBytes: 64 << 20, compression: false });
  const nodes = new NodeStore(stack.store);
  const tree = await ProllyTree.fromSorted(nodes, entries(n, 1));
  await nodes.flush();
  const tier = new Tier({ ...s3, prefix: 'bench-raw-local' }, ctx);
  const stored: StoredCopy = {
    read: (a) => stack.local.getMany(a),
    decode: (a, b) => stack.compressing.decode(a, b),
    target: (await tier.open()).storedForm!,
  };
  reset(counter);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await pushChunks({ chunks: stack.store, target: tier.store, stored, roots: [{ root: tree.root }] });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const out: Record<string, number> = {
    push_1m_local_raw_ms: ms,
    push_1m_local_raw_cpu_ms: (cpu.user + cpu.system) / 1000,
    push_1m_local_raw_bytes: counter.bytesUp,
    push_1m_local_raw_puts: (counter.byMethod.PUT ?? 0) + (counter.byMethod.POST ?? 0),
  };
  const rawMs = await rawUpload(client, bucket, 'raw-local-raw', counter.putSizes, jobs);
  out.raw_sdk_local_raw_ms = rawMs;
  out.push_1m_local_raw_vs_raw_sdk = ms / rawMs;
  await tier.close();
  await stack.store.close();
  return out;
}

async function benchIpfs(tmp: string, n: number, api: string | undefined): Promise<Record<string, number>> {
  let stop: (() => Promise<void>) | undefined;
  let url = api ?? process.env.PROLLY_BENCH_IPFS_API;
  if (!url) {
    const starter = new URL('../../test/ipfs-daemon/start.mjs', import.meta.url);
    const alt = new URL('../test/ipfs-daemon/start.mjs', import.meta.url);
    const path = existsSync(starter) ? starter : alt;
    if (!existsSync(path)) return { ipfs_skipped: 1 };
    const mod = (await import(path.href)) as { isIpfsDaemonInstalled(): boolean; startIpfsDaemon(): Promise<{ apiUrl: string; stop(): Promise<void> }> };
    if (!mod.isIpfsDaemonInstalled()) return { ipfs_skipped: 1 };
    const d = await mod.startIpfsDaemon();
    url = d.apiUrl;
    stop = () => d.stop();
  }
  try {
    const stack = await openLocalStack({ dir: join(tmp, 'ipfs-local'), cacheBytes: 32 << 20 });
    const nodes = new NodeStore(stack.store);
    const tree = await ProllyTree.fromSorted(nodes, entries(n, 7));
    await nodes.flush();
    const tier = new Tier({ name: 'ipfs', type: 'ipfs', endpoint: url }, { workTree: tmp, compression: { type: 'zstd', level: 3, local: false } });
    const ipfs = (await tier.open()).ipfs!;
    const before = ipfs.stats.rpcCalls;
    const t0 = performance.now();
    const pushed = await pushChunks({ chunks: stack.store, target: tier.store, has: await listedHas(tier.store), roots: [{ root: tree.root }] });
    const ms = performance.now() - t0;
    const calls = ipfs.stats.rpcCalls - before;
    await tier.close();
    await stack.store.close();
    return { ipfs_entries: n, ipfs_push_chunks: pushed.chunks, ipfs_push_rpc_calls: calls, ipfs_push_rpc_limit: pushed.chunks / 500 + 5, ipfs_push_ms: ms };
  } finally {
    await stop?.();
  }
}

function reset(c: WireCount): void {
  c.requests = 0;
  c.byMethod = {};
  c.bytesUp = 0;
  c.putSizes = [];
}

function countingClient(endpoint: string): { client: S3Client; counter: WireCount } {
  const client = createS3Client({ endpoint });
  const counter: WireCount = { requests: 0, byMethod: {}, bytesUp: 0, putSizes: [] };
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method?: string; body?: unknown };
      const method = req.method ?? '?';
      counter.requests++;
      counter.byMethod[method] = (counter.byMethod[method] ?? 0) + 1;
      if (req.body instanceof Uint8Array) {
        counter.bytesUp += req.body.length;
        if (method === 'PUT') counter.putSizes.push(req.body.length);
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchRequestCounter' },
  );
  return { client, counter };
}

/**
 * s3rver in a child process (as a real server would be: its request handling does not share this
 * process's event loop with the push being measured).
 */
async function startServer(directory: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  // s3rver's fixed test credentials, for the server this function starts.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s3rverMain = createRequire(import.meta.url).resolve('s3rver');
  const script = `const S3rver = require(${JSON.stringify(s3rverMain)});
new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: ${JSON.stringify(directory)} }).run().then((a) => console.log('PORT ' + a.port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    },
  };
}
const startS3rver = startServer;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const entriesArg = process.env.BENCH_ENTRIES ? Number(process.env.BENCH_ENTRIES) : undefined;
  benchTiers({ entries: entriesArg }).then(
    (figures) => writeResults('tiers', figures),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

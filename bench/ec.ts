/**
 * Erasure coding and encryption benchmark: `npm run bench:ec` → bench/results/ec.json.
 *
 * - rs_encode_mb_s: Reed-Solomon (k=10, m=4) parity of 64 MiB in 64 KiB-block stripes, MB of data
 *   per second (the codec alone, two stripes in flight as in ErasureBackend).
 * - rs_reconstruct_mb_s: the same data with 4 data shards of every stripe lost, MB of data rebuilt
 *   stripes per second.
 * - ec_encode_with_checksums_mb_s: ErasureBackend's whole CPU path per object (stripes, parity,
 *   per-block and per-shard SHA-256), without I/O.
 * - encrypt_push_overhead: push time of the same chunks (JSON rows in ~4 KiB chunks) through a remote
 *   tier's write stack (zstd → [encryption] → packs) to a bucket on s3rver, encrypted ÷ plain,
 *   medians of alternating runs in one process. encrypt_push_overhead_local_dir: the same to a
 *   directory remote (fsync on), where nothing hides the CPU cost of encryption (~15–20 µs per chunk
 *   for node:crypto's per-call setup of GCM and HMAC). The *_cpu_overhead figures compare the
 *   process's CPU time (all threads) instead of wall time: steadier on a shared machine.
 * - storage_overhead: bytes on the 14 erasure members ÷ bytes of the objects written into the erasure
 *   layer (packs and pack-manifest segments), k=10, m=4, including placement manifests.
 *   storage_overhead_vs_chunks divides by the raw chunk bytes instead (adds pack indexes and the
 *   pack manifest, which a single-copy remote stores too).
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectoryBackend } from '../src/store/backends/directory-backend.js';
import type { ObjectBackend } from '../src/store/backends/object-backend.js';
// @ts-expect-error s3rver ships no type declarations
import S3rver from 's3rver';
import { S3Backend, createS3Client } from '../src/store/backends/s3-backend.js';
import type { Chunk } from '../src/store/chunk-store.js';
import { CompressingStore } from '../src/store/compressing-store.js';
import { EncryptingStore } from '../src/store/crypto/encrypting-store.js';
import { Keyring } from '../src/store/crypto/keyring.js';
import { ErasureBackend } from '../src/store/erasure/erasure-backend.js';
import { ReedSolomon } from '../src/store/erasure/reed-solomon.js';
import { PackStore } from '../src/store/pack/pack-store.js';
import { sha256 } from '../src/util/hash.js';
import { median, now, writeResults } from './common.js';

const MB = 1e6;

export interface BenchEcOptions {
  /** Bytes coded in the codec figures (default 64 MiB). */
  codecBytes?: number;
  /** Chunks pushed in the encryption figure (default 8000 of ~4 KiB). */
  pushChunks?: number;
  /** Runs per side for medians (default 3). */
  runs?: number;
}

async function inFlight<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function codecFigures(bytes: number, runs: number): Promise<{ encode: number; reconstruct: number }> {
  const k = 10;
  const m = 4;
  const b = 64 * 1024;
  const rs = new ReedSolomon(k, m);
  const stripes = Math.floor(bytes / (k * b));
  const data = new Uint8Array(randomBytes(stripes * k * b));
  const idx = Array.from({ length: stripes }, (_, s) => s);
  const parities: Buffer[] = new Array(stripes);
  const enc: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = now();
    await inFlight(idx, 2, async (s) => {
      parities[s] = await rs.encode(data.subarray(s * k * b, (s + 1) * k * b), b);
    });
    enc.push((stripes * k * b) / MB / ((now() - t) / 1000));
  }
  const rec: number[] = [];
  const lost = [0, 3, 6, 9];
  for (let r = 0; r < runs; r++) {
    const t = now();
    await inFlight(idx, 2, async (s) => {
      const stripe = data.subarray(s * k * b, (s + 1) * k * b);
      const shards: (Uint8Array | undefined)[] = [];
      for (let i = 0; i < k; i++) shards.push(lost.includes(i) ? undefined : stripe.subarray(i * b, (i + 1) * b));
      for (let i = 0; i < m; i++) shards.push(parities[s]!.subarray(i * b, (i + 1) * b));
      await rs.reconstruct(shards, b, lost);
      if (r === 0 && s === 0 && Buffer.compare(shards[3]!, stripe.subarray(3 * b, 4 * b)) !== 0) throw new Error('reconstruction mismatch');
    });
    rec.push((stripes * k * b) / MB / ((now() - t) / 1000));
  }
  return { encode: median(enc), reconstruct: median(rec) };
}

function chunksOf(n: number): Chunk[] {
  return Array.from({ length: n }, (_, i) => {
    // Tree-node-like sizes around 4 KiB.
    const bytes = new Uint8Array(randomBytes(2048 + ((i * 2654435761) >>> 0) % 4096));
    return { address: sha256(bytes), bytes };
  });
}

function duBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  }
  return total;
}

/**
 * The remote tier's write stack, as a push uses it: zstd per chunk → [encryption] → packs → backend.
 * Plain and encrypted pushes alternate, each into a fresh location, and medians are compared.
 */
async function pushFigures(
  n: number,
  runs: number,
  freshBackend: () => Promise<{ backend: ObjectBackend; cleanup(): Promise<void> }>,
): Promise<{ overhead: number; plainMs: number; encryptedMs: number; cpuOverhead: number }> {
  const chunks = rowChunks(n);
  const plainCpu: number[] = [];
  const encryptedCpu: number[] = [];
  const memKeyring = { name: 'bench', bytes: undefined as Uint8Array | undefined, load: async () => memKeyring.bytes, save: async (b: Uint8Array) => void (memKeyring.bytes = b) };
  const keyring = await Keyring.open({ store: memKeyring, master: new Uint8Array(randomBytes(32)), create: true });
  const plain: number[] = [];
  const encrypted: number[] = [];
  for (let r = 0; r < runs * 2 + 2; r++) {
    const { backend, cleanup } = await freshBackend();
    try {
      const pack = new PackStore({ backend });
      const withKey = r % 2 === 1;
      const store = new CompressingStore({ inner: withKey ? new EncryptingStore({ inner: pack, keyring }) : pack, level: 3 });
      const t = now();
      const cpu = process.cpuUsage();
      await store.putMany(chunks);
      await store.flush();
      const used = process.cpuUsage(cpu);
      // The first pair warms up JIT, zstd and the server.
      if (r >= 2) {
        (withKey ? encrypted : plain).push(now() - t);
        (withKey ? encryptedCpu : plainCpu).push((used.user + used.system) / 1000);
      }
    } finally {
      await cleanup();
    }
  }
  return { overhead: median(encrypted) / median(plain), plainMs: median(plain), encryptedMs: median(encrypted), cpuOverhead: median(encryptedCpu) / median(plainCpu) };
}

/** Tree-node-like chunks (~4 KiB) of JSON rows: compressible, as real datasets are. */
function rowChunks(n: number): Chunk[] {
  const out: Chunk[] = [];
  let row = 0;
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    let len = 0;
    const target = 2048 + (((i * 2654435761) >>> 0) % 4096);
    while (len < target) {
      const r = JSON.stringify({ id: row, user: `user-${row}`, email: `u${row}@example.org`, score: (row * 7919) % 1000, tag: randomBytes(6).toString('hex') });
      parts.push(r);
      len += r.length;
      row++;
    }
    const bytes = new Uint8Array(Buffer.from(parts.join('\n')));
    out.push({ address: sha256(bytes), bytes });
  }
  return out;
}

async function startS3(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), 'bench-ec-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const info = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${info.port}`,
    stop: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Bytes the erasure layer was asked to store, counted on the way in. */
class CountingBackend {
  bytesIn = 0;
  wrap(inner: ObjectBackend): ObjectBackend {
    return new Proxy(inner, {
      get: (target, prop, receiver) => {
        if (prop === 'put' || prop === 'putIfAbsent') {
          return async (name: string, bytes: Uint8Array, opts?: unknown) => {
            const r = await (target[prop] as (n: string, b: Uint8Array, o?: unknown) => Promise<unknown>).call(target, name, bytes, opts);
            if (r !== false) this.bytesIn += bytes.length;
            return r;
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
  }
}

async function storageFigures(n: number): Promise<{ overhead: number; vsChunks: number; ecPutMbS: number }> {
  const base = mkdtempSync(join(tmpdir(), 'bench-ec-store-'));
  try {
    const members = Array.from({ length: 14 }, (_, i) => ({ id: `m${i}`, backend: new DirectoryBackend({ root: join(base, `m${i}`), fsync: false }) }));
    const counting = new CountingBackend();
    const ec = new ErasureBackend({ members, dataShards: 10, parityShards: 4 });
    const pack = new PackStore({ backend: counting.wrap(ec) });
    const chunks = chunksOf(n);
    const chunkBytes = chunks.reduce((a, c) => a + c.bytes.length, 0);
    const t = now();
    await pack.putMany(chunks);
    await pack.flush();
    const ms = now() - t;
    const stored = members.reduce((a, m) => a + duBytes(join(base, m.id)), 0);
    return { overhead: stored / counting.bytesIn, vsChunks: stored / chunkBytes, ecPutMbS: chunkBytes / MB / (ms / 1000) };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/**
 * @example const figures = await benchEc({ codecBytes: 16 << 20 });
 */
export async function benchEc(opts: BenchEcOptions = {}): Promise<Record<string, number>> {
  const runs = opts.runs ?? 5;
  const codec = await codecFigures(opts.codecBytes ?? 64 * 1024 * 1024, runs);
  const n = opts.pushChunks ?? 8000;
  const s3 = await startS3();
  let push: Awaited<ReturnType<typeof pushFigures>>;
  try {
    process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
    const client = createS3Client({ endpoint: s3.endpoint, region: 'us-east-1' });
    const bucket = `bench-ec-${randomBytes(4).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    let run = 0;
    push = await pushFigures(n, runs, async () => ({ backend: new S3Backend({ client, bucket, prefix: `run${run++}` }), cleanup: async () => {} }));
  } finally {
    await s3.stop();
  }
  const dirPush = await pushFigures(n, runs, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-ec-push-'));
    return { backend: new DirectoryBackend({ root: dir }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  });
  const storage = await storageFigures(n);
  return {
    rs_encode_mb_s: codec.encode,
    rs_reconstruct_mb_s: codec.reconstruct,
    encrypt_push_overhead: push.overhead,
    push_plain_ms: push.plainMs,
    push_encrypted_ms: push.encryptedMs,
    encrypt_push_cpu_overhead: push.cpuOverhead,
    encrypt_push_overhead_local_dir: dirPush.overhead,
    encrypt_push_cpu_overhead_local_dir: dirPush.cpuOverhead,
    push_local_dir_plain_ms: dirPush.plainMs,
    push_local_dir_encrypted_ms: dirPush.encryptedMs,
    storage_overhead: storage.overhead,
    storage_overhead_vs_chunks: storage.vsChunks,
    ec_push_local_mb_s: storage.ecPutMbS,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeResults('ec', await benchEc());
}

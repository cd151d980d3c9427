/**
 * Benchmark: what pushing N chunks to an S3-compatible store costs through PackStore (packs of
 * ~8 MiB + one manifest segment) versus a naive upload of the same bytes as one object per chunk
 * with the raw SDK. Counts HTTP requests on the wire (SDK middleware) and bytes sent; times are
 * indicative only (s3rver on loopback, ~230 small PUTs/s on the reference machine).
 *
 * Not a test: returns figures, never fails on time. Starts its own s3rver unless `endpoint` is given
 * (then credentials come from the environment as usual).
 */
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error s3rver ships no type declarations
import S3rver from 's3rver';
import { mapLimit } from '../src/store/backends/concurrency.js';
import { S3Backend, createS3Client } from '../src/store/backends/s3-backend.js';
import type { Chunk } from '../src/store/chunk-store.js';
import { PackStore } from '../src/store/pack/pack-store.js';
import { toHex } from '../src/util/bytes.js';
import { sha256 } from '../src/util/hash.js';

export interface BenchTiersOptions {
  /** Chunks to push (default 5000). */
  chunks?: number;
  /** Bytes per chunk (default 4096). */
  chunkBytes?: number;
  /** Use this S3 endpoint instead of starting s3rver. */
  endpoint?: string;
  /** Parallel PUTs for the one-object-per-chunk upload (default 8). */
  rawConcurrency?: number;
}

interface WireCount {
  requests: number;
  byMethod: Record<string, number>;
  bytesUp: number;
  ms: number;
}

/**
 * @example
 * const figures = await benchTiers({ chunks: 2000 });
 * console.log(JSON.stringify(figures, null, 2));
 */
export async function benchTiers(opts: BenchTiersOptions = {}): Promise<Record<string, unknown>> {
  const n = opts.chunks ?? 5000;
  const size = opts.chunkBytes ?? 4096;
  const server = opts.endpoint ? undefined : await startServer();
  try {
    const endpoint = opts.endpoint ?? server!.endpoint;
    const { client, counter } = countingClient(endpoint);
    const bucket = `bench-${randomBytes(5).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const chunks: Chunk[] = Array.from({ length: n }, () => {
      const bytes = new Uint8Array(randomBytes(size));
      return { address: sha256(bytes), bytes };
    });

    // PackStore push.
    const store = new PackStore({ backend: new S3Backend({ client, bucket, prefix: 'packed' }) });
    const packed = await measure(counter, async () => {
      await store.putMany(chunks);
      await store.flush();
    });
    await store.close();

    // Cold read of one chunk through a fresh store.
    const cold = new PackStore({ backend: new S3Backend({ client, bucket, prefix: 'packed' }) });
    const coldRead = await measure(counter, async () => {
      await cold.get(chunks[Math.floor(n / 2)]!.address);
    });
    await cold.close();

    // Naive: one PutObject per chunk, same bytes.
    const raw = await measure(counter, async () => {
      await mapLimit(chunks, opts.rawConcurrency ?? 8, (c) =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `raw/${toHex(c.address)}`,
            Body: c.bytes,
            ChecksumSHA256: Buffer.from(c.address).toString('base64'),
          }),
        ),
      );
    });

    return {
      chunks: n,
      chunkBytes: size,
      totalBytes: n * size,
      endpoint: opts.endpoint ? 'external' : 's3rver',
      packStore: { ...packed, packs: store.stats.packsWritten, segments: store.stats.segmentsWritten },
      packStoreColdReadOneChunk: coldRead,
      oneObjectPerChunk: raw,
      putRatio: (raw.byMethod.PUT ?? 0) / Math.max(1, packed.byMethod.PUT ?? 0),
    };
  } finally {
    await server?.stop();
  }
}

async function measure(counter: WireCount, fn: () => Promise<void>): Promise<WireCount> {
  counter.requests = 0;
  counter.byMethod = {};
  counter.bytesUp = 0;
  const t0 = performance.now();
  await fn();
  return { requests: counter.requests, byMethod: { ...counter.byMethod }, bytesUp: counter.bytesUp, ms: Math.round(performance.now() - t0) };
}

function countingClient(endpoint: string): { client: S3Client; counter: WireCount } {
  const client = createS3Client({ endpoint });
  const counter: WireCount = { requests: 0, byMethod: {}, bytesUp: 0, ms: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method?: string; body?: unknown };
      counter.requests++;
      counter.byMethod[req.method ?? '?'] = (counter.byMethod[req.method ?? '?'] ?? 0) + 1;
      if (req.body instanceof Uint8Array) counter.bytesUp += req.body.length;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchRequestCounter' },
  );
  return { client, counter };
}

async function startServer(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  // s3rver's fixed test credentials, for the server this function starts.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const directory = await mkdtemp(join(tmpdir(), 'prolly-bench-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const info = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${info.port}`,
    stop: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import type { ObjectBackend, PutObjectOptions } from '../../src/store/backends/object-backend.js';
import { S3Backend, createS3Client } from '../../src/store/backends/s3-backend.js';
import { PackStore } from '../../src/store/pack/pack-store.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { s3Endpoint } from '../setup/servers.js';
import { createTestBucket, s3rverClient, startS3rver, useS3rverCredentials } from '../setup/s3rver.js';
import { describeChunkStoreConformance, randomChunk } from '../store/conformance.js';
import { describePackStoreBehaviour } from './pack-store-suite.js';

const MiB = 1024 * 1024;

/** Headers of every request the client sends, for asserting what went on the wire. */
function recordHeaders(client: S3Client): { method: string; path: string; headers: Record<string, string> }[] {
  const seen: { method: string; path: string; headers: Record<string, string> }[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method: string; path: string; headers: Record<string, string> };
      seen.push({ method: req.method, path: req.path, headers: { ...req.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordHeaders' },
  );
  return seen;
}

async function setupBucket(prefix = 'repo') {
  const { client, counter } = s3rverClient(await s3Endpoint());
  const bucket = await createTestBucket(client);
  return { client, counter, bucket, backend: new S3Backend({ client, bucket, prefix }) };
}

describe('S3Backend on s3rver', () => {
  it('puts with x-amz-checksum-sha256, reads whole and ranged, heads, lists and deletes under its prefix', async () => {
    const { client, bucket, backend } = await setupBucket('team/data');
    const seen = recordHeaders(client);
    const bytes = new Uint8Array(randomBytes(300_000));
    await backend.put('packs/a.pack', bytes);
    const put = seen.find((r) => r.method === 'PUT')!;
    expect(put.headers['x-amz-checksum-sha256']).toBe(Buffer.from(sha256(bytes)).toString('base64'));
    expect(put.path).toContain('/team/data/packs/a.pack');

    const got = await backend.get('packs/a.pack');
    expect(got!.length).toBe(300_000); // not aws-chunked framing (TESTING.md)
    expect(toHex(sha256(got!))).toBe(toHex(sha256(bytes)));
    expect(toHex((await backend.get('packs/a.pack', { start: 1000, end: 1010 }))!)).toBe(toHex(bytes.subarray(1000, 1010)));
    expect((await backend.get('packs/a.pack', { start: 299_990, end: 400_000 }))!.length).toBe(10);
    expect(await backend.get('packs/none.pack')).toBeUndefined();
    expect(await backend.head('packs/a.pack')).toEqual({ name: 'packs/a.pack', size: 300_000 });
    expect(await backend.head('packs/none.pack')).toBeUndefined();

    await backend.put('manifest/x.seg', utf8('m'));
    const listed: string[] = [];
    for await (const o of backend.list('packs/')) listed.push(`${o.name}:${o.size}`);
    expect(listed).toEqual(['packs/a.pack:300000']);
    const raw = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(raw.Contents!.map((c) => c.Key).sort()).toEqual(['team/data/manifest/x.seg', 'team/data/packs/a.pack']);

    await backend.delete('packs/a.pack');
    await backend.delete('packs/a.pack');
    expect(await backend.head('packs/a.pack')).toBeUndefined();
    expect(backend.stats.puts).toBe(2);
  });

  it('sends Object Lock and storage-class headers when asked', async () => {
    const { client, counter, bucket } = await setupBucket();
    void counter;
    const backend = new S3Backend({ client, bucket, prefix: 'p', storageClass: 'STANDARD_IA', objectLockMode: 'COMPLIANCE' });
    const seen = recordHeaders(client);
    const until = new Date(Date.now() + 86_400_000);
    await backend.put('packs/locked.pack', utf8('keep me'), { retainUntil: until });
    const h = seen.find((r) => r.method === 'PUT')!.headers;
    expect(h['x-amz-object-lock-mode']).toBe('COMPLIANCE');
    expect(new Date(h['x-amz-object-lock-retain-until-date']!).getTime()).toBe(until.getTime());
    expect(h['x-amz-storage-class']).toBe('STANDARD_IA');
    expect(Buffer.from((await backend.get('packs/locked.pack'))!).toString()).toBe('keep me');
  });

  it('uploads large objects as multipart with a SHA-256 per part', async () => {
    const { client, counter, bucket } = await setupBucket();
    const backend = new S3Backend({ client, bucket, multipartThreshold: 6 * MiB, partSize: 5 * MiB });
    const seen = recordHeaders(client);
    const bytes = new Uint8Array(randomBytes(12 * MiB + 123));
    counter.reset();
    await backend.put('packs/big.pack', bytes);
    // create + 3 parts + complete
    expect(counter.byMethod).toEqual({ POST: 2, PUT: 3 });
    const parts = seen.filter((r) => r.method === 'PUT');
    expect(parts[0]!.headers['x-amz-checksum-sha256']).toBe(Buffer.from(sha256(bytes.subarray(0, 5 * MiB))).toString('base64'));
    const got = await backend.get('packs/big.pack');
    expect(got!.length).toBe(bytes.length);
    expect(toHex(sha256(got!))).toBe(toHex(sha256(bytes)));
    const across = await backend.get('packs/big.pack', { start: 5 * MiB - 5, end: 5 * MiB + 5 });
    expect(toHex(across!)).toBe(toHex(bytes.subarray(5 * MiB - 5, 5 * MiB + 5)));
  });

  it('putIfAbsent writes only when the object is missing', async () => {
    const { backend } = await setupBucket();
    expect(await backend.putIfAbsent('manifest/a.seg', utf8('first'))).toBe(true);
    expect(await backend.putIfAbsent('manifest/a.seg', utf8('second'))).toBe(false);
    expect(Buffer.from((await backend.get('manifest/a.seg'))!).toString()).toBe('first');
  });

  it('errors name the bucket and key: missing bucket, unreachable server', async () => {
    const { client } = await setupBucket();
    const noBucket = new S3Backend({ client, bucket: 'no-such-bucket-here', retry: { attempts: 1 } });
    const e1 = await noBucket.put('packs/x.pack', utf8('x')).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ProllyError);
    expect((e1 as ProllyError).code).toBe('EBACKEND');
    expect((e1 as ProllyError).message).toContain('s3://no-such-bucket-here/packs/x.pack');
    const e1b = await noBucket.get('packs/x.pack').catch((e: unknown) => e);
    expect((e1b as ProllyError).code).toBe('EBACKEND');

    // A port nobody listens on: retried with backoff, then a clear error naming the endpoint.
    const dead = await startS3rver();
    const deadEndpoint = dead.endpoint;
    await dead.stop();
    useS3rverCredentials();
    const down = new S3Backend({
      client: createS3Client({ endpoint: deadEndpoint }),
      bucket: 'some-bucket',
      retry: { attempts: 3, baseDelayMs: 5 },
    });
    const e2 = await down.get('manifest/a.seg').catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ProllyError);
    expect((e2 as ProllyError).code).toBe('EBACKEND');
    expect((e2 as ProllyError).message).toContain('s3://some-bucket/manifest/a.seg');
    expect((e2 as ProllyError).message).toContain(deadEndpoint.replace('http://', ''));
    expect((e2 as ProllyError).message).toMatch(/ECONNREFUSED/);
    expect(down.stats.gets).toBe(3); // three attempts, no more
  });

  it('rejects invalid bucket names and prefixes up front', () => {
    const client = createS3Client({ endpoint: 'http://127.0.0.1:1' });
    expect(() => new S3Backend({ client, bucket: 'ab' })).toThrow(/invalid S3 bucket/);
    expect(() => new S3Backend({ client, bucket: 'good-bucket', prefix: '../x' })).toThrow(/invalid object name/);
  });
});

describeChunkStoreConformance('PackStore over S3Backend (s3rver)', async () => {
  const { client, bucket } = await setupBucket();
  const make = () => new PackStore({ backend: new S3Backend({ client, bucket, prefix: 'store' }), targetPackBytes: 256 * 1024 });
  return { store: make(), reopen: async () => make(), cleanup: async () => {} };
});

describePackStoreBehaviour('S3Backend (s3rver)', async () => {
  const endpoint = await s3Endpoint();
  const { client, bucket } = await setupBucket();
  return {
    backend: new S3Backend({ client, bucket, prefix: 'repo' }),
    // Another process: its own client and backend over the same bucket and prefix.
    reopen: () => new S3Backend({ client: s3rverClient(endpoint).client, bucket, prefix: 'repo' }),
    cleanup: async () => {},
  };
});

describe('PackStore over S3 at the HTTP level', () => {
  it('pushing 5,000 × 4 KiB chunks sends bytes / 8 MiB + 1 PUT requests', async () => {
    const { counter, backend } = await setupBucket();
    const chunks = Array.from({ length: 5000 }, () => randomChunk(4096));
    const store = new PackStore({ backend });
    counter.reset();
    await store.putMany(chunks);
    await store.flush();
    const packs = Math.ceil((5000 * 4096) / (8 * MiB));
    expect(counter.byMethod.PUT).toBe(packs + 1);
    // Everything else: one manifest LIST and one HEAD per pack (is it already there?).
    expect(counter.total).toBe(packs + 1 + 1 + packs);
    expect(counter.bytesUp).toBeGreaterThan(5000 * 4096);
    expect(counter.bytesUp).toBeLessThan(5000 * 4096 * 1.05);
    await store.close();
  });

  it('a cold read is three HTTP requests: LIST manifest, GET segment, ranged GET', async () => {
    const { client, counter, bucket, backend } = await setupBucket();
    const chunks = Array.from({ length: 300 }, () => randomChunk(5000));
    const writer = new PackStore({ backend });
    await writer.putMany(chunks);
    await writer.close();
    const seen = recordHeaders(client);
    counter.reset();
    const cold = new PackStore({ backend: new S3Backend({ client, bucket, prefix: 'repo' }) });
    expect(toHex((await cold.get(chunks[123]!.address))!)).toBe(toHex(chunks[123]!.bytes));
    expect(counter.total).toBe(3);
    expect(seen.at(-1)!.headers.range).toMatch(/^bytes=\d+-\d+$/);
    const [start, end] = seen.at(-1)!.headers.range!.slice(6).split('-').map(Number);
    expect(end! - start! + 1).toBe(5000);
  });
});

/** Stops the server right after `afterPacks` pack uploads succeeded (a real outage mid-flush). */
class StopServerAfterPacks implements ObjectBackend {
  private landed = 0;
  constructor(
    private readonly inner: ObjectBackend,
    private readonly afterPacks: number,
    private readonly stop: () => Promise<void>,
  ) {}
  get name() {
    return this.inner.name;
  }
  get stats() {
    return this.inner.stats;
  }
  async put(name: string, bytes: Uint8Array, opts?: PutObjectOptions) {
    await this.inner.put(name, bytes, opts);
    if (name.startsWith('packs/') && ++this.landed === this.afterPacks) await this.stop();
  }
  putIfAbsent(name: string, bytes: Uint8Array, opts?: PutObjectOptions) {
    return this.inner.putIfAbsent(name, bytes, opts);
  }
  get(name: string, range?: { start: number; end: number }) {
    return this.inner.get(name, range);
  }
  head(name: string) {
    return this.inner.head(name);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(name: string) {
    return this.inner.delete(name);
  }
}

describe('S3 server stopped mid-flush', () => {
  it('fails with a clear error; after a restart a re-run uploads only the missing packs', async () => {
    const server = await startS3rver();
    const port = Number(new URL(server.endpoint).port);
    let restarted: Awaited<ReturnType<typeof startS3rver>> | undefined;
    try {
      const { client } = s3rverClient(server.endpoint);
      const bucket = await createTestBucket(client);
      const chunks = Array.from({ length: 100 }, () => randomChunk(20_000)); // 2 MB → 8 packs of 256 KiB
      const backend = new S3Backend({ client, bucket, prefix: 'r', retry: { attempts: 2, baseDelayMs: 5, timeoutMs: 5000 } });
      const store = new PackStore({
        backend: new StopServerAfterPacks(backend, 3, () => server.halt()),
        targetPackBytes: 256 * 1024,
        uploadConcurrency: 1,
      });
      let err: unknown;
      try {
        await store.putMany(chunks);
        await store.flush();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProllyError);
      expect((err as ProllyError).code).toBe('EBACKEND');
      expect((err as ProllyError).message).toContain(`s3://${bucket}/r/`);
      expect((err as ProllyError).message).toContain(`127.0.0.1:${port}`);

      restarted = await startS3rver({ port, directory: server.directory });
      const rerun = new PackStore({ backend: new S3Backend({ client, bucket, prefix: 'r' }), targetPackBytes: 256 * 1024 });
      expect((await rerun.hasMany(chunks.map((c) => c.address))).some(Boolean)).toBe(false);
      await rerun.putMany(chunks);
      await rerun.flush();
      expect(rerun.stats.packsReused).toBe(3);
      expect(rerun.stats.packsWritten).toBe(8 - 3);
      const cold = new PackStore({ backend: new S3Backend({ client, bucket, prefix: 'r' }) });
      const got = await cold.getMany(chunks.map((c) => c.address));
      expect(got.every((g, i) => g && toHex(g) === toHex(chunks[i]!.bytes))).toBe(true);
    } finally {
      await restarted?.stop();
      await server.stop();
    }
  });
});

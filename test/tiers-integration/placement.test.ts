/**
 * Replicated placement over real backends (shared directories and the shared s3rver): write quorum,
 * failover on a deleted or corrupted pack and on a backend that does not answer, the error when
 * every replica is bad, and the metrics that record failovers.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackendConfig, ProllyConfig } from '../../src/config/config.js';
import { defaultConfig } from '../../src/config/config.js';
import { ProllyError } from '../../src/errors.js';
import type { Chunk } from '../../src/store/chunk-store.js';
import { createPlacement, type Placement } from '../../src/store/tiered/placement.js';
import { Tier, type TierContext } from '../../src/store/tiered/tier.js';
import { toHex } from '../../src/util/bytes.js';
import { randomChunk } from '../store/conformance.js';
import { newBucket } from './helpers.js';

const base = mkdtempSync(join(tmpdir(), 'prolly-placement-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let dirs = 0;

function ctx(): TierContext {
  return { workTree: base, compression: { type: 'zstd', level: 3 }, targetPackBytes: 64 * 1024, retry: { attempts: 1, timeoutMs: 5000 } };
}

function dirBackend(name: string): BackendConfig {
  return { name, type: 'local', path: join(base, `${name}-${++dirs}`) };
}

function routing(r: Partial<ProllyConfig['storage']['routing']>): ProllyConfig['storage']['routing'] {
  return { ...defaultConfig().storage.routing, ...r };
}

function replicate(configs: BackendConfig[], opts: { n?: number; quorum?: number; readTimeoutMs?: number } = {}): Placement {
  const tiers = configs.map((c) => new Tier(c, ctx()));
  return createPlacement({ routing: routing({ strategy: 'replicate', replication_factor: opts.n ?? configs.length, quorum: opts.quorum ?? 1 }), tiers, readTimeoutMs: opts.readTimeoutMs });
}

/** Random (incompressible) chunks of 2000–4999 bytes; the sizes are fixed so pack counts are too. */
function chunks(n: number): Chunk[] {
  return Array.from({ length: n }, (_, i) => randomChunk(2000 + ((i * 1237) % 3000)));
}

function packFiles(b: BackendConfig): string[] {
  return readdirSync(join(b.path!, 'packs')).map((f) => join(b.path!, 'packs', f));
}

async function write(configs: BackendConfig[], data: Chunk[]): Promise<void> {
  const p = replicate(configs);
  await p.putMany(data);
  await p.flush();
  await p.close();
}

describe('replicated placement', () => {
  it('writes every chunk to each replica', async () => {
    const a = dirBackend('a');
    const b = dirBackend('b');
    const data = chunks(60);
    await write([a, b], data);
    for (const cfg of [a, b]) {
      const only = replicate([cfg]);
      expect((await only.hasMany(data.map((c) => c.address))).every(Boolean)).toBe(true);
      await only.close();
    }
    expect(packFiles(a).length).toBeGreaterThan(1);
    expect(packFiles(a).map((f) => f.split('/').pop()).sort()).toEqual(packFiles(b).map((f) => f.split('/').pop()).sort());
  });

  it('a pack deleted on one replica: reads succeed from the other and the failover is counted', async () => {
    const a = dirBackend('a');
    const b = dirBackend('b');
    const data = chunks(60);
    await write([a, b], data);
    for (const f of packFiles(a)) rmSync(f);
    const p = replicate([a, b]);
    const got = await p.getMany(data.map((c) => c.address));
    got.forEach((bytes, i) => expect(toHex(bytes!)).toBe(toHex(data[i]!.bytes)));
    expect(p.stats.failovers).toBeGreaterThanOrEqual(1);
    expect(p.stats.failoverChunks).toBe(data.length);
    const [ta, tb] = p.readTiers;
    expect(ta!.health.counters.failoversFrom).toBeGreaterThanOrEqual(1);
    expect(tb!.health.counters.failoversTo).toBeGreaterThanOrEqual(1);
    expect(tb!.health.counters.chunksRead).toBe(data.length);
    // The broken replica is now tried last.
    expect((p as unknown as { readOrder(): { name: string }[] }).readOrder().map((t) => t.name)).toEqual([b.name, a.name]);
    await p.close();
  });

  it('a pack corrupted on one replica: the hash mismatch fails over to the other', async () => {
    const a = dirBackend('a');
    const b = dirBackend('b');
    const data = chunks(40);
    await write([a, b], data);
    for (const f of packFiles(a)) {
      const bytes = readFileSync(f);
      for (let o = 100; o < bytes.length - 2000; o += 997) bytes[o]! ^= 0xff;
      writeFileSync(f, bytes);
    }
    const p = replicate([a, b]);
    const got = await p.getMany(data.map((c) => c.address));
    got.forEach((bytes, i) => expect(toHex(bytes!)).toBe(toHex(data[i]!.bytes)));
    expect(p.readTiers[0]!.health.counters.corrupt).toBeGreaterThanOrEqual(1);
    expect(p.stats.failovers).toBeGreaterThanOrEqual(1);
    await p.close();
  });

  it('every replica bad: one error naming the chunk and each backend tried', async () => {
    const a = dirBackend('a');
    const b = dirBackend('b');
    const data = chunks(10);
    await write([a, b], data);
    for (const f of packFiles(a)) rmSync(f);
    for (const f of packFiles(b)) {
      const bytes = readFileSync(f);
      bytes[20]! ^= 0xff;
      writeFileSync(f, bytes);
    }
    const p = replicate([a, b]);
    const target = data[0]!;
    const err = await p.get(target.address).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProllyError);
    const e = err as ProllyError;
    expect(e.message).toContain(toHex(target.address));
    expect(e.message).toContain(a.name);
    expect(e.message).toContain(b.name);
    expect(e.message).toMatch(/missing/);
    expect(e.message).toMatch(/checksum|corrupt|does not match/);
    expect(e.data.address).toBe(toHex(target.address));
    expect(e.data.backends).toHaveLength(2);
    await p.close();
  });

  it('a backend that does not answer: the read times out and fails over', async () => {
    // A TCP server that accepts connections and never replies.
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const good = dirBackend('good');
      const data = chunks(5);
      await write([good], data);
      process.env.AWS_ACCESS_KEY_ID ??= 'x';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'x';
      const hang: BackendConfig = { name: 'hang', type: 's3', bucket: 'never-answers', endpoint: `http://127.0.0.1:${port}` };
      // Roomy enough that the good replica's read never hits it on a loaded machine. No elapsed-time
      // check: the counter below only counts this read timeout (the S3 client's own 5 s timeout
      // would be a different error).
      const p = replicate([hang, good], { readTimeoutMs: 2000 });
      const got = await p.getMany(data.map((c) => c.address));
      expect(got.every((g, i) => g && toHex(g) === toHex(data[i]!.bytes))).toBe(true);
      expect(p.readTiers[0]!.health.counters.timeouts).toBe(1);
      expect(p.stats.failovers).toBe(1);
      for (const t of p.readTiers) t.abandon();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('write quorum: a flush succeeds when the quorum confirms, and fails naming the backends when it cannot', async () => {
    const { endpoint, bucket } = await newBucket();
    const s3ok: BackendConfig = { name: 's3ok', type: 's3', bucket, prefix: 'q', endpoint };
    const s3bad: BackendConfig = { name: 's3bad', type: 's3', bucket: 'no-such-bucket-q', prefix: 'q', endpoint };
    const dir = dirBackend('d');
    const data = chunks(20);

    const ok = replicate([dir, s3ok, s3bad], { quorum: 2 });
    await ok.putMany(data);
    await ok.flush();
    expect(ok.stats.degradedWrites).toBe(1);
    await ok.close();
    const check = replicate([s3ok]);
    expect((await check.hasMany(data.map((c) => c.address))).every(Boolean)).toBe(true);
    await check.close();

    const strict = replicate([dirBackend('e'), s3bad], { quorum: 2 });
    const err = await (async () => {
      await strict.putMany(data);
      await strict.flush();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('EBACKEND');
    expect((err as ProllyError).message).toMatch(/reached 1 of 2 backends, quorum is 2/);
    expect((err as ProllyError).message).toContain('s3bad');
    expect((err as ProllyError).message).toContain('no-such-bucket-q');
    await strict.close();
  });

  it('reads prefer the fastest healthy replica', async () => {
    const a = dirBackend('a');
    const b = dirBackend('b');
    const data = chunks(5);
    await write([a, b], data);
    const p = replicate([a, b]);
    const [ta, tb] = p.readTiers;
    ta!.health.success(50);
    tb!.health.success(5);
    await p.getMany(data.map((c) => c.address));
    expect(tb!.health.counters.chunksRead).toBe(data.length);
    expect(ta!.health.counters.chunksRead).toBe(0);
    await p.close();
  });
});

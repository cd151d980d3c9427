import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { CachingStore } from '../../src/store/caching-store.js';
import { CompressingStore, STORED_RAW, STORED_ZSTD } from '../../src/store/compressing-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { VerifyingStore } from '../../src/store/verifying-store.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { chunkOf, randomChunk } from './conformance.js';

async function caught(p: Promise<unknown>): Promise<ProllyError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ProllyError);
    return e as ProllyError;
  }
  throw new Error('expected a ProllyError');
}

/** Tree-node-like bytes: sorted keys with repetitive structure, compressible. */
function nodeLike(seed: number, bytes = 4096): Uint8Array {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `user:${String(seed * 1000 + i).padStart(10, '0')}={"active":true,"n":${i}};`;
  return utf8(s.slice(0, bytes));
}

describe('CachingStore', () => {
  it('serves repeated reads from memory', async () => {
    const inner = new MemoryStore();
    const cache = new CachingStore({ inner, maxBytes: 1 << 20, cacheOnPut: false });
    const c = randomChunk(1000);
    await cache.put(c);
    for (let i = 0; i < 5; i++) expect(toHex((await cache.get(c.address))!)).toBe(toHex(c.bytes));
    expect(inner.stats.gets).toBe(1);
    expect(cache.stats).toMatchObject({ hits: 4, misses: 1 });
  });

  it('caches on put by default, and does not cache absence', async () => {
    const inner = new MemoryStore();
    const cache = new CachingStore({ inner, maxBytes: 1 << 20 });
    const c = randomChunk(100);
    expect(await cache.get(c.address)).toBeUndefined();
    await cache.put(c);
    expect(toHex((await cache.get(c.address))!)).toBe(toHex(c.bytes));
    expect(inner.stats.gets).toBe(1); // only the first (absent) read reached the inner store
  });

  it('stays within its byte budget, evicting the least recently used', async () => {
    const inner = new MemoryStore();
    const cache = new CachingStore({ inner, maxBytes: 10_000, cacheOnPut: false });
    const chunks = Array.from({ length: 10 }, () => randomChunk(2000));
    await inner.putMany(chunks);
    await cache.getMany(chunks.map((c) => c.address));
    expect(cache.stats.bytes).toBeLessThanOrEqual(10_000);
    expect(cache.stats.evictions).toBeGreaterThan(0);
    const before = inner.stats.gets;
    await cache.get(chunks[9]!.address); // most recent: cached
    expect(inner.stats.gets).toBe(before);
    await cache.get(chunks[0]!.address); // evicted long ago
    expect(inner.stats.gets).toBe(before + 1);
  });

  it('getMany asks the inner store only for misses, and keeps order', async () => {
    const inner = new MemoryStore();
    const cache = new CachingStore({ inner, maxBytes: 1 << 20, cacheOnPut: false });
    const chunks = Array.from({ length: 6 }, () => randomChunk(64));
    await inner.putMany(chunks);
    await cache.get(chunks[1]!.address);
    await cache.get(chunks[4]!.address);
    const gets = inner.stats.gets;
    const got = await cache.getMany(chunks.map((c) => c.address));
    expect(got.map((b) => toHex(b!))).toEqual(chunks.map((c) => toHex(c.bytes)));
    expect(inner.stats.gets - gets).toBe(4);
  });

  it('a caller mutating what it read cannot poison the cache', async () => {
    const cache = new CachingStore({ inner: new MemoryStore(), maxBytes: 1 << 20 });
    const c = randomChunk(100);
    await cache.put(c);
    const first = (await cache.get(c.address))!;
    first.fill(0);
    expect(toHex((await cache.get(c.address))!)).toBe(toHex(c.bytes));
  });

  it('forgets entries after ttlMs', async () => {
    // A fake clock: with the real one, a loaded machine can stall longer than the ttl between two reads.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const inner = new MemoryStore();
      const cache = new CachingStore({ inner, maxBytes: 1 << 20, ttlMs: 30, cacheOnPut: false });
      const c = randomChunk(10);
      await inner.put(c);
      await cache.get(c.address);
      vi.advanceTimersByTime(29);
      await cache.get(c.address);
      expect(inner.stats.gets).toBe(1);
      vi.advanceTimersByTime(1);
      await cache.get(c.address);
      expect(inner.stats.gets).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('VerifyingStore', () => {
  it('throws ECHUNKCORRUPT naming the chunk and the inner store when bytes do not match the address', async () => {
    const inner = new MemoryStore('s3://bucket/prefix');
    const store = new VerifyingStore({ inner });
    const good = randomChunk(500);
    const bad = randomChunk(500);
    await store.putMany([good, bad]);
    inner.corrupt(bad.address, (b) => {
      b[17] ^= 1;
      return b;
    });
    expect(toHex((await store.get(good.address))!)).toBe(toHex(good.bytes));
    const err = await caught(store.get(bad.address));
    expect(err.code).toBe('ECHUNKCORRUPT');
    expect(err.message).toContain(toHex(bad.address));
    expect(err.message).toContain('s3://bucket/prefix');
    expect(err.data).toMatchObject({ address: toHex(bad.address), store: 's3://bucket/prefix', phase: 'read' });
    expect((await caught(store.getMany([good.address, bad.address]))).data.address).toBe(toHex(bad.address));
    expect(store.stats.corrupt).toBe(2);
  });

  it('refuses a put whose bytes do not hash to its address, storing nothing', async () => {
    const inner = new MemoryStore();
    const store = new VerifyingStore({ inner });
    const c = randomChunk(50);
    const err = await caught(store.put({ address: c.address, bytes: randomBytes(50) }));
    expect(err.code).toBe('ECHUNKCORRUPT');
    expect(err.data.phase).toBe('put');
    expect(inner.size).toBe(0);
    await caught(store.putMany([randomChunk(5), { address: c.address, bytes: new Uint8Array(3) }]));
    expect(inner.size).toBe(0);
  });

  it('put verification can be turned off', async () => {
    const inner = new MemoryStore();
    const store = new VerifyingStore({ inner, verifyOnPut: false });
    const c = randomChunk(50);
    await store.put({ address: c.address, bytes: new Uint8Array(3) });
    expect(inner.size).toBe(1);
    expect((await caught(store.get(c.address))).code).toBe('ECHUNKCORRUPT');
  });
});

describe('CompressingStore', () => {
  it('stores compressible chunks as header 1 + zstd frame, under the uncompressed address', async () => {
    const inner = new MemoryStore();
    const store = new CompressingStore({ inner });
    const c = chunkOf(nodeLike(1));
    await store.put(c);
    const stored = (await inner.get(c.address))!;
    expect(stored[0]).toBe(STORED_ZSTD);
    expect(stored.length).toBeLessThan(c.bytes.length / 2);
    // zstd frame magic 0xFD2FB528, little-endian.
    expect(toHex(stored.subarray(1, 5))).toBe('28b52ffd');
    expect(toHex((await store.get(c.address))!)).toBe(toHex(c.bytes));
    expect(toHex(sha256((await store.get(c.address))!))).toBe(toHex(c.address));
  });

  it('stores incompressible and tiny chunks raw behind header 0', async () => {
    const inner = new MemoryStore();
    const store = new CompressingStore({ inner });
    const random = randomChunk(4096);
    const tiny = chunkOf(utf8('aaaaaaaaaaaa'));
    await store.putMany([random, tiny]);
    for (const c of [random, tiny]) {
      const stored = (await inner.get(c.address))!;
      expect(stored[0]).toBe(STORED_RAW);
      expect(toHex(stored.subarray(1))).toBe(toHex(c.bytes));
      expect(toHex((await store.get(c.address))!)).toBe(toHex(c.bytes));
    }
    expect(store.stats).toMatchObject({ compressed: 0, storedRaw: 2 });
  });

  it('honours the level (the zstd package\'s own wrapper silently drops it)', async () => {
    const buf = Buffer.alloc(100_000);
    for (let j = 0; j < buf.length; j += 7) buf.write(String(Math.floor(Math.sin(j) * 1000)), j);
    const c = chunkOf(new Uint8Array(buf));
    const sizes = new Map<number, number>();
    for (const level of [3, 19]) {
      const inner = new MemoryStore();
      const store = new CompressingStore({ inner, level });
      await store.put(c);
      sizes.set(level, (await inner.get(c.address))!.length);
      expect(toHex((await store.get(c.address))!)).toBe(toHex(c.bytes));
    }
    expect(sizes.get(19)!).toBeLessThan(sizes.get(3)! * 0.9);
  });

  it('putMany/getMany round-trip many chunks in order', async () => {
    const inner = new MemoryStore();
    const store = new CompressingStore({ inner, concurrency: 8 });
    const chunks = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? randomChunk(900) : chunkOf(nodeLike(i, 900 + i))));
    await store.putMany(chunks);
    const got = await store.getMany(chunks.map((c) => c.address));
    expect(got.map((b) => toHex(b!))).toEqual(chunks.map((c) => toHex(c.bytes)));
    expect(store.stats.compressed).toBe(200);
  });

  it('an undecodable stored form is ECHUNKCORRUPT naming the chunk and store', async () => {
    const inner = new MemoryStore('ipfs:http://127.0.0.1:5001');
    const store = new CompressingStore({ inner });
    const c = chunkOf(nodeLike(3));
    await store.put(c);
    inner.corrupt(c.address, (b) => {
      b[6] ^= 0xff; // inside the zstd frame header
      return b;
    });
    const err = await caught(store.get(c.address));
    expect(err.code).toBe('ECHUNKCORRUPT');
    expect(err.message).toContain(toHex(c.address));
    expect(err.message).toContain('ipfs:http://127.0.0.1:5001');

    const d = randomChunk(10);
    await inner.put({ address: d.address, bytes: Uint8Array.from([9, 1, 2]) });
    expect((await caught(store.get(d.address))).message).toMatch(/header byte 9/);
  });

  it('rejects an invalid level', () => {
    expect(() => new CompressingStore({ inner: new MemoryStore(), level: -1 })).toThrow(/level/);
    expect(() => new CompressingStore({ inner: new MemoryStore(), level: 23 })).toThrow(/level/);
    expect(() => new CompressingStore({ inner: new MemoryStore(), level: 1.5 })).toThrow(/level/);
  });

  it('level 0 stores raw with the header, readable by a compressing store and back', async () => {
    const inner = new MemoryStore();
    const raw = new CompressingStore({ inner, level: 0 });
    const zstd = new CompressingStore({ inner, level: 3 });
    const a = { address: sha256(new Uint8Array(4096)), bytes: new Uint8Array(4096) };
    await raw.put(a);
    const stored = (await inner.get(a.address))!;
    expect(stored[0]).toBe(0);
    expect(stored.length).toBe(4097);
    expect(await zstd.get(a.address)).toEqual(a.bytes);
    const b = { address: sha256(new Uint8Array(8192)), bytes: new Uint8Array(8192) };
    await zstd.put(b);
    expect((await inner.get(b.address))![0]).toBe(1);
    expect(await raw.get(b.address)).toEqual(b.bytes);
  });
});

/**
 * The ChunkStore contract (src/store/chunk-store.ts) as a reusable vitest suite. Every store
 * implementation and layer runs it; backends with real servers (S3, IPFS) import it too, so it uses
 * only the ChunkStore interface and keeps sizes modest (tunable through `options`).
 *
 * @example
 * import { describeChunkStoreConformance } from './conformance.js';
 * describeChunkStoreConformance('LocalStore', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'store-'));
 *   return {
 *     store: await LocalStore.open({ dir }),
 *     reopen: () => LocalStore.open({ dir }),
 *     cleanup: () => rm(dir, { recursive: true, force: true }),
 *   };
 * });
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Chunk, ChunkStore } from '../../src/store/chunk-store.js';
import { ProllyError } from '../../src/errors.js';
import { toHex } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

/** What a conformance fixture provides. */
export interface ConformanceFixture {
  /** A fresh, empty store. */
  store: ChunkStore;
  /** Delete everything the fixture created. Called after the suite has closed its stores. */
  cleanup(): Promise<void>;
  /**
   * Optional: a new store over the same backing data, called after the old one was closed. Turns
   * on the flush + reopen (durability) checks.
   */
  reopen?(): Promise<ChunkStore>;
}

/** Tuning for slow backends. */
export interface ConformanceOptions {
  /** Chunks in the "many chunks" test (default 2000). */
  manyChunks?: number;
  /** Size of the large chunk (default 1 MiB, the largest block real IPFS nodes accept). */
  largeChunkBytes?: number;
  /** Per-test timeout in ms (default vitest's). */
  timeoutMs?: number;
}

/** A chunk of `n` random bytes with its true address. */
export function randomChunk(n: number): Chunk {
  const bytes = new Uint8Array(randomBytes(n));
  return { address: sha256(bytes), bytes };
}

/** A chunk holding the given bytes. */
export function chunkOf(bytes: Uint8Array): Chunk {
  return { address: sha256(bytes), bytes };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const a of it) out.push(toHex(a));
  return out;
}

async function expectCode(p: Promise<unknown> | (() => Promise<unknown>), code: string): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a ProllyError ${code}`).toBeInstanceOf(ProllyError);
  expect((err as ProllyError).code).toBe(code);
}

/**
 * Register the ChunkStore contract tests for one implementation.
 * @param name shown in the test report
 * @param makeStore called once per test; must return a fresh empty store
 */
export function describeChunkStoreConformance(
  name: string,
  makeStore: () => Promise<ConformanceFixture>,
  options: ConformanceOptions = {},
): void {
  const manyChunks = options.manyChunks ?? 2000;
  const largeBytes = options.largeChunkBytes ?? 1024 * 1024;
  const timeout = options.timeoutMs;

  describe(`ChunkStore conformance: ${name}`, () => {
    let fixture: ConformanceFixture | undefined;
    const opened: ChunkStore[] = [];

    async function setup(): Promise<ConformanceFixture> {
      fixture = await makeStore();
      opened.push(fixture.store);
      return fixture;
    }

    async function reopen(f: ConformanceFixture): Promise<ChunkStore> {
      const s = await f.reopen!();
      opened.push(s);
      return s;
    }

    afterEach(async () => {
      for (const s of opened.splice(0)) {
        try {
          await s.close();
        } catch {
          /* the test may have closed it already */
        }
      }
      await fixture?.cleanup();
      fixture = undefined;
    });

    it('get/has of an absent address resolve to undefined/false without throwing', async () => {
      const { store } = await setup();
      const absent = randomChunk(100).address;
      expect(await store.get(absent)).toBeUndefined();
      expect(await store.has(absent)).toBe(false);
      expect(await store.getMany([absent, absent])).toEqual([undefined, undefined]);
      expect(await store.hasMany([absent])).toEqual([false]);
    }, timeout);

    it('put then get returns the same bytes; has becomes true', async () => {
      const { store } = await setup();
      const c = randomChunk(3000);
      await store.put(c);
      expect(await store.has(c.address)).toBe(true);
      const got = await store.get(c.address);
      expect(got).toBeInstanceOf(Uint8Array);
      expect(toHex(got!)).toBe(toHex(c.bytes));
    }, timeout);

    it('put of an address already present is a no-op (listed once, bytes unchanged)', async () => {
      const { store } = await setup();
      const c = randomChunk(500);
      await store.put(c);
      await store.put({ address: c.address, bytes: Uint8Array.from(c.bytes) });
      await store.putMany([c, c]);
      await Promise.all([store.put(c), store.put(c)]);
      expect(await collect(store.list())).toEqual([toHex(c.address)]);
      expect(toHex((await store.get(c.address))!)).toBe(toHex(c.bytes));
    }, timeout);

    it('stored bytes do not change when the caller reuses its buffer after put', async () => {
      const { store } = await setup();
      const c = randomChunk(256);
      const original = toHex(c.bytes);
      await store.put(c);
      c.bytes.fill(0);
      expect(toHex((await store.get(c.address))!)).toBe(original);
    }, timeout);

    it('a zero-length chunk round-trips', async () => {
      const { store } = await setup();
      const c = chunkOf(new Uint8Array(0));
      await store.put(c);
      expect(await store.has(c.address)).toBe(true);
      const got = await store.get(c.address);
      expect(got).toBeDefined();
      expect(got!.length).toBe(0);
    }, timeout);

    it('getMany and hasMany answer in the order asked, with absent entries in place', async () => {
      const { store } = await setup();
      const chunks = Array.from({ length: 20 }, (_, i) => randomChunk(50 + i * 37));
      await store.putMany(chunks.filter((_, i) => i % 3 !== 0));
      const ask = [...chunks].reverse();
      ask.push(chunks[4]!, chunks[4]!); // duplicates in a request
      const got = await store.getMany(ask.map((c) => c.address));
      const has = await store.hasMany(ask.map((c) => c.address));
      expect(got.length).toBe(ask.length);
      ask.forEach((c, i) => {
        const present = chunks.indexOf(c) % 3 !== 0;
        expect(has[i]).toBe(present);
        if (present) expect(toHex(got[i]!)).toBe(toHex(c.bytes));
        else expect(got[i]).toBeUndefined();
      });
      expect(await store.getMany([])).toEqual([]);
      expect(await store.hasMany([])).toEqual([]);
    }, timeout);

    it('list() yields every stored address exactly once', async () => {
      const { store } = await setup();
      const chunks = Array.from({ length: 300 }, (_, i) => randomChunk(1 + ((i * 97) % 5000)));
      await store.putMany(chunks.slice(0, 200));
      for (const c of chunks.slice(150)) await store.put(c); // overlaps the first batch
      const listed = await collect(store.list());
      expect(listed.length).toBe(chunks.length);
      expect(new Set(listed).size).toBe(listed.length);
      expect(new Set(listed)).toEqual(new Set(chunks.map((c) => toHex(c.address))));
    }, timeout);

    it(`holds a large (${largeBytes} byte) chunk`, async () => {
      const { store } = await setup();
      const big = randomChunk(largeBytes);
      const small = randomChunk(10);
      await store.putMany([small, big]);
      await store.flush();
      const got = await store.get(big.address);
      expect(got?.length).toBe(largeBytes);
      expect(toHex(sha256(got!))).toBe(toHex(big.address));
      expect(toHex((await store.get(small.address))!)).toBe(toHex(small.bytes));
    }, timeout);

    it(`stores and returns ${manyChunks} chunks`, async () => {
      const { store } = await setup();
      const chunks = Array.from({ length: manyChunks }, (_, i) => randomChunk(100 + ((i * 7919) % 6000)));
      for (let i = 0; i < chunks.length; i += 500) await store.putMany(chunks.slice(i, i + 500));
      await store.flush();
      const got = await store.getMany(chunks.map((c) => c.address));
      let mismatches = 0;
      got.forEach((g, i) => {
        if (g === undefined || toHex(g) !== toHex(chunks[i]!.bytes)) mismatches++;
      });
      expect(mismatches).toBe(0);
      expect((await store.hasMany(chunks.map((c) => c.address))).every(Boolean)).toBe(true);
      expect((await collect(store.list())).length).toBe(manyChunks);
    }, timeout);

    it('flush() succeeds on an empty store and after writes', async () => {
      const { store } = await setup();
      await store.flush();
      await store.put(randomChunk(10));
      await store.flush();
      await store.flush();
    }, timeout);

    it('after flush and close, a reopened store has every chunk (when the fixture can reopen)', async (ctx) => {
      const f = await setup();
      if (!f.reopen) ctx.skip();
      const chunks = Array.from({ length: 50 }, (_, i) => randomChunk(10 + i * 100));
      await f.store.putMany(chunks.slice(0, 25));
      await f.store.flush();
      for (const c of chunks.slice(25)) await f.store.put(c);
      await f.store.flush();
      await f.store.close();
      const again = await reopen(f);
      for (const c of chunks) expect(toHex((await again.get(c.address))!)).toBe(toHex(c.bytes));
      expect(new Set(await collect(again.list()))).toEqual(new Set(chunks.map((c) => toHex(c.address))));
      // And it keeps accepting writes.
      const more = randomChunk(77);
      await again.put(more);
      await again.flush();
      expect(await again.has(more.address)).toBe(true);
    }, timeout);

    it('after close(), every operation rejects with ECLOSED', async () => {
      const { store } = await setup();
      const c = randomChunk(10);
      await store.put(c);
      await store.close();
      await expectCode(() => store.get(c.address), 'ECLOSED');
      await expectCode(() => store.getMany([c.address]), 'ECLOSED');
      await expectCode(() => store.has(c.address), 'ECLOSED');
      await expectCode(() => store.hasMany([c.address]), 'ECLOSED');
      await expectCode(() => store.put(randomChunk(5)), 'ECLOSED');
      await expectCode(() => store.putMany([randomChunk(5)]), 'ECLOSED');
      await expectCode(() => store.flush(), 'ECLOSED');
      await expectCode(async () => {
        for await (const _ of store.list()) void _;
      }, 'ECLOSED');
    }, timeout);
  });
}

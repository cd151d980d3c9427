import { addressKey } from './local/pack-format.js';
import { ByteLru, type ByteLruStats } from './lru.js';
import type { Chunk, ChunkStore } from './chunk-store.js';

/** Options for {@link CachingStore}. */
export interface CachingStoreOptions {
  inner: ChunkStore;
  /** Byte budget of the cache (chunk bytes + a small per-entry overhead). */
  maxBytes: number;
  /** Forget cached chunks after this many ms (default: never; chunks are immutable, so a ttl only bounds staleness of memory use). */
  ttlMs?: number;
  /** Cache chunks as they are put, since freshly written tree nodes are usually read back soon (default true). */
  cacheOnPut?: boolean;
  /** Name for error messages (default: the inner store's name). */
  name?: string;
}

/** Bytes charged per cached chunk beyond its length (Map entry, key string, object headers). */
const ENTRY_OVERHEAD = 96;

/**
 * An in-memory, byte-bounded LRU of raw chunks in front of a slower store. Chunks are immutable,
 * so a cached chunk is never stale; absence is never cached (a chunk may arrive later). Every read
 * returns a fresh copy so a caller that mutates its result cannot poison the cache.
 *
 * @example
 * const store = new CachingStore({ inner: remote, maxBytes: 256 << 20 });
 * await store.get(address); // from `remote` the first time, from memory after
 */
export class CachingStore implements ChunkStore {
  readonly name: string;
  readonly inner: ChunkStore;
  readonly cache: ByteLru<string, Uint8Array>;
  private readonly cacheOnPut: boolean;

  constructor(options: CachingStoreOptions) {
    this.inner = options.inner;
    this.name = options.name ?? options.inner.name;
    this.cacheOnPut = options.cacheOnPut ?? true;
    this.cache = new ByteLru<string, Uint8Array>({
      maxBytes: options.maxBytes,
      ttlMs: options.ttlMs,
      sizeOf: (v) => v.byteLength + ENTRY_OVERHEAD,
    });
  }

  /** Hit/miss/eviction counters of the cache. */
  get stats(): ByteLruStats & { bytes: number; entries: number } {
    return { ...this.cache.stats, bytes: this.cache.bytes, entries: this.cache.size };
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    const key = addressKey(address);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit.slice();
    const bytes = await this.inner.get(address);
    if (bytes === undefined) return undefined;
    this.cache.set(key, bytes.slice());
    return bytes;
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(addresses.length);
    const missing: Uint8Array[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < addresses.length; i++) {
      const hit = this.cache.get(addressKey(addresses[i]!));
      if (hit !== undefined) out[i] = hit.slice();
      else {
        missing.push(addresses[i]!);
        missingAt.push(i);
      }
    }
    if (missing.length > 0) {
      const got = await this.inner.getMany(missing);
      for (let j = 0; j < got.length; j++) {
        const bytes = got[j];
        out[missingAt[j]!] = bytes;
        if (bytes !== undefined) this.cache.set(addressKey(missing[j]!), bytes.slice());
      }
    }
    return out;
  }

  async has(address: Uint8Array): Promise<boolean> {
    if (this.cache.has(addressKey(address))) return true;
    return this.inner.has(address);
  }

  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    const out = addresses.map((a) => this.cache.has(addressKey(a)));
    const missingAt: number[] = [];
    for (let i = 0; i < out.length; i++) if (!out[i]) missingAt.push(i);
    if (missingAt.length > 0) {
      const got = await this.inner.hasMany(missingAt.map((i) => addresses[i]!));
      for (let j = 0; j < got.length; j++) out[missingAt[j]!] = got[j]!;
    }
    return out;
  }

  async put(chunk: Chunk): Promise<void> {
    await this.inner.put(chunk);
    if (this.cacheOnPut) this.cache.set(addressKey(chunk.address), Uint8Array.from(chunk.bytes));
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    await this.inner.putMany(chunks);
    if (this.cacheOnPut) for (const c of chunks) this.cache.set(addressKey(c.address), Uint8Array.from(c.bytes));
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  list(): AsyncIterable<Uint8Array> {
    return this.inner.list();
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.inner.close();
  }
}

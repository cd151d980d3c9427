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

/**
 * A private copy as a plain Uint8Array. Not `.slice()`: on a Buffer (what file reads return) that is a
 * view, which would let a caller's writes reach the cache.
 */
function copyOf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Bytes charged per cached chunk beyond its length (Map entry, key string, object headers). */
const ENTRY_OVERHEAD = 96;

/** Copies are pooled in size classes of this many bytes (under 6 % rounding on 4 KiB tree nodes). */
const CLASS_BYTES = 256;
/** Copies larger than this are not pooled. */
const MAX_POOLED_BYTES = 64 * 1024;

/**
 * Backing memory of evicted copies, reused for the next copies into the cache. Each copy is otherwise
 * its own ArrayBuffer, and on write-heavy work (every node a mutation writes is cached on put, and as
 * many evicted) that allocation churn drives V8's external-memory GC cycles. Safe because the cache's
 * copies are never handed out: reads get copies of them.
 */
class CopyPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}

  /** A copy of `bytes`, in pooled memory when there is some of the right class. */
  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n === 0 || n > MAX_POOLED_BYTES) return copyOf(bytes);
    const cls = Math.ceil(n / CLASS_BYTES) * CLASS_BYTES;
    const spare = this.free.get(cls)?.pop();
    if (spare) this.bytes -= cls;
    const out = new Uint8Array(spare ?? new ArrayBuffer(cls), 0, n);
    out.set(bytes);
    return out;
  }

  /** Take back the memory of a copy from `copy` that nothing references any more. */
  recycle(copy: Uint8Array): void {
    const buf = copy.buffer;
    const cls = buf.byteLength;
    if (copy.byteOffset !== 0 || cls % CLASS_BYTES !== 0 || cls > MAX_POOLED_BYTES || this.bytes + cls > this.maxBytes) return;
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(buf as ArrayBuffer);
    this.bytes += cls;
  }

  clear(): void {
    this.free.clear();
    this.bytes = 0;
  }
}

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
  private readonly pool: CopyPool;

  constructor(options: CachingStoreOptions) {
    this.inner = options.inner;
    this.name = options.name ?? options.inner.name;
    this.cacheOnPut = options.cacheOnPut ?? true;
    // Steady state needs only what one set() evicts; a small cap keeps idle memory bounded.
    this.pool = new CopyPool(Math.min(options.maxBytes / 8, 4 << 20));
    this.cache = new ByteLru<string, Uint8Array>({
      maxBytes: options.maxBytes,
      ttlMs: options.ttlMs,
      // Charged what the copy occupies (its pooled size class), not just its length.
      sizeOf: (v) => v.buffer.byteLength + ENTRY_OVERHEAD,
      onEvict: (_key, v) => this.pool.recycle(v),
    });
  }

  /** Hit/miss/eviction counters of the cache. */
  get stats(): ByteLruStats & { bytes: number; entries: number } {
    return { ...this.cache.stats, bytes: this.cache.bytes, entries: this.cache.size };
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    const key = addressKey(address);
    const hit = this.cache.get(key);
    if (hit !== undefined) return copyOf(hit);
    const bytes = await this.inner.get(address);
    if (bytes === undefined) return undefined;
    this.cache.set(key, this.pool.copy(bytes));
    return bytes;
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(addresses.length);
    const missing: Uint8Array[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < addresses.length; i++) {
      const hit = this.cache.get(addressKey(addresses[i]!));
      if (hit !== undefined) out[i] = copyOf(hit);
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
        if (bytes !== undefined) this.cache.set(addressKey(missing[j]!), this.pool.copy(bytes));
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
    if (this.cacheOnPut) this.cache.set(addressKey(chunk.address), this.pool.copy(chunk.bytes));
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    await this.inner.putMany(chunks);
    if (this.cacheOnPut) for (const c of chunks) this.cache.set(addressKey(c.address), this.pool.copy(c.bytes));
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  list(): AsyncIterable<Uint8Array> {
    return this.inner.list();
  }

  async close(): Promise<void> {
    this.cache.clear();
    this.pool.clear();
    await this.inner.close();
  }
}

/**
 * Lazy read-through: the local store first; a chunk it lacks is fetched from the remote tiers (in
 * routing order, through the placement's failover) and cached in the local store, so a fresh
 * `git clone` can query a dataset without downloading all of it, and each chunk crosses the network
 * once.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';
import type { Placement } from './placement.js';

/** Options of {@link ReadThroughStore}. */
export interface ReadThroughOptions {
  /** The working local store (verified, canonical chunks). */
  local: ChunkStore;
  /** Remote tiers; undefined when none are configured (then this is the local store alone). */
  remote: Placement | undefined;
  /**
   * Where fetched chunks are cached. Returns the local store itself when it is open for writing, or
   * opens a writer on first use; undefined when no writer can be had now (another process holds the
   * store's writer lock) — the fetched bytes are then returned without being cached.
   */
  openCacheWriter?: () => Promise<ChunkStore | undefined>;
  name?: string;
}

/** What the read-through layer saw. */
export interface ReadThroughStats {
  /** Chunks asked for. */
  requested: number;
  /** Chunks the local store had. */
  localHits: number;
  /** Chunks fetched from the remote tiers. */
  remoteChunks: number;
  /** Bytes fetched from the remote tiers (canonical chunk bytes). */
  remoteBytes: number;
  /** getMany calls that went to the remote tiers. */
  remoteFetches: number;
  /** Chunks no store had. */
  absent: number;
  /** Fetched chunks written to the local store. */
  cached: number;
  /** Fetched chunks not cached because the local store's writer lock was held elsewhere or the write failed. */
  cacheSkipped: number;
}

/**
 * ChunkStore that reads local first and fetches misses from remote tiers, caching them locally.
 * Writes go to the local store only (pushing is a separate, explicit step).
 *
 * @example
 * const store = new ReadThroughStore({ local: stack.store, remote: placement, openCacheWriter: async () => stack.store });
 * await store.get(address); // local, else fetched from S3 / IPFS and kept in .git/prolly/store
 */
export class ReadThroughStore implements ChunkStore {
  readonly name: string;
  readonly remote: Placement | undefined;
  readonly stats: ReadThroughStats = { requested: 0, localHits: 0, remoteChunks: 0, remoteBytes: 0, remoteFetches: 0, absent: 0, cached: 0, cacheSkipped: 0 };
  private readonly local: ChunkStore;
  private readonly openCacheWriter: (() => Promise<ChunkStore | undefined>) | undefined;
  /** The cache writer once opened (reads then go through it: it sees its own unflushed records). */
  private writer: ChunkStore | undefined;
  private writerTried = false;
  private closed = false;

  constructor(opts: ReadThroughOptions) {
    this.local = opts.local;
    this.remote = opts.remote;
    this.openCacheWriter = opts.openCacheWriter;
    this.name = opts.name ?? (opts.remote ? `${opts.local.name} + ${opts.remote.name}` : opts.local.name);
  }

  private get reader(): ChunkStore {
    return this.writer ?? this.local;
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.getMany([address]))[0];
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.check();
    this.stats.requested += addresses.length;
    const out = await this.reader.getMany(addresses);
    const missing: number[] = [];
    for (let i = 0; i < out.length; i++) if (out[i] === undefined) missing.push(i);
    this.stats.localHits += addresses.length - missing.length;
    if (missing.length === 0 || !this.remote) {
      this.stats.absent += missing.length;
      return out;
    }
    this.stats.remoteFetches++;
    const fetched = await this.remote.getMany(missing.map((i) => addresses[i]!));
    const toCache: Chunk[] = [];
    missing.forEach((i, k) => {
      const bytes = fetched[k];
      if (bytes === undefined) {
        this.stats.absent++;
        return;
      }
      out[i] = bytes;
      this.stats.remoteChunks++;
      this.stats.remoteBytes += bytes.length;
      toCache.push({ address: addresses[i]!, bytes });
    });
    if (toCache.length > 0) await this.cache(toCache);
    return out;
  }

  async has(address: Uint8Array): Promise<boolean> {
    return (await this.hasMany([address]))[0]!;
  }

  /** True when the local store or a remote tier has the chunk. */
  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    this.check();
    const out = await this.reader.hasMany(addresses);
    const missing: number[] = [];
    for (let i = 0; i < out.length; i++) if (!out[i]) missing.push(i);
    if (missing.length === 0 || !this.remote) return out;
    const remote = await this.remote.hasMany(missing.map((i) => addresses[i]!));
    missing.forEach((i, k) => (out[i] = remote[k]!));
    return out;
  }

  put(chunk: Chunk): Promise<void> {
    this.check();
    return this.local.put(chunk);
  }

  putMany(chunks: readonly Chunk[]): Promise<void> {
    this.check();
    return this.local.putMany(chunks);
  }

  async flush(): Promise<void> {
    this.check();
    await this.local.flush();
    if (this.writer && this.writer !== this.local) await this.writer.flush();
  }

  /** Addresses in the local store (remote contents are listed per tier, not here). */
  list(): AsyncIterable<Uint8Array> {
    this.check();
    return this.local.list();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    if (this.writer && this.writer !== this.local) await attempt(() => this.writer!.close());
    await attempt(() => this.local.close());
    if (this.remote) await attempt(() => this.remote!.close());
    if (errors.length > 0) throw errors[0];
  }

  private async cache(chunks: Chunk[]): Promise<void> {
    if (!this.writerTried && this.openCacheWriter) {
      this.writerTried = true;
      try {
        this.writer = await this.openCacheWriter();
      } catch {
        this.writer = undefined;
      }
    }
    if (!this.writer) {
      this.stats.cacheSkipped += chunks.length;
      return;
    }
    try {
      await this.writer.putMany(chunks);
      this.stats.cached += chunks.length;
    } catch {
      // Caching is an optimisation: the bytes were verified and are returned all the same.
      this.stats.cacheSkipped += chunks.length;
    }
  }

  private check(): void {
    if (this.closed) throw new ProllyError(ErrorCodes.CLOSED, `${this.name} store is closed`, { store: this.name });
  }
}

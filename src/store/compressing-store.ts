import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { toHex } from '../util/bytes.js';
import type { Chunk, ChunkStore } from './chunk-store.js';
import { zstdBinding as loadZstd } from './zstd.js';

/** Stored-form header byte: the rest is the chunk's bytes unchanged. */
export const STORED_RAW = 0;
/** Stored-form header byte: the rest is one zstd frame holding the chunk's bytes. */
export const STORED_ZSTD = 1;

/** Options for {@link CompressingStore}. */
export interface CompressingStoreOptions {
  inner: ChunkStore;
  /**
   * zstd level 1..22 (default 3: fast, and most of the gain on tree nodes), or 0 to store every chunk
   * raw. Level 0 keeps the stored form (header byte + bytes), so a store can switch compression on or
   * off at any time and still read everything it holds.
   */
  level?: number;
  /** Chunks shorter than this are stored raw without trying (default 64: too small to win). */
  minBytes?: number;
  /** Compressions/decompressions in flight at once in putMany/getMany (default 64). */
  concurrency?: number;
  /** Name for error messages (default: the inner store's name). */
  name?: string;
}

/**
 * Stores chunks zstd-compressed. The stored form is one header byte (0 = raw, 1 = zstd) then the
 * payload; a chunk that does not shrink is stored raw, so the stored form is never more than one
 * byte longer than the chunk. Addresses are always of the uncompressed bytes: layers above (and
 * verification) never see the stored form. zstd runs on libuv's thread pool, so putMany and getMany
 * keep several chunks in flight.
 *
 * @example
 * const store = new CompressingStore({ inner: await LocalStore.open({ dir }), level: 3 });
 * await store.put({ address: sha256(bytes), bytes });
 */
export class CompressingStore implements ChunkStore {
  readonly name: string;
  readonly inner: ChunkStore;
  readonly level: number;
  private readonly minBytes: number;
  private readonly concurrency: number;
  /** Uncompressed bytes put, stored bytes written, and how many chunks were stored compressed. */
  readonly stats = { rawBytes: 0, storedBytes: 0, compressed: 0, storedRaw: 0 };

  constructor(options: CompressingStoreOptions) {
    const level = options.level ?? 3;
    if (!Number.isInteger(level) || level < 0 || level > 22) {
      throw invalidArgument(`zstd level must be an integer 0..22 (0 = store raw), got ${level}`, { level });
    }
    this.inner = options.inner;
    this.name = options.name ?? options.inner.name;
    this.level = level;
    this.minBytes = options.minBytes ?? 64;
    this.concurrency = Math.max(1, options.concurrency ?? 64);
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    const stored = await this.inner.get(address);
    return stored === undefined ? undefined : this.decode(address, stored);
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const stored = await this.inner.getMany(addresses);
    return mapLimit(stored, this.concurrency, (s, i) => (s === undefined ? undefined : this.decode(addresses[i]!, s)));
  }

  has(address: Uint8Array): Promise<boolean> {
    return this.inner.has(address);
  }

  hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    return this.inner.hasMany(addresses);
  }

  async put(chunk: Chunk): Promise<void> {
    await this.inner.put({ address: chunk.address, bytes: await this.encode(chunk.bytes) });
  }

  /**
   * Compresses in windows of up to 256 chunks / 1 MiB and hands each window down while the next is
   * being compressed: zstd runs on the thread pool, so the layers below (encryption, packing) work
   * on the main thread at the same time instead of after all compression is done.
   */
  async putMany(chunks: readonly Chunk[]): Promise<void> {
    const windows = splitWindows(chunks, WINDOW_CHUNKS, WINDOW_BYTES);
    const compress = (w: readonly Chunk[]) =>
      mapLimit(w, this.concurrency, async (c) => ({
        address: c.address,
        bytes: await this.encode(c.bytes),
      }));
    let next: Promise<Chunk[]> | undefined = windows.length > 0 ? compress(windows[0]!) : undefined;
    for (let k = 0; next; k++) {
      const encoded: Chunk[] = await next;
      next = k + 1 < windows.length ? compress(windows[k + 1]!) : undefined;
      // A failure below leaves the window being compressed unobserved: mark it handled.
      next?.catch(() => undefined);
      await this.inner.putMany(encoded);
    }
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  list(): AsyncIterable<Uint8Array> {
    return this.inner.list();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * The stored form of `bytes`: header byte + zstd frame, or header byte + raw bytes when
   * compression does not make it smaller.
   */
  async encode(bytes: Uint8Array): Promise<Uint8Array> {
    this.stats.rawBytes += bytes.length;
    if (this.level > 0 && bytes.length >= this.minBytes) {
      const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const packed = await loadZstd().compress(input, this.level);
      if (packed.length < bytes.length) {
        const out = new Uint8Array(1 + packed.length);
        out[0] = STORED_ZSTD;
        out.set(packed, 1);
        this.stats.compressed++;
        this.stats.storedBytes += out.length;
        return out;
      }
    }
    const out = new Uint8Array(1 + bytes.length);
    out[0] = STORED_RAW;
    out.set(bytes, 1);
    this.stats.storedRaw++;
    this.stats.storedBytes += out.length;
    return out;
  }

  /** The chunk bytes of a stored form; ECHUNKCORRUPT naming the chunk when it cannot be decoded. */
  async decode(address: Uint8Array, stored: Uint8Array): Promise<Uint8Array> {
    const header = stored[0];
    if (header === STORED_RAW) return stored.subarray(1);
    if (header === STORED_ZSTD) {
      const frame = Buffer.from(stored.buffer, stored.byteOffset + 1, stored.byteLength - 1);
      try {
        const out = await loadZstd().decompress(frame);
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (err) {
        throw this.corrupt(address, `its zstd data does not decompress (${(err as Error).message})`, err);
      }
    }
    throw this.corrupt(
      address,
      header === undefined ? 'its stored form is empty (no header byte)' : `unknown stored-form header byte ${header}`,
    );
  }

  private corrupt(address: Uint8Array, why: string, cause?: unknown): ProllyError {
    const hex = toHex(address);
    return new ProllyError(
      ErrorCodes.CHUNK_CORRUPT,
      `chunk ${hex} read from ${this.inner.name} is corrupt: ${why}`,
      { address: hex, store: this.inner.name },
      { cause },
    );
  }
}

const WINDOW_CHUNKS = 256;
const WINDOW_BYTES = 1024 * 1024;

/** `chunks` cut into consecutive runs of at most `maxChunks` chunks and about `maxBytes` bytes. */
function splitWindows(chunks: readonly Chunk[], maxChunks: number, maxBytes: number): Chunk[][] {
  const out: Chunk[][] = [];
  let cur: Chunk[] = [];
  let bytes = 0;
  for (const c of chunks) {
    if (cur.length > 0 && (cur.length >= maxChunks || bytes >= maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(c);
    bytes += c.bytes.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Map with at most `limit` promises in flight, preserving order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => R | Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Writing blobs: FastCDC splits the value into data chunks (stored as their raw bytes, so a data
 * chunk's address is also its IPFS raw-CID digest), and a small Merkle index over those chunks gives
 * the blob one root address (docs/FORMAT.md, "Blobs"). Streaming with bounded memory: a 200 MB value
 * never sits in memory whole unless the caller passes it that way.
 */
import { invalidArgument } from '../errors.js';
import type { Chunk, ChunkStore } from '../store/chunk-store.js';
import { sha256 } from '../util/hash.js';
import { BlobRef } from './blob-ref.js';
import { BlobIndexBuilder } from './index-builder.js';
import { cdcChunks, FastCdcChunker } from './fastcdc.js';

/** What `writeBlob` accepts: all bytes at once, an async iterable of pieces (Node streams are), or a web ReadableStream. */
export type BlobSource = Uint8Array | AsyncIterable<Uint8Array> | ReadableStreamLike;

/** The part of a WHATWG ReadableStream that `writeBlob` uses (browser or `node:stream/web`). */
export interface ReadableStreamLike {
  getReader(): {
    read(): Promise<{ done: boolean; value?: Uint8Array | undefined }>;
    releaseLock(): void;
  };
}

/** Options for writing a blob. */
export interface WriteBlobOptions {
  /** Chunks are handed to `store.putMany` in batches of about this many bytes (default 4 MiB). */
  batchBytes?: number;
}

const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
/** Large pieces are fed to the chunker in slices this big, so batches flush as the piece is read. */
const WRITE_SLICE_BYTES = 4 * 1024 * 1024;

/**
 * Store a value as a blob and return its reference. Identical chunks are stored once, within and
 * across blobs. Chunks go to `store.putMany` in batches; durability is the caller's `store.flush()`.
 * A `Uint8Array` source is chunked in place without an up-front copy.
 *
 * @example
 * const ref = await writeBlob(store, fs.createReadStream('big.parquet'));
 * ref.length // bytes; ref.address // root index node
 */
export async function writeBlob(store: ChunkStore, source: BlobSource, options: WriteBlobOptions = {}): Promise<BlobRef> {
  const writer = new BlobWriter(store, options);
  if (source instanceof Uint8Array) {
    await writer.writeCutChunks(cdcChunks(source));
  } else if (isReadableStream(source)) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await writer.write(checkPiece(value));
      }
    } finally {
      reader.releaseLock();
    }
  } else if (source != null && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    for await (const piece of source as AsyncIterable<Uint8Array>) await writer.write(checkPiece(piece));
  } else {
    throw invalidArgument(`writeBlob source must be a Uint8Array, an AsyncIterable<Uint8Array> or a ReadableStream, got ${describe(source)}`);
  }
  return writer.finish();
}

/**
 * Push-style blob writer, for callers that produce a value piece by piece.
 *
 * @example
 * const w = new BlobWriter(store);
 * for (const part of parts) await w.write(part);
 * const ref = await w.finish();
 */
export class BlobWriter {
  private readonly store: ChunkStore;
  private readonly batchBytes: number;
  private readonly chunker = new FastCdcChunker();
  private readonly index = new BlobIndexBuilder((node) => this.queue(node));
  private batch: Chunk[] = [];
  private batchSize = 0;
  private inflight: Promise<void> | undefined;
  private length = 0;
  private done = false;
  /** Set once writeCutChunks is used: the chunker is then bypassed and write() is refused. */
  private precut = false;

  constructor(store: ChunkStore, options: WriteBlobOptions = {}) {
    const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    if (!Number.isSafeInteger(batchBytes) || batchBytes < 1) throw invalidArgument(`batchBytes must be a positive integer, got ${batchBytes}`);
    this.store = store;
    this.batchBytes = batchBytes;
  }

  /** Append the next piece of the value. The piece is copied; the caller may reuse it at once. */
  async write(piece: Uint8Array): Promise<void> {
    this.checkOpen();
    if (this.precut) throw invalidArgument('BlobWriter.write cannot follow writeCutChunks()');
    for (let p = 0; p < piece.length; p += WRITE_SLICE_BYTES) {
      const slice = piece.subarray(p, Math.min(piece.length, p + WRITE_SLICE_BYTES));
      await this.addChunks(this.chunker.push(slice));
    }
  }

  /** Finish the value: store the last chunks and the index, and return the blob's reference. */
  async finish(): Promise<BlobRef> {
    this.checkOpen();
    await this.addChunks(this.chunker.finish());
    this.done = true;
    const root = this.index.finish();
    await this.flushBatch();
    await this.inflight;
    this.inflight = undefined;
    if (root.length !== this.length) throw new Error(`internal: blob index covers ${root.length} bytes, wrote ${this.length}`);
    return new BlobRef(root.address, this.length);
  }

  /**
   * @internal writeBlob's path for a whole Uint8Array: add chunks already cut by `cdcChunks`
   * (each is copied as it is taken). Not to be mixed with `write`.
   */
  async writeCutChunks(chunks: Iterable<Uint8Array>): Promise<void> {
    this.checkOpen();
    if (this.chunker.bytesIn > 0) throw invalidArgument('BlobWriter.writeCutChunks cannot follow write()');
    this.precut = true;
    // Exact-size private copies: a store or cache that keeps the bytes must neither see later
    // changes to the caller's buffer nor pin the whole value for one chunk. (FastCdcChunker's
    // chunks, used by write(), are such copies already.)
    await this.addChunks(mapIterable(chunks, (view) => view.slice()));
  }

  private async addChunks(chunks: Iterable<Uint8Array>): Promise<void> {
    for (const bytes of chunks) {
      const address = sha256(bytes);
      this.queue({ address, bytes });
      this.length += bytes.length;
      this.index.add({ address, length: bytes.length });
      if (this.batchSize >= this.batchBytes) await this.flushBatch();
    }
  }

  private queue(chunk: Chunk): void {
    this.batch.push(chunk);
    this.batchSize += chunk.bytes.length;
  }

  /** Hand the batch to the store, keeping at most one putMany in flight so chunking overlaps I/O. */
  private async flushBatch(): Promise<void> {
    if (this.inflight) await this.inflight;
    this.inflight = undefined;
    if (this.batch.length === 0) return;
    const chunks = this.batch;
    this.batch = [];
    this.batchSize = 0;
    let p: Promise<void>;
    try {
      p = this.store.putMany(chunks);
    } catch (e) {
      p = Promise.reject(e); // a store that throws synchronously fails the same way as one that rejects
    }
    // Surfaced by the next await of `inflight`; this only stops an abandoned writer crashing the process.
    p.catch(() => {});
    this.inflight = p;
  }

  private checkOpen(): void {
    if (this.done) throw invalidArgument('BlobWriter used after finish()');
  }
}

function* mapIterable<T, U>(items: Iterable<T>, fn: (item: T) => U): Generator<U> {
  for (const item of items) yield fn(item);
}

function isReadableStream(source: unknown): source is ReadableStreamLike {
  return typeof source === 'object' && source !== null && typeof (source as ReadableStreamLike).getReader === 'function';
}

function checkPiece(piece: unknown): Uint8Array {
  if (piece instanceof Uint8Array) return piece;
  throw invalidArgument(`writeBlob source yielded ${describe(piece)}, expected Uint8Array pieces`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

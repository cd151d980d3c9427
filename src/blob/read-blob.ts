/**
 * Reading blobs back: walk the blob's index (docs/FORMAT.md, "Blobs") and stream its data chunks,
 * fetching a few chunks ahead with `getMany` so a slow tier's latency overlaps the consumer's work.
 * Every length is checked against the index, so a wrong or truncated chunk never streams silently.
 * (Hash checks belong to the store's verification layer, which every read path goes through.)
 */
import { ErrorCodes, invalidArgument, ProllyError } from '../errors.js';
import type { ChunkStore } from '../store/chunk-store.js';
import { toHex } from '../util/bytes.js';
import type { BlobRef } from './blob-ref.js';
import { decodeBlobIndexNode, type BlobIndexNode } from './blob-index.js';

/** Options for streaming reads. */
export interface ReadBlobOptions {
  /** Data chunks asked for per `getMany`; one such batch is fetched ahead of the consumer (default 8). */
  prefetchChunks?: number;
}

const DEFAULT_PREFETCH = 8;

/**
 * Stream a blob's bytes in order, one data chunk (or the part of one in range) per iteration.
 * Throws ECHUNKMISSING naming the blob and chunk when the store lacks one.
 *
 * @example
 * for await (const bytes of readBlob(store, ref)) out.write(bytes);
 */
export function readBlob(store: ChunkStore, ref: BlobRef, options: ReadBlobOptions = {}): AsyncIterable<Uint8Array> {
  return readBlobSpan(store, ref, 0, ref.length, options);
}

/**
 * Stream bytes `[start, end)` of a blob. Only the index nodes and data chunks that overlap the range
 * are fetched, so a small range of a huge blob costs O(index depth + range / chunk size) reads.
 *
 * @example
 * const header = await collect(readBlobRange(store, ref, 0, 4096));
 */
export function readBlobRange(store: ChunkStore, ref: BlobRef, start: number, end: number, options: ReadBlobOptions = {}): AsyncIterable<Uint8Array> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > ref.length) {
    throw invalidArgument(`blob ${toHex(ref.address)}: range [${start}, ${end}) is not within [0, ${ref.length}]`, { blob: toHex(ref.address), start, end });
  }
  return readBlobSpan(store, ref, start, end, options);
}

/**
 * The whole blob in one Uint8Array (convenience for values that fit in memory).
 *
 * @example
 * const bytes = await readBlobBytes(store, ref); // bytes.length === ref.length
 */
export async function readBlobBytes(store: ChunkStore, ref: BlobRef): Promise<Uint8Array> {
  const out = new Uint8Array(ref.length);
  let o = 0;
  for await (const part of readBlob(store, ref)) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

/**
 * Every chunk address a blob needs, each once: the root index node first, then the rest of the index
 * depth-first with each node's children (data chunks included). Only index nodes are fetched, so it
 * also lists data chunks the store lacks — push, gc and verify use this.
 *
 * @example
 * for await (const address of blobChunkAddresses(store, ref)) live.add(toHex(address));
 */
export async function* blobChunkAddresses(store: ChunkStore, ref: BlobRef): AsyncIterable<Uint8Array> {
  const ctx = new BlobContext(store, ref);
  const seen = new Set<string>();
  const root = await ctx.root();
  seen.add(toHex(ref.address));
  yield ref.address;
  const stack: BlobIndexNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const fresh = node.entries.filter((e) => {
      const k = toHex(e.address);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    for (const e of fresh) yield e.address;
    if (node.level > 0 && fresh.length > 0) {
      const children = await ctx.indexNodes(fresh, node.level - 1);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }
}

/** A data chunk in a read plan: where it sits in the blob and how much of it is wanted. */
interface DataSpan {
  address: Uint8Array;
  length: number;
  /** Offset of the chunk's first byte in the blob. */
  offset: number;
}

async function* readBlobSpan(store: ChunkStore, ref: BlobRef, start: number, end: number, options: ReadBlobOptions): AsyncGenerator<Uint8Array> {
  const prefetch = options.prefetchChunks ?? DEFAULT_PREFETCH;
  if (!Number.isSafeInteger(prefetch) || prefetch < 1) throw invalidArgument(`prefetchChunks must be a positive integer, got ${prefetch}`);
  const ctx = new BlobContext(store, ref);
  // The root is read even for an empty range, so a bad reference fails the same way every time.
  const root = await ctx.root();
  if (start === end) return;
  const spans = dataSpans(ctx, root, 0, start, end)[Symbol.asyncIterator]();

  const nextBatch = async (): Promise<{ spans: DataSpan[]; bytes: (Uint8Array | undefined)[] } | undefined> => {
    const batch: DataSpan[] = [];
    while (batch.length < prefetch) {
      const r = await spans.next();
      if (r.done) break;
      batch.push(r.value);
    }
    if (batch.length === 0) return undefined;
    return { spans: batch, bytes: await store.getMany(batch.map((s) => s.address)) };
  };
  const ahead = (): Promise<Awaited<ReturnType<typeof nextBatch>>> => {
    const p = nextBatch();
    // Awaited below; this only keeps an abandoned read (consumer broke out) from crashing the process.
    p.catch(() => {});
    return p;
  };

  let pending = ahead();
  for (;;) {
    const batch = await pending;
    if (!batch) return;
    pending = ahead();
    for (let i = 0; i < batch.spans.length; i++) {
      const span = batch.spans[i]!;
      const bytes = batch.bytes[i];
      if (bytes === undefined) throw ctx.missing(span.address, 'data');
      if (bytes.length !== span.length) {
        throw new ProllyError(
          ErrorCodes.CHUNK_CORRUPT,
          `blob ${ctx.blobHex}: data chunk ${toHex(span.address)} has ${bytes.length} bytes, its index entry says ${span.length}`,
          { blob: ctx.blobHex, address: toHex(span.address), length: bytes.length, expected: span.length },
        );
      }
      const from = Math.max(start - span.offset, 0);
      const to = Math.min(end - span.offset, span.length);
      yield from === 0 && to === span.length ? bytes : bytes.subarray(from, to);
    }
  }
}

/** Data chunks of `node`'s subtree (which starts at blob offset `offset`) that overlap [start, end). */
async function* dataSpans(ctx: BlobContext, node: BlobIndexNode, offset: number, start: number, end: number): AsyncGenerator<DataSpan> {
  const wanted: DataSpan[] = [];
  let o = offset;
  for (const e of node.entries) {
    if (o >= end) break;
    if (o + e.length > start) wanted.push({ address: e.address, length: e.length, offset: o });
    o += e.length;
  }
  if (node.level === 0) {
    yield* wanted;
    return;
  }
  const children = await ctx.indexNodes(wanted, node.level - 1);
  for (let i = 0; i < wanted.length; i++) yield* dataSpans(ctx, children[i]!, wanted[i]!.offset, start, end);
}

/** Fetching and checking one blob's index nodes, with errors that name the blob. */
class BlobContext {
  readonly blobHex: string;
  constructor(
    readonly store: ChunkStore,
    readonly ref: BlobRef,
  ) {
    this.blobHex = toHex(ref.address);
  }

  async root(): Promise<BlobIndexNode> {
    const bytes = await this.store.get(this.ref.address);
    if (bytes === undefined) throw this.missing(this.ref.address, 'index');
    const node = this.decode(bytes, this.ref.address);
    if (node.totalLength !== this.ref.length) {
      throw this.bad(`root index node covers ${node.totalLength} bytes, the reference says ${this.ref.length}`, this.ref.address);
    }
    return node;
  }

  /** Fetch and check the index nodes named by `entries` (one getMany), which must be at `level`. */
  async indexNodes(entries: readonly { address: Uint8Array; length: number }[], level: number): Promise<BlobIndexNode[]> {
    const all = await this.store.getMany(entries.map((e) => e.address));
    return entries.map((e, i) => {
      const bytes = all[i];
      if (bytes === undefined) throw this.missing(e.address, 'index');
      const node = this.decode(bytes, e.address);
      if (node.level !== level) throw this.bad(`index node is at level ${node.level}, its parent expects level ${level}`, e.address);
      if (node.totalLength !== e.length) throw this.bad(`index node covers ${node.totalLength} bytes, its parent says ${e.length}`, e.address);
      return node;
    });
  }

  missing(address: Uint8Array, kind: 'index' | 'data'): ProllyError {
    const a = toHex(address);
    return new ProllyError(ErrorCodes.CHUNK_MISSING, `blob ${this.blobHex}: ${kind} chunk ${a} is missing from ${this.store.name}`, {
      blob: this.blobHex,
      address: a,
      kind,
      store: this.store.name,
    });
  }

  private decode(bytes: Uint8Array, address: Uint8Array): BlobIndexNode {
    try {
      return decodeBlobIndexNode(bytes, address);
    } catch (e) {
      if (e instanceof ProllyError) throw new ProllyError(e.code, `blob ${this.blobHex}: ${e.message}`, { ...e.data, blob: this.blobHex }, { cause: e });
      throw e;
    }
  }

  private bad(message: string, address: Uint8Array): ProllyError {
    const a = toHex(address);
    return new ProllyError(ErrorCodes.BAD_ENCODING, `blob ${this.blobHex}: ${message} (${a})`, { blob: this.blobHex, address: a });
  }
}

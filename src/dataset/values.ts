/**
 * Turning user values into tree values and back: values up to INLINE_VALUE_MAX bytes live inline in
 * leaf nodes, longer ones (or streams) become blobs (ARCHITECTURE.md decision 6). Reads give bytes
 * back either way, so callers never see the difference unless they ask for the raw TreeValue.
 */
import { BlobRef, INLINE_VALUE_MAX, type TreeValue } from '../blob/blob-ref.js';
import { readBlob, readBlobBytes } from '../blob/read-blob.js';
import { invalidArgument } from '../errors.js';
import type { ChunkStore } from '../store/chunk-store.js';
import { utf8 } from '../util/bytes.js';

/** A key as callers give it: UTF-8 text or bytes. */
export type KeyInput = string | Uint8Array;
/** A value as callers give it: UTF-8 text, bytes, or a stream of bytes (for large values). */
export type ValueInput = string | Uint8Array | AsyncIterable<Uint8Array>;

/**
 * Key bytes for a key input.
 * @example keyBytes('user/1') // Uint8Array of the UTF-8 bytes
 */
export function keyBytes(key: KeyInput): Uint8Array {
  if (typeof key === 'string') return utf8(key);
  if (key instanceof Uint8Array) return key;
  throw invalidArgument(`a key must be a string or a Uint8Array, got ${typeof key}`);
}

/** The blob writer, loaded on first use: its chunker tables cost every read-only command start-up time. */
async function blobWriter(): Promise<typeof import('../blob/write-blob.js').writeBlob> {
  return (await import('../blob/write-blob.js')).writeBlob;
}

/**
 * Store a value: inline when it fits, otherwise as a blob (streams are chunked without being held in
 * memory whole; a stream that turns out short is stored inline). Blob chunks are put into `store`;
 * durability is the caller's `flush()`.
 * @example const v = await toTreeValue(store, fs.createReadStream('big.bin'))
 */
export async function toTreeValue(store: ChunkStore, value: ValueInput): Promise<TreeValue> {
  if (typeof value === 'string') value = utf8(value);
  if (value instanceof Uint8Array) {
    if (value.length <= INLINE_VALUE_MAX) return value;
    return (await blobWriter())(store, value);
  }
  if (value == null || typeof (value as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function') {
    throw invalidArgument(`a value must be a string, a Uint8Array or an AsyncIterable<Uint8Array>, got ${typeof value}`);
  }
  // Buffer the head of the stream: most values are small, and a small value must be inline so the
  // same bytes always give the same tree whichever way they were passed.
  const head: Uint8Array[] = [];
  let headBytes = 0;
  const it = (value as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  for (;;) {
    const { done, value: piece } = await it.next();
    if (done) return Buffer.concat(head);
    head.push(piece);
    headBytes += piece.length;
    if (headBytes > INLINE_VALUE_MAX) break;
  }
  async function* rest(): AsyncIterable<Uint8Array> {
    yield* head;
    for (;;) {
      const { done, value: piece } = await it.next();
      if (done) return;
      yield piece;
    }
  }
  return (await blobWriter())(store, rest());
}

/**
 * The bytes of a tree value (reads a blob whole; use {@link valueStream} for very large ones).
 * @example const bytes = await readValue(store, treeValue)
 */
export async function readValue(store: ChunkStore, value: TreeValue): Promise<Uint8Array> {
  return value instanceof BlobRef ? readBlobBytes(store, value) : value;
}

/**
 * A tree value's bytes as a stream (blobs stream chunk by chunk).
 * @example for await (const part of valueStream(store, v)) process.stdout.write(part)
 */
export async function* valueStream(store: ChunkStore, value: TreeValue): AsyncIterable<Uint8Array> {
  if (value instanceof BlobRef) yield* readBlob(store, value);
  else yield value;
}

/**
 * Length in bytes of a tree value without reading a blob.
 * @example valueLength(await ds.getRaw('big')) // bytes, without reading a blob
 */
export function valueLength(value: TreeValue): number {
  return value.length;
}

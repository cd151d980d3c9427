/**
 * Blob index nodes: the small Merkle tree over a blob's data chunks (docs/FORMAT.md, "Blobs").
 *
 *   node   = 0x42 ('B')  level:u8  count:varint  entry*count       (nothing after the last entry)
 *   entry  = address:32 bytes  length:varint
 *
 * Level 0 entries name data chunks (length = chunk length); level L > 0 entries name index nodes of
 * level L-1 (length = bytes of blob under that node). The tag 0x42 can never start a tree node
 * (those start with the format version byte 0x01), so the two kinds of chunk cannot be confused.
 * Decoding is strict: every node has exactly one byte form.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { toHex } from '../util/bytes.js';
import { ADDRESS_BYTES } from '../util/hash.js';
import { readVarint, varintLength, writeVarint } from '../util/varint.js';
import { CDC_MAX_SIZE } from './fastcdc.js';

/** First byte of every blob index node. @example bytes[0] === BLOB_INDEX_TAG // an index node */
export const BLOB_INDEX_TAG = 0x42;
/** Most entries an index node may hold; the writer cuts a node when it reaches this many. @example node.entries.length <= BLOB_INDEX_MAX_ENTRIES */
export const BLOB_INDEX_MAX_ENTRIES = 256;
/** Highest level a decoder accepts (the writer's levels at least halve, so 2^53 bytes need < 40). @example node.level <= BLOB_INDEX_MAX_LEVEL */
export const BLOB_INDEX_MAX_LEVEL = 63;
/**
 * An entry ends its node when its address's first 4 bytes, read as a big-endian u32, are below this
 * (probability 1/64), provided the node already holds at least 2 entries.
 * @example readUInt32BE(address) < BLOB_INDEX_BOUNDARY_THRESHOLD // 0x04000000
 */
export const BLOB_INDEX_BOUNDARY_THRESHOLD = 2 ** 32 / 64;

/** One entry of an index node: a child chunk and the number of blob bytes it covers. */
export interface BlobIndexEntry {
  readonly address: Uint8Array;
  readonly length: number;
}

/** A decoded index node. */
export interface BlobIndexNode {
  readonly level: number;
  readonly entries: readonly BlobIndexEntry[];
  /** Sum of the entries' lengths: the bytes of blob this node covers. */
  readonly totalLength: number;
}

/**
 * True when `address` (of an entry just appended) ends its index node by content — subject to the
 * at-least-2-entries rule, which the caller applies.
 *
 * @example
 * isBlobIndexBoundary(address) // true for about 1 address in 64
 */
export function isBlobIndexBoundary(address: Uint8Array): boolean {
  const u32 = ((address[0]! << 24) | (address[1]! << 16) | (address[2]! << 8) | address[3]!) >>> 0;
  return u32 < BLOB_INDEX_BOUNDARY_THRESHOLD;
}

/**
 * Canonical bytes of an index node. Throws EINVAL for anything `decodeBlobIndexNode` would reject.
 *
 * @example
 * const bytes = encodeBlobIndexNode({ level: 0, entries: [{ address: chunkAddress, length: 70_000 }] });
 */
export function encodeBlobIndexNode(node: { level: number; entries: readonly BlobIndexEntry[] }): Uint8Array {
  const { level, entries } = node;
  if (!Number.isInteger(level) || level < 0 || level > BLOB_INDEX_MAX_LEVEL) throw badArg(`blob index level ${level} out of range 0..${BLOB_INDEX_MAX_LEVEL}`);
  if (entries.length > BLOB_INDEX_MAX_ENTRIES) throw badArg(`blob index node has ${entries.length} entries, max ${BLOB_INDEX_MAX_ENTRIES}`);
  if (entries.length === 0 && level !== 0) throw badArg(`blob index node at level ${level} has no entries`);
  let size = 2 + varintLength(entries.length);
  let total = 0;
  for (const e of entries) {
    if (e.address.length !== ADDRESS_BYTES) throw badArg(`blob index entry address must be ${ADDRESS_BYTES} bytes, got ${e.address.length}`);
    checkEntryLength(level, e.length, (m) => badArg(m));
    total += e.length;
    if (!Number.isSafeInteger(total)) throw badArg('blob index node covers more than 2^53-1 bytes');
    size += ADDRESS_BYTES + varintLength(e.length);
  }
  const out = new Uint8Array(size);
  out[0] = BLOB_INDEX_TAG;
  out[1] = level;
  let o = writeVarint(out, 2, entries.length);
  for (const e of entries) {
    out.set(e.address, o);
    o = writeVarint(out, o + ADDRESS_BYTES, e.length);
  }
  return out;
}

/**
 * Decode an index node strictly: wrong tag, level out of range, bad count, zero or oversized lengths,
 * truncation and trailing bytes all throw EBADENCODING. `address` only names the chunk in errors.
 *
 * @example
 * const node = decodeBlobIndexNode(bytes, address);
 * for (const { address, length } of node.entries) …
 */
export function decodeBlobIndexNode(bytes: Uint8Array, address?: Uint8Array): BlobIndexNode {
  const where = address ? `blob index node ${toHex(address)}` : 'blob index node';
  const fail = (msg: string): ProllyError =>
    new ProllyError(ErrorCodes.BAD_ENCODING, `${where}: ${msg}`, address ? { address: toHex(address) } : {});
  if (bytes.length < 3) throw fail(`too short (${bytes.length} bytes)`);
  if (bytes[0] !== BLOB_INDEX_TAG) throw fail(`first byte is 0x${bytes[0]!.toString(16).padStart(2, '0')}, expected 0x42`);
  const level = bytes[1]!;
  if (level > BLOB_INDEX_MAX_LEVEL) throw fail(`level ${level} exceeds ${BLOB_INDEX_MAX_LEVEL}`);
  let r;
  try {
    r = readVarint(bytes, 2);
  } catch (e) {
    throw fail(`entry count: ${(e as Error).message}`);
  }
  const count = r.value;
  if (count > BLOB_INDEX_MAX_ENTRIES) throw fail(`${count} entries, max ${BLOB_INDEX_MAX_ENTRIES}`);
  if (count === 0 && level !== 0) throw fail(`no entries at level ${level}`);
  let o = r.next;
  const entries: BlobIndexEntry[] = new Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (o + ADDRESS_BYTES > bytes.length) throw fail(`truncated in entry ${i}`);
    const entryAddress = bytes.slice(o, o + ADDRESS_BYTES);
    let len;
    try {
      len = readVarint(bytes, o + ADDRESS_BYTES);
    } catch (e) {
      throw fail(`entry ${i} length: ${(e as Error).message}`);
    }
    checkEntryLength(level, len.value, (m) => fail(`entry ${i}: ${m}`));
    total += len.value;
    if (!Number.isSafeInteger(total)) throw fail('covers more than 2^53-1 bytes');
    entries[i] = { address: entryAddress, length: len.value };
    o = len.next;
  }
  if (o !== bytes.length) throw fail(`${bytes.length - o} trailing bytes after the last entry`);
  return { level, entries, totalLength: total };
}

function checkEntryLength(level: number, length: number, error: (msg: string) => Error): void {
  if (!Number.isSafeInteger(length) || length < 1) throw error(`length ${length} must be a positive integer`);
  if (level === 0 && length > CDC_MAX_SIZE) throw error(`data chunk length ${length} exceeds ${CDC_MAX_SIZE}`);
}

function badArg(message: string): ProllyError {
  return new ProllyError(ErrorCodes.INVALID_ARGUMENT, message);
}

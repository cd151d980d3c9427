/**
 * The tree node model: canonical encoding and strict decoding (docs/FORMAT.md, "Tree nodes").
 *
 *   node    = version:u8(=1) level:u8 count:varint entry*count
 *   entry   = keyLen:varint key payload
 *   payload = leaf:     0x00 valueLen:varint value          (inline value, ≤ INLINE_VALUE_MAX bytes)
 *                     | 0x01 blobAddress:32 blobLength:varint (blob, length > INLINE_VALUE_MAX)
 *             internal: childAddress:32 subtreeCount:varint
 *
 * Keys are strictly increasing within a node. An internal entry's key is the LAST (greatest) key of its
 * child's subtree, so a lookup descends into the first child whose key is ≥ the key sought.
 */
import { BlobRef, INLINE_VALUE_MAX, type TreeValue } from '../blob/blob-ref.js';
import { ErrorCodes, ProllyError } from '../errors.js';
import { compareRange, toHex } from '../util/bytes.js';
import { ADDRESS_BYTES } from '../util/hash.js';
import { readVarint, varintLength, writeVarint } from '../util/varint.js';

/** Node format version byte. */
export const NODE_FORMAT_VERSION = 1;
/** Longest key accepted, in bytes. */
export const MAX_KEY_BYTES = 4096;
/** Upper bound on the encoded size of any node. */
export const MAX_NODE_BYTES = 16384;
/** Bytes a node header can take at most (version, level, count varint). */
export const MAX_HEADER_BYTES = 2 + 8;

export const VALUE_INLINE = 0;
export const VALUE_BLOB = 1;

/** Encoded size of the largest possible entry, leaf or internal. */
export const MAX_ENTRY_BYTES =
  varintLength(MAX_KEY_BYTES) + MAX_KEY_BYTES + Math.max(1 + varintLength(INLINE_VALUE_MAX) + INLINE_VALUE_MAX, ADDRESS_BYTES + 8);

/**
 * An internal entry's value: the child node's address and the number of leaf entries beneath it.
 * @example new ChildRef(node.address, node.totalCount)
 */
export class ChildRef {
  constructor(
    readonly address: Uint8Array,
    readonly count: number,
  ) {}
}

/** What an entry holds: a leaf value, or (internal nodes) a child reference. */
export type EntryValue = TreeValue | ChildRef;

/**
 * Throw EINVAL unless `value` has its one canonical leaf form: inline bytes up to INLINE_VALUE_MAX,
 * or a blob longer than that.
 */
export function checkLeafValue(value: TreeValue): void {
  if (value instanceof BlobRef) {
    if (value.length <= INLINE_VALUE_MAX) {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `a blob of ${value.length} bytes must be stored inline (limit ${INLINE_VALUE_MAX})`, { valueLength: value.length });
    }
  } else if (value.length > INLINE_VALUE_MAX) {
    throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `a value of ${value.length} bytes is over the ${INLINE_VALUE_MAX}-byte inline limit and must be written as a blob`, {
      valueLength: value.length,
    });
  }
}

/** Encoded length of an entry's payload (the bytes after the key). */
export function payloadLength(value: EntryValue): number {
  if (value instanceof ChildRef) return ADDRESS_BYTES + varintLength(value.count);
  if (value instanceof BlobRef) return 1 + ADDRESS_BYTES + varintLength(value.length);
  return 1 + varintLength(value.length) + value.length;
}

/**
 * Write an entry's payload at `buf[offset]` (no allocation: this runs once per entry on every build);
 * returns the offset after it. Leaf values must already have passed checkLeafValue.
 */
export function writePayload(buf: Uint8Array, offset: number, value: EntryValue): number {
  if (value instanceof ChildRef) {
    buf.set(value.address, offset);
    return writeVarint(buf, offset + ADDRESS_BYTES, value.count);
  }
  if (value instanceof BlobRef) {
    buf[offset] = VALUE_BLOB;
    buf.set(value.address, offset + 1);
    return writeVarint(buf, offset + 1 + ADDRESS_BYTES, value.length);
  }
  buf[offset] = VALUE_INLINE;
  const o = writeVarint(buf, offset + 1, value.length);
  buf.set(value, o);
  return o + value.length;
}

/**
 * Encode a leaf payload (the bytes after the key) for a value.
 * @example encodeLeafPayload(utf8('v')) // [0x00, 0x01, 0x76]
 */
export function encodeLeafPayload(value: TreeValue): Uint8Array {
  checkLeafValue(value);
  const out = new Uint8Array(payloadLength(value));
  writePayload(out, 0, value);
  return out;
}

/**
 * Encode an internal payload: child address and subtree entry count.
 * @example encodeInternalPayload(childAddress, 42)
 */
export function encodeInternalPayload(address: Uint8Array, count: number): Uint8Array {
  const ref = new ChildRef(address, count);
  const out = new Uint8Array(payloadLength(ref));
  writePayload(out, 0, ref);
  return out;
}

/** Decode a leaf payload back into the value it holds. */
export function decodeLeafPayload(p: Uint8Array): TreeValue {
  if (p[0] === VALUE_INLINE) {
    const { next } = readVarint(p, 1);
    return p.subarray(next);
  }
  const length = readVarint(p, 1 + ADDRESS_BYTES).value;
  return new BlobRef(p.slice(1, 1 + ADDRESS_BYTES), length);
}

/**
 * Big-endian 32-bit word of `b[at, at + 4)`, zero-padded past `end`. Two keys whose words after a
 * shared prefix differ are ordered as their words are (a zero pad sorts like "shorter first"); equal
 * words need the full comparison.
 */
function wordAt(b: Uint8Array, at: number, end: number): number {
  if (at + 4 <= end) return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  let w = 0;
  for (let j = 0; j < 4; j++) w = w * 256 + (at + j < end ? b[at + j]! : 0);
  return w;
}

/** Decode's scratch for entry offsets (grown as needed; decoding is synchronous, so one is enough). */
let scratch = new Uint32Array(3 * 256);

/** Search ranges at most this long are scanned in order rather than halved (fewer unpredictable branches). */
const SCAN_ENTRIES = 8;

/**
 * A decoded node: a view over its canonical bytes with per-entry offsets, so reads do no copying.
 * Instances are immutable and shared through the node cache.
 *
 * Lookups are the hot path of every read, and on a large cached tree they are bound by memory
 * latency, not arithmetic. So everything a search reads sits in one array (`meta`): the bytes all
 * keys share, then one 4-byte search word per entry (the key bytes after that shared prefix), then
 * each entry's key start, key end and entry end side by side. A lookup compares words — a few
 * adjacent cache lines — and touches key bytes only on a tie and for the final equality check.
 */
export class Node {
  /** The canonical bytes (a Buffer, for native comparisons). */
  readonly bytes: Buffer;
  readonly address: Uint8Array;
  readonly level: number;
  /** Number of entries. */
  readonly size: number;
  /** Entries in the whole subtree (leaf: size). */
  readonly totalCount: number;
  /**
   * [0, wordBase): the shared key prefix, big-endian, zero-padded; [wordBase, wordBase + n): search
   * words; then per entry i at entryBase + 3i: key start, key end (= payload start), entry end.
   */
  private readonly meta: Uint32Array;
  private readonly wordBase: number;
  private readonly entryBase: number;
  /** Length of the prefix every key of this node shares (that of the first and last key). */
  private readonly prefixLength: number;
  private readonly counts: Float64Array | undefined;
  private childHexes: (string | undefined)[] | undefined;
  private addressHexCache: string | undefined;
  /**
   * Bookkeeping of the NodeStore whose cache holds this node's children (see NodeStore.child); opaque
   * here. `childMemo[i]`: child i while cached; `memoRefs`: where this node is itself memoized (so
   * eviction can unlink it); `used`: read through a memo since the cache last looked.
   */
  childMemo: unknown[] | undefined;
  memoOwner: object | undefined;
  memoRefs: unknown[] | undefined;
  used: boolean;

  private constructor(bytes: Buffer, address: Uint8Array, level: number, size: number, meta: Uint32Array, prefixLength: number, counts: Float64Array | undefined, total: number) {
    this.bytes = bytes;
    this.address = address;
    this.level = level;
    this.size = size;
    this.meta = meta;
    this.prefixLength = prefixLength;
    this.wordBase = (prefixLength + 3) >>> 2;
    this.entryBase = this.wordBase + size;
    this.counts = counts;
    this.totalCount = total;
    this.childHexes = undefined;
    this.addressHexCache = undefined;
    this.childMemo = undefined;
    this.memoOwner = undefined;
    this.memoRefs = undefined;
    this.used = false;
  }

  /**
   * Decode and validate canonical node bytes. Throws EBADENCODING naming the chunk and the byte offset
   * of the first violation (bad version, truncation, unsorted keys, non-canonical value form…).
   * @example const node = Node.decode(bytes, address)
   */
  static decode(bytes: Uint8Array, address: Uint8Array): Node {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const fail = (what: string, offset: number): never => {
      throw new ProllyError(ErrorCodes.BAD_ENCODING, `chunk ${toHex(address)} is not a valid tree node: ${what} at byte ${offset}`, {
        address: toHex(address),
        offset,
      });
    };
    try {
      if (buf.length < 3) fail('too short', 0);
      if (buf[0] !== NODE_FORMAT_VERSION) fail(`unknown node format version ${buf[0]}`, 0);
      const level = buf[1]!;
      const { value: n, next } = readVarint(buf, 2);
      if (n === 0 && level !== 0) fail('internal node with no entries', 2);
      if (n > buf.length) fail('entry count exceeds node size', 2);
      if (scratch.length < 3 * n) scratch = new Uint32Array(3 * n);
      const e = scratch;
      const counts = level > 0 ? new Float64Array(n) : undefined;
      let total = level === 0 ? n : 0;
      let o = next;
      for (let i = 0; i < n; i++) {
        const kl = readVarint(buf, o);
        if (kl.value > MAX_KEY_BYTES) fail(`key of ${kl.value} bytes exceeds ${MAX_KEY_BYTES}`, o);
        const at = 3 * i;
        e[at] = kl.next;
        e[at + 1] = o = kl.next + kl.value;
        if (o > buf.length) fail('truncated key', kl.next);
        if (i > 0 && compareRange(buf, e[at - 3]!, e[at - 2]!, buf, e[at]!, e[at + 1]!) >= 0) fail('keys not strictly increasing', e[at]!);
        if (level === 0) {
          const tag = buf[o];
          if (tag === VALUE_INLINE) {
            const vl = readVarint(buf, o + 1);
            if (vl.value > INLINE_VALUE_MAX) fail(`inline value of ${vl.value} bytes exceeds ${INLINE_VALUE_MAX}`, o);
            o = vl.next + vl.value;
          } else if (tag === VALUE_BLOB) {
            if (o + 1 + ADDRESS_BYTES > buf.length) fail('truncated blob reference', o);
            const bl = readVarint(buf, o + 1 + ADDRESS_BYTES);
            if (bl.value <= INLINE_VALUE_MAX) fail(`blob of ${bl.value} bytes must be stored inline`, o);
            o = bl.next;
          } else {
            fail(`unknown value tag ${tag}`, o);
          }
        } else {
          if (o + ADDRESS_BYTES > buf.length) fail('truncated child address', o);
          const c = readVarint(buf, o + ADDRESS_BYTES);
          if (c.value === 0) fail('child subtree count is zero', o + ADDRESS_BYTES);
          counts![i] = c.value;
          total += c.value;
          o = c.next;
        }
        if (o > buf.length) fail('truncated entry', e[at]!);
        e[at + 2] = o;
      }
      if (o !== buf.length) fail(`${buf.length - o} trailing bytes`, o);
      // Keys are sorted, so the prefix the first and last share is shared by all.
      let p = 0;
      if (n > 0) {
        const last = 3 * (n - 1);
        const max = Math.min(e[1]! - e[0]!, e[last + 1]! - e[last]!);
        while (p < max && buf[e[0]! + p] === buf[e[last]! + p]) p++;
      }
      const wordBase = (p + 3) >>> 2;
      const meta = new Uint32Array(wordBase + 4 * n);
      for (let j = 0; j < wordBase; j++) meta[j] = wordAt(buf, e[0]! + 4 * j, e[0]! + p);
      for (let i = 0; i < n; i++) meta[wordBase + i] = wordAt(buf, e[3 * i]! + p, e[3 * i + 1]!);
      meta.set(e.subarray(0, 3 * n), wordBase + n);
      return new Node(buf, address, level, n, meta, p, counts, total);
    } catch (err) {
      if (err instanceof ProllyError && err.code === ErrorCodes.BAD_ENCODING && err.data.address === undefined) {
        fail(err.message, Number(err.data.offset ?? 0));
      }
      throw err;
    }
  }

  get isLeaf(): boolean {
    return this.level === 0;
  }

  /** Lower-case hex of this node's address (cached). */
  get addressHex(): string {
    return (this.addressHexCache ??= toHex(this.address));
  }

  /** Key i as a view into the node bytes. */
  key(i: number): Uint8Array {
    const at = this.entryBase + 3 * i;
    return this.bytes.subarray(this.meta[at]!, this.meta[at + 1]!);
  }

  /** The node's greatest key (its boundary key in the parent). */
  lastKey(): Uint8Array {
    return this.key(this.size - 1);
  }

  /** compare(key(i), k): negative when key i sorts before k. */
  compareKey(i: number, k: Uint8Array): number {
    const at = this.entryBase + 3 * i;
    return compareRange(this.bytes, this.meta[at]!, this.meta[at + 1]!, k, 0, k.length);
  }

  /** Index of the first entry whose key is ≥ k, or `size` when every key is smaller. */
  lowerBound(k: Uint8Array): number {
    const n = this.size;
    if (n === 0) return 0;
    const m = this.meta;
    const p = this.prefixLength;
    const kl = k.length;
    if (p > 0) {
      // Against the shared prefix first: k may sort before or after the whole node.
      const q = kl < p ? kl : p;
      for (let j = 0; j < q; j++) {
        const d = ((m[j >>> 2]! >>> (24 - 8 * (j & 3))) & 0xff) - k[j]!;
        if (d !== 0) return d > 0 ? 0 : n;
      }
      if (kl < p) return 0;
    }
    const w = wordAt(k, p, kl);
    const W = this.wordBase;
    const E = this.entryBase;
    const b = this.bytes;
    let lo = 0;
    let hi = n;
    while (hi - lo > SCAN_ENTRIES) {
      const mid = (lo + hi) >>> 1;
      const x = m[W + mid]!;
      if (x < w || (x === w && compareRange(b, m[E + 3 * mid]! + p, m[E + 3 * mid + 1]!, k, p, kl) < 0)) lo = mid + 1;
      else hi = mid;
    }
    for (; lo < hi; lo++) {
      const x = m[W + lo]!;
      if (x > w || (x === w && compareRange(b, m[E + 3 * lo]! + p, m[E + 3 * lo + 1]!, k, p, kl) >= 0)) return lo;
    }
    return lo;
  }

  /** Payload bytes of entry i (value tag + value, or child address + count). */
  payload(i: number): Uint8Array {
    const at = this.entryBase + 3 * i;
    return this.bytes.subarray(this.meta[at + 1]!, this.meta[at + 2]!);
  }

  /** Offset where entry i (its key length prefix) starts. */
  entryStart(i: number): number {
    const m = this.meta;
    const at = this.entryBase + 3 * i;
    return i === 0 ? m[at]! - varintLength(m[at + 1]! - m[at]!) : m[at - 1]!;
  }

  /** Offset where key i starts. */
  keyStartOf(i: number): number {
    return this.meta[this.entryBase + 3 * i]!;
  }

  /** Offset where key i ends and its payload starts. */
  keyEndOf(i: number): number {
    return this.meta[this.entryBase + 3 * i + 1]!;
  }

  /** Offset where entry i ends. */
  entryEndOf(i: number): number {
    return this.meta[this.entryBase + 3 * i + 2]!;
  }

  /**
   * Where leaf entry i's inline value bytes start (they end at the entry's end), or -1 when the
   * payload is not an inline value (a blob reference).
   */
  private inlineValueStart(i: number): number {
    const b = this.bytes;
    let o = this.meta[this.entryBase + 3 * i + 1]!;
    if (b[o] !== VALUE_INLINE) return -1;
    // Inline: tag, length varint, then the value up to the entry's end.
    o++;
    while (b[o++]! & 0x80);
    return o;
  }

  /** Leaf entry i's payload when it is not inline (a blob reference). */
  private referencedValue(i: number): TreeValue {
    const at = this.entryBase + 3 * i;
    return decodeLeafPayload(this.bytes.subarray(this.meta[at + 1]!, this.meta[at + 2]!));
  }

  /** Value of leaf entry i (an inline value is a view into the node bytes). */
  value(i: number): TreeValue {
    const o = this.inlineValueStart(i);
    return o < 0 ? this.referencedValue(i) : this.bytes.subarray(o, this.meta[this.entryBase + 3 * i + 2]!);
  }

  /**
   * Value of leaf entry i as the caller's own copy (a blob reference as is). Inline values go into a
   * Buffer from Node's small-allocation pool, copied straight from the node bytes.
   */
  valueCopy(i: number): TreeValue {
    let o = this.inlineValueStart(i);
    if (o < 0) return this.referencedValue(i);
    const b = this.bytes;
    const end = this.meta[this.entryBase + 3 * i + 2]!;
    const out = Buffer.allocUnsafe(end - o);
    for (let j = 0; o < end; j++, o++) out[j] = b[o]!;
    return out;
  }

  /** Child address of internal entry i, as a view. */
  childAddress(i: number): Uint8Array {
    const s = this.meta[this.entryBase + 3 * i + 1]!;
    return this.bytes.subarray(s, s + ADDRESS_BYTES);
  }

  /** Hex of child i's address, cached per node (the cache key of the node cache). */
  childHex(i: number): string {
    const hexes = (this.childHexes ??= new Array(this.size));
    return (hexes[i] ??= toHex(this.childAddress(i)));
  }

  /** True when child i of this node and child j of `other` have the same address. */
  sameChild(i: number, other: Node, j: number): boolean {
    const a = this.meta[this.entryBase + 3 * i + 1]!;
    const b = other.meta[other.entryBase + 3 * j + 1]!;
    return compareRange(this.bytes, a, a + ADDRESS_BYTES, other.bytes, b, b + ADDRESS_BYTES) === 0;
  }

  /** Entries in child i's subtree (internal nodes); 1 for leaf entries. */
  childCount(i: number): number {
    return this.counts ? this.counts[i]! : 1;
  }
}

/**
 * Encode a node from already-encoded entry bytes (each `keyLen key payload`, concatenated in key order).
 * `alloc` supplies the output array (default: a new one).
 * @example encodeNode(0, 2, entryBytes)
 */
export function encodeNode(level: number, count: number, entries: Uint8Array, alloc?: (length: number) => Uint8Array): Uint8Array {
  const length = 2 + varintLength(count) + entries.length;
  const out = alloc ? alloc(length) : new Uint8Array(length);
  out[0] = NODE_FORMAT_VERSION;
  out[1] = level;
  out.set(entries, writeVarint(out, 2, count));
  return out;
}

/** The bytes of the empty tree: a leaf with no entries. */
export const EMPTY_NODE_BYTES = encodeNode(0, 0, new Uint8Array(0));

/**
 * A strict decoder of tree nodes written from docs/FORMAT.md alone, for the proof verifier. It is
 * deliberately independent of src/tree/node.ts (which is Buffer-based and tuned for the engine): a
 * second reading of the format, pure and runnable in browsers, so a proof is checked against the
 * document rather than against the code that wrote it.
 *
 *   node    = version:u8(=1) level:u8 count:varint entry*count
 *   entry   = keyLen:varint key payload
 *   payload = leaf:     0x00 valueLen:varint value | 0x01 blobAddress:32 blobLength:varint
 *             internal: childAddress:32 subtreeCount:varint
 */
import type { ProofValue } from './types.js';

const NODE_FORMAT_VERSION = 1;
const MAX_KEY_BYTES = 4096;
const INLINE_VALUE_MAX = 1024;
const ADDRESS_BYTES = 32;

/** A decoded node; keys and values are views into the node's bytes. */
export interface DecodedNode {
  level: number;
  keys: Uint8Array[];
  /** Leaf nodes: one value per key. */
  values: ProofValue[];
  /** Internal nodes: child address per key. */
  children: Uint8Array[];
  /** Internal nodes: entries in each child's subtree. */
  counts: number[];
  /** Entries under this node: its own count (leaf) or the sum of `counts`. */
  total: number;
}

/** Thrown (and caught by the verifier) when bytes are not a canonical node. */
export class NodeDecodeError extends Error {
  readonly offset: number;
  constructor(what: string, offset: number) {
    super(`${what} at byte ${offset}`);
    this.offset = offset;
  }
}

/** Strict unsigned LEB128: at most 8 bytes, minimal form, ≤ 2^53 − 1. */
function readVarint(b: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (offset + i >= b.length) throw new NodeDecodeError('truncated varint', offset);
    const byte = b[offset + i]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new NodeDecodeError('non-minimal varint', offset);
      if (!Number.isSafeInteger(value)) throw new NodeDecodeError('varint exceeds 2^53-1', offset);
      return [value, offset + i + 1];
    }
    scale *= 128;
  }
  throw new NodeDecodeError('varint longer than 8 bytes', offset);
}

/**
 * Lexicographic comparison of byte strings (unsigned bytes, a proper prefix sorts first).
 * @example compareKeys(new Uint8Array([1]), new Uint8Array([1, 0])) // < 0
 */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Decode canonical node bytes, rejecting every non-canonical form (unknown version, non-minimal or
 * truncated varints, keys not strictly increasing, inline values over 1024 bytes, blobs of ≤ 1024
 * bytes, unknown value tags, zero subtree counts, internal nodes without entries, trailing bytes).
 * @example decodeNode(hexToBytes('010000')) // the empty leaf: { level: 0, keys: [], … }
 */
export function decodeNode(b: Uint8Array): DecodedNode {
  if (b.length < 3) throw new NodeDecodeError('too short', 0);
  if (b[0] !== NODE_FORMAT_VERSION) throw new NodeDecodeError(`unknown node format version ${b[0]}`, 0);
  const level = b[1]!;
  const [n, first] = readVarint(b, 2);
  if (n === 0 && level !== 0) throw new NodeDecodeError('internal node with no entries', 2);
  if (n > b.length) throw new NodeDecodeError('entry count exceeds node size', 2);
  const node: DecodedNode = { level, keys: [], values: [], children: [], counts: [], total: level === 0 ? n : 0 };
  let o = first;
  for (let i = 0; i < n; i++) {
    const entryStart = o;
    const [keyLen, keyStart] = readVarint(b, o);
    if (keyLen > MAX_KEY_BYTES) throw new NodeDecodeError(`key of ${keyLen} bytes exceeds ${MAX_KEY_BYTES}`, entryStart);
    o = keyStart + keyLen;
    if (o > b.length) throw new NodeDecodeError('truncated key', keyStart);
    const key = b.subarray(keyStart, o);
    if (i > 0 && compareKeys(node.keys[i - 1]!, key) >= 0) throw new NodeDecodeError('keys not strictly increasing', keyStart);
    node.keys.push(key);
    if (level === 0) {
      const tag = b[o];
      if (tag === 0) {
        const [len, start] = readVarint(b, o + 1);
        if (len > INLINE_VALUE_MAX) throw new NodeDecodeError(`inline value of ${len} bytes exceeds ${INLINE_VALUE_MAX}`, o);
        if (start + len > b.length) throw new NodeDecodeError('truncated value', start);
        node.values.push({ type: 'inline', bytes: b.subarray(start, start + len) });
        o = start + len;
      } else if (tag === 1) {
        if (o + 1 + ADDRESS_BYTES > b.length) throw new NodeDecodeError('truncated blob reference', o);
        const [length, next] = readVarint(b, o + 1 + ADDRESS_BYTES);
        if (length <= INLINE_VALUE_MAX) throw new NodeDecodeError(`blob of ${length} bytes must be stored inline`, o);
        node.values.push({ type: 'blob', address: b.subarray(o + 1, o + 1 + ADDRESS_BYTES), length });
        o = next;
      } else {
        throw new NodeDecodeError(`unknown value tag ${tag}`, o);
      }
    } else {
      if (o + ADDRESS_BYTES > b.length) throw new NodeDecodeError('truncated child address', o);
      const [count, next] = readVarint(b, o + ADDRESS_BYTES);
      if (count === 0) throw new NodeDecodeError('child subtree count is zero', o + ADDRESS_BYTES);
      node.children.push(b.subarray(o, o + ADDRESS_BYTES));
      node.counts.push(count);
      node.total += count;
      o = next;
    }
  }
  if (o !== b.length) throw new NodeDecodeError(`${b.length - o} trailing bytes`, o);
  return node;
}

/** Index of the first key ≥ k, or keys.length when every key is smaller. */
export function lowerBound(keys: readonly Uint8Array[], k: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, k) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const HEX_DIGITS = '0123456789abcdef';
const HEX_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUES[HEX_DIGITS.charCodeAt(i)] = i;

/**
 * Bytes of a lower-case hex string (the only form proofs use), or undefined when it is not one.
 * @example hexToBytes('01ff') // Uint8Array [1, 255]
 */
export function hexToBytes(hex: unknown): Uint8Array | undefined {
  if (typeof hex !== 'string' || hex.length % 2 !== 0) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hex.charCodeAt(2 * i);
    const lo = hex.charCodeAt(2 * i + 1);
    const h = hi < 128 ? HEX_VALUES[hi]! : -1;
    const l = lo < 128 ? HEX_VALUES[lo]! : -1;
    if (h < 0 || l < 0) return undefined;
    out[i] = (h << 4) | l;
  }
  return out;
}

/**
 * Lower-case hex of bytes.
 * @example bytesToHex(new Uint8Array([1, 255])) // '01ff'
 */
export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX_DIGITS[b[i]! >> 4]! + HEX_DIGITS[b[i]! & 15]!;
  return s;
}

/**
 * Node boundaries (docs/FORMAT.md, "Chunking"). Whether a node ends after an entry depends only on
 * that entry's key, the tree level and the bytes of the entries since the previous boundary — never on
 * values' contents, child hashes or insertion history. So the same entries always chunk the same way,
 * a same-size value update never moves a boundary, and after an edit the new boundaries line up with the
 * old ones again within about a node.
 *
 * The split probability follows the hazard of a Weibull(k = 4) distribution of node size, so sizes
 * cluster around the target instead of spreading geometrically. It is computed in integers plus one
 * IEEE-754 division, so every conforming implementation makes the same decisions.
 */
import { ChildRef, encodeNode, MAX_ENTRY_BYTES, MAX_HEADER_BYTES, MAX_NODE_BYTES, writePayload, type EntryValue, type Node } from './node.js';
import { xxhash32 } from './xxhash32.js';
import { ByteSlab } from './byte-slab.js';
import { sha256 } from '../util/hash.js';
import { varintLength, writeVarint } from '../util/varint.js';

/** No boundary before a node's entries reach this many bytes. */
export const MIN_NODE_BYTES = 512;
/** Weibull scale, in 4-byte units: median node ≈ 0.91 × 4 × 1122 ≈ 4 KiB of entries. */
export const WEIBULL_SCALE_UNITS = 1122;
const SCALE4 = WEIBULL_SCALE_UNITS ** 4;
const TWO32 = 4294967296;
/** A node always ends once its entries reach this size, so no node can exceed MAX_NODE_BYTES. */
export const FORCE_SPLIT_BYTES = MAX_NODE_BYTES - MAX_HEADER_BYTES - MAX_ENTRY_BYTES;

/**
 * The boundary rule. `size` is the entry bytes in the node including this entry, `prevSize` without it,
 * `count` the entries including it; the key is `bytes[keyStart, keyEnd)`.
 * @example isBoundary(0, 4000, 3880, 33, key, 0, key.length)
 */
export function isBoundary(level: number, size: number, prevSize: number, count: number, bytes: Uint8Array, keyStart: number, keyEnd: number): boolean {
  if (level > 0 && count < 2) return false;
  if (size < MIN_NODE_BYTES) return false;
  if (size >= FORCE_SPLIT_BYTES) return true;
  const u = size >>> 2;
  const u0 = prevSize >>> 2;
  const hazard = u * u * u * u - u0 * u0 * u0 * u0;
  const threshold = Math.floor((hazard * TWO32) / SCALE4);
  return xxhash32(bytes, keyStart, keyEnd, level) < threshold;
}

/**
 * Emitted node bytes come from shared slabs (see ByteSlab). They are written out and dropped; a node
 * read back before it reaches the chunk store is copied (NodeStore), so no cache pins a slab.
 */
const slab = new ByteSlab();
const allocNodeBytes = (n: number): Uint8Array => slab.alloc(n);

/** A node the chunker closed: its bytes and address, and what its parent entry needs. */
export interface ChunkedNode {
  readonly address: Uint8Array;
  readonly bytes: Uint8Array;
  readonly level: number;
  readonly lastKey: Uint8Array;
  /** Entries in the node's subtree. */
  readonly count: number;
}

/**
 * Accumulates one level's entries and closes nodes at boundaries.
 * @example
 * const c = new LevelChunker(0, (node) => nodes.push(node));
 * c.add(key, value); … c.finish();
 */
export class LevelChunker {
  readonly level: number;
  private readonly emit: (node: ChunkedNode) => void;
  private buf = new Uint8Array(MAX_NODE_BYTES);
  private size = 0;
  private n = 0;
  private subtreeCount = 0;
  private lastKeyStart = 0;
  private lastKeyEnd = 0;
  /** Nodes emitted so far. */
  emitted = 0;

  constructor(level: number, emit: (node: ChunkedNode) => void) {
    this.level = level;
    this.emit = emit;
  }

  /** Entries waiting for a boundary. */
  get pending(): number {
    return this.n;
  }

  /** Append one entry (a leaf value, or a child reference on internal levels); true when it closed a node. */
  add(key: Uint8Array, value: EntryValue): boolean {
    const prev = this.size;
    let o = writeVarint(this.buf, prev, key.length);
    this.lastKeyStart = o;
    this.buf.set(key, o);
    o += key.length;
    this.lastKeyEnd = o;
    this.size = writePayload(this.buf, o, value);
    this.n++;
    this.subtreeCount += value instanceof ChildRef ? value.count : 1;
    if (isBoundary(this.level, this.size, prev, this.n, this.buf, this.lastKeyStart, this.lastKeyEnd)) {
      this.close();
      return true;
    }
    return false;
  }

  /** Append entry i of an existing node, copying its encoded bytes as they are. */
  addFrom(node: Node, i: number): boolean {
    const start = node.entryStart(i);
    const keyStart = node.keyStartOf(i);
    const keyEnd = node.keyEndOf(i);
    const end = node.entryEndOf(i);
    const prev = this.size;
    this.buf.set(node.bytes.subarray(start, end), prev);
    this.size = prev + (end - start);
    this.lastKeyStart = prev + (keyStart - start);
    this.lastKeyEnd = prev + (keyEnd - start);
    this.n++;
    this.subtreeCount += node.childCount(i);
    if (isBoundary(this.level, this.size, prev, this.n, this.buf, this.lastKeyStart, this.lastKeyEnd)) {
      this.close();
      return true;
    }
    return false;
  }

  /**
   * Append entries [from, to) of an existing node — what a mutation carries over unchanged between
   * edits. Same boundaries as `addFrom` entry by entry (the rule reads the key where it lies in the
   * old node), but the bytes go over in one copy per output node instead of one per entry.
   */
  addRun(node: Node, from: number, to: number): void {
    const src = node.bytes;
    const level = this.level;
    let i = from;
    while (i < to) {
      const start = node.entryStart(i);
      const base = this.size - start; // output offset = source offset + base
      let size = this.size;
      let n = this.n;
      let count = this.subtreeCount;
      let closes = false;
      let keyStart = 0;
      let keyEnd = 0;
      let j = i;
      while (j < to) {
        keyStart = node.keyStartOf(j);
        keyEnd = node.keyEndOf(j);
        const prev = size;
        size = node.entryEndOf(j) + base;
        n++;
        count += node.childCount(j);
        j++;
        if (isBoundary(level, size, prev, n, src, keyStart, keyEnd)) {
          closes = true;
          break;
        }
      }
      this.buf.set(src.subarray(start, size - base), this.size);
      this.size = size;
      this.n = n;
      this.subtreeCount = count;
      this.lastKeyStart = keyStart + base;
      this.lastKeyEnd = keyEnd + base;
      if (closes) this.close();
      i = j;
    }
  }

  /** Close the last, partial node (end of data). */
  finish(): void {
    if (this.n > 0) this.close();
  }

  private close(): void {
    const bytes = encodeNode(this.level, this.n, this.buf.subarray(0, this.size), allocNodeBytes);
    const headerLen = 2 + varintLength(this.n);
    const lastKey = bytes.subarray(headerLen + this.lastKeyStart, headerLen + this.lastKeyEnd);
    this.emit({ address: sha256(bytes), bytes, level: this.level, lastKey, count: this.subtreeCount });
    this.emitted++;
    this.size = 0;
    this.n = 0;
    this.subtreeCount = 0;
  }
}

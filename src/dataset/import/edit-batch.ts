/**
 * A batch of import edits packed into large shared buffers. An import of a million rows would
 * otherwise allocate a separate byte array (and backing store) per key and per value and spend much
 * of its time in the garbage collector; here each row's key and value are written with one native
 * UTF-8 write each into an arena and handed to the tree as views, and the batch goes to the tree's
 * batched mutation in one sorted pass.
 */
import { INLINE_VALUE_MAX, type TreeValue } from '../../blob/blob-ref.js';
import type { NodeStore } from '../../tree/node-store.js';
import { compareBytes } from '../../util/bytes.js';
import { ProllyTree, type Edit } from '../../tree/prolly-tree.js';

const ARENA_BYTES = 8 * 1024 * 1024;

/**
 * Sorted-on-apply edits in arena buffers.
 * @example
 * const batch = new EditBatch();
 * if (!batch.addText('k', 'v')) batch.addValue(utf8('k'), await writeBlob(store, big));
 * root = await batch.apply(nodes, root);
 */
export class EditBatch {
  private edits: Edit[] = [];
  private arena: Buffer = Buffer.allocUnsafe(ARENA_BYTES);
  private pos = 0;
  /** Bytes of keys and payloads held (for batch sizing). */
  bytes = 0;

  get size(): number {
    return this.edits.length;
  }

  private reserve(n: number): void {
    if (this.pos + n > this.arena.length) {
      this.arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, n));
      this.pos = 0;
    }
  }

  /**
   * Add a put of text key → text value stored inline. Returns false (adding nothing) when the value
   * is too long to be inline: the caller stores it as a blob and uses {@link addValue}.
   */
  addText(key: string, value: string): boolean {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: a cheap bound before measuring exactly.
    if (value.length > INLINE_VALUE_MAX && Buffer.byteLength(value) > INLINE_VALUE_MAX) return false;
    this.reserve(key.length * 3 + value.length * 3);
    const keyLen = this.arena.write(key, this.pos);
    const keyView = this.arena.subarray(this.pos, this.pos + keyLen);
    this.pos += keyLen;
    const valueLen = this.arena.write(value, this.pos);
    if (valueLen > INLINE_VALUE_MAX) {
      this.pos -= keyLen;
      return false;
    }
    const valueView = this.arena.subarray(this.pos, this.pos + valueLen);
    this.pos += valueLen;
    this.addValue(keyView, valueView);
    return true;
  }

  /** Add a put of any tree value (e.g. a blob reference). */
  addValue(key: Uint8Array, value: TreeValue): void {
    this.edits.push({ key, value });
    this.bytes += key.length + (value instanceof Uint8Array ? value.length : 40) + 48;
  }

  /** Apply the batch to the tree at `root` (later edits of a key win) and empty it; returns the new root. */
  async apply(nodes: NodeStore, root: Uint8Array): Promise<Uint8Array> {
    if (this.edits.length === 0) return root;
    const edits = sortEdits(this.edits);
    this.edits = [];
    this.bytes = 0;
    this.arena = Buffer.allocUnsafe(ARENA_BYTES);
    this.pos = 0;
    // mutate sorts (cheaply, when the input is already in order); among equal keys the last wins.
    const tree = await (await ProllyTree.open(nodes, root)).mutate(edits);
    return tree.root;
  }
}

/**
 * Edits in key order. Sorting a million byte-array keys with a byte comparator costs seconds; here
 * each key's first 6 bytes become one exact integer (a double holds 48 bits), compared as numbers,
 * and only keys sharing those bytes are compared byte by byte. The tree's own sort then finds the
 * input already in order. Stable: among equal keys the later edit stays later (and wins).
 */
function sortEdits(edits: Edit[]): Edit[] {
  const n = edits.length;
  const prefix = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = edits[i]!.key;
    let v = 0;
    for (let j = 0; j < 6; j++) v = v * 256 + (j < k.length ? k[j]! : 0);
    prefix[i] = v;
  }
  const order = Array.from(edits.keys());
  order.sort((a, b) => prefix[a]! - prefix[b]! || compareBytes(edits[a]!.key, edits[b]!.key));
  return order.map((i) => edits[i]!);
}

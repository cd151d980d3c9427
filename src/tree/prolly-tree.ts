/**
 * ProllyTree: an immutable, content-addressed sorted map from byte keys to values. Every change
 * returns a new tree sharing unchanged nodes with the old one. This is the facade over the codec,
 * chunker, cursors, mutation, diff and merge modules in this folder.
 */
import { BlobRef, type TreeValue } from '../blob/blob-ref.js';
import { invalidArgument } from '../errors.js';
import { compareBytes } from '../util/bytes.js';
import { checkAscending, checkKey, TreeBuilder } from './build.js';
import { Cursor, childOf } from './cursor.js';
import { diff, type DiffEntry } from './diff.js';
import { mergeTrees, type MergeOptions, type MergeResult } from './merge.js';
import { applyEdits, type LevelEdit } from './mutate.js';
import { checkLeafValue, type Node } from './node.js';
import { EMPTY_ROOT, type NodeStore } from './node-store.js';

/** A put (value) or delete (null) of one key. */
export interface Edit {
  key: Uint8Array;
  value: TreeValue | null;
}

/** Bounds of a range scan. Lower and upper bounds combine with `prefix` (all must hold). */
export interface RangeOptions {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  /** Only keys starting with these bytes. */
  prefix?: Uint8Array;
  /** Largest key first. */
  reverse?: boolean;
  /** At most this many entries. */
  limit?: number;
}

export type Entry = [key: Uint8Array, value: TreeValue];

/**
 * Copy a view out of a cached node so callers can keep or mutate it safely. Buffer.from copies small
 * values into Node's shared allocation pool, which is several times cheaper than a new Uint8Array.
 */
function own(value: TreeValue): TreeValue {
  return value instanceof BlobRef ? value : Buffer.from(value);
}

/** Marker for "a node on the path is not in memory". */
const NOT_CACHED = Symbol('not cached');

/**
 * @example
 * const nodes = new NodeStore(new MemoryStore());
 * let tree = await ProllyTree.empty(nodes);
 * tree = await tree.mutate([{ key: utf8('a'), value: utf8('1') }]);
 * await tree.get(utf8('a')); // Uint8Array [49]
 */
export class ProllyTree {
  readonly nodes: NodeStore;
  /** The decoded root node. */
  readonly rootNode: Node;

  private constructor(nodes: NodeStore, root: Node) {
    this.nodes = nodes;
    this.rootNode = root;
  }

  /** Open the tree whose root is `root` (the empty tree when null/undefined). */
  static async open(nodes: NodeStore, root?: Uint8Array | null): Promise<ProllyTree> {
    if (!root) return ProllyTree.empty(nodes);
    return new ProllyTree(nodes, await nodes.get(root));
  }

  /** The empty tree. */
  static async empty(nodes: NodeStore): Promise<ProllyTree> {
    nodes.write(EMPTY_ROOT.address, EMPTY_ROOT.bytes);
    return new ProllyTree(nodes, await nodes.get(EMPTY_ROOT.address));
  }

  /**
   * Build from entries in strictly increasing key order (streaming; memory stays bounded).
   * @example await ProllyTree.fromSorted(nodes, [[utf8('a'), utf8('1')], [utf8('b'), utf8('2')]])
   */
  static async fromSorted(nodes: NodeStore, entries: Iterable<Entry> | AsyncIterable<Entry>): Promise<ProllyTree> {
    const builder = new TreeBuilder(nodes);
    let prev: Uint8Array | undefined;
    let n = 0;
    for await (const [key, value] of entries) {
      checkKey(key);
      checkAscending(prev, key);
      checkLeafValue(value);
      builder.add(key, value);
      prev = key;
      if ((++n & 4095) === 0) await builder.drain();
    }
    return new ProllyTree(nodes, await nodes.get(builder.finish()));
  }

  /** Address of the root node: the tree's identity. Equal content ⇔ equal root. */
  get root(): Uint8Array {
    return this.rootNode.address;
  }

  /** Number of levels (1 for a single leaf). */
  get height(): number {
    return this.rootNode.level + 1;
  }

  /** Number of entries, from subtree counts (no scan). */
  get count(): number {
    return this.rootNode.totalCount;
  }

  /** The value at `key`, or undefined. */
  get(key: Uint8Array): Promise<TreeValue | undefined> {
    // Warm path: walk cached nodes without awaiting (each await is a microtask turn), and hand back a
    // resolved promise rather than running an async function (half the cost of a warm get).
    let cached: TreeValue | undefined | typeof NOT_CACHED;
    try {
      cached = this.getCached(key);
    } catch (e) {
      return Promise.reject(e); // still an async API: errors reject, never throw
    }
    if (cached !== NOT_CACHED) return Promise.resolve(cached);
    return this.getLoading(key);
  }

  private async getLoading(key: Uint8Array): Promise<TreeValue | undefined> {
    let node = this.rootNode;
    while (node.level > 0) {
      const i = node.lowerBound(key);
      if (i === node.size) return undefined;
      node = await childOf(this.nodes, node, i);
    }
    const i = node.lowerBound(key);
    return i < node.size && node.compareKey(i, key) === 0 ? own(node.value(i)) : undefined;
  }

  private getCached(key: Uint8Array): TreeValue | undefined | typeof NOT_CACHED {
    let node: Node | undefined = this.rootNode;
    while (node.level > 0) {
      const i = node.lowerBound(key);
      if (i === node.size) return undefined;
      node = this.nodes.child(node, i);
      if (!node) return NOT_CACHED;
    }
    const i = node.lowerBound(key);
    return i < node.size && node.compareKey(i, key) === 0 ? node.valueCopy(i) : undefined;
  }

  /** True when `key` is present. */
  async has(key: Uint8Array): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  /**
   * Values of many keys, in the order asked. Descends level by level with one batched node fetch per
   * level, which matters on cold and remote stores.
   */
  async getMany(keys: readonly Uint8Array[]): Promise<(TreeValue | undefined)[]> {
    const out: (TreeValue | undefined)[] = new Array(keys.length).fill(undefined);
    const order = keys.map((_, i) => i).sort((a, b) => compareBytes(keys[a]!, keys[b]!));
    let groups: { node: Node; idx: number[] }[] = [{ node: this.rootNode, idx: order }];
    while (groups.length > 0 && groups[0]!.node.level > 0) {
      const next: { node: Node | undefined; child: Uint8Array; idx: number[] }[] = [];
      for (const { node, idx } of groups) {
        let last = -1;
        for (const k of idx) {
          const i = node.lowerBound(keys[k]!);
          if (i === node.size) continue;
          if (i !== last) {
            next.push({ node: undefined, child: node.childAddress(i), idx: [] });
            last = i;
          }
          next[next.length - 1]!.idx.push(k);
        }
      }
      const loaded = await this.nodes.getMany(next.map((g) => g.child));
      groups = next.map((g, j) => ({ node: loaded[j]!, idx: g.idx }));
    }
    for (const { node, idx } of groups) {
      for (const k of idx) {
        const i = node.lowerBound(keys[k]!);
        if (i < node.size && node.compareKey(i, keys[k]!) === 0) out[k] = own(node.value(i));
      }
    }
    return out;
  }

  /**
   * Entries in key order (or reverse) within the given bounds.
   * @example for await (const [k, v] of tree.range({ prefix: utf8('user/'), limit: 10 })) …
   */
  async *range(opts: RangeOptions = {}): AsyncGenerator<Entry> {
    const { prefix, reverse = false } = opts;
    const limit = opts.limit ?? Infinity;
    if (!(limit >= 0)) throw invalidArgument(`range limit must be a non-negative number, got ${opts.limit}`);
    if (limit === 0 || this.count === 0) return;
    const inBounds = (node: Node, i: number): -1 | 0 | 1 => {
      // -1: before the range, 0: inside, 1: past it (in the scan direction's terms, checked both ways)
      if (opts.gte && node.compareKey(i, opts.gte) < 0) return -1;
      if (opts.gt && node.compareKey(i, opts.gt) <= 0) return -1;
      if (opts.lte && node.compareKey(i, opts.lte) > 0) return 1;
      if (opts.lt && node.compareKey(i, opts.lt) >= 0) return 1;
      if (prefix) {
        const c = comparePrefix(node, i, prefix);
        if (c !== 0) return c;
      }
      return 0;
    };
    let cursor: Cursor;
    if (!reverse) {
      const start = maxKey(opts.gte ?? opts.gt, prefix);
      cursor = start ? await Cursor.seek(this.nodes, this.rootNode, start) : await Cursor.edge(this.nodes, this.rootNode, false);
      if (!cursor.valid) return;
    } else {
      const end = upperBound(opts, prefix);
      if (end) {
        cursor = await Cursor.seek(this.nodes, this.rootNode, end.key);
        if (!cursor.valid || cursor.node.compareKey(cursor.index, end.key) > 0 || (!end.inclusive && cursor.node.compareKey(cursor.index, end.key) === 0)) {
          if (!(await cursor.prev())) return;
        }
      } else cursor = await Cursor.edge(this.nodes, this.rootNode, true);
    }
    let n = 0;
    for (;;) {
      const node = cursor.node;
      const i = cursor.index;
      const where = inBounds(node, i);
      if (where === (reverse ? -1 : 1)) return;
      if (where === 0) {
        yield [new Uint8Array(node.key(i)), own(node.value(i))];
        if (++n >= limit) return;
      }
      if (!(reverse ? await cursor.prev() : await cursor.next())) return;
    }
  }

  /** The entry at position `index` in key order (0-based), using subtree counts. */
  async entryAt(index: number): Promise<Entry | undefined> {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return undefined;
    let node = this.rootNode;
    let rest = index;
    while (node.level > 0) {
      let i = 0;
      while (rest >= node.childCount(i)) rest -= node.childCount(i++);
      node = await childOf(this.nodes, node, i);
    }
    return [new Uint8Array(node.key(rest)), own(node.value(rest))];
  }

  /**
   * Apply puts and deletes in one pass; returns the new tree. Later edits of the same key win.
   * @example tree = await tree.mutate([{ key, value }, { key: old, value: null }])
   */
  async mutate(edits: Iterable<Edit>): Promise<ProllyTree> {
    const root = await applyEdits(this.nodes, this.root, sortEdits(edits));
    return new ProllyTree(this.nodes, await this.nodes.get(root));
  }

  /** Key-level differences from this tree to `other`, skipping shared subtrees. */
  diff(other: ProllyTree): AsyncGenerator<DiffEntry> {
    return diff(this.nodes, this.root, other.root);
  }

  /**
   * Three-way merge: this tree is "ours".
   * @example const { tree, conflicts } = await ours.merge({ base, theirs, resolve: 'theirs' })
   */
  async merge(opts: { base: ProllyTree; theirs: ProllyTree; resolve?: MergeOptions['resolve'] }): Promise<Omit<MergeResult, 'root'> & { tree: ProllyTree }> {
    const r = await mergeTrees(this.nodes, { base: opts.base.root, ours: this.root, theirs: opts.theirs.root, resolve: opts.resolve });
    return { tree: await ProllyTree.open(this.nodes, r.root), conflicts: r.conflicts, applied: r.applied };
  }
}

/** An edit with its key's first six bytes as a number, the sort's cheap first comparison. */
interface SortingEdit extends LevelEdit {
  readonly head: number;
}

/**
 * Validate edits and sort them by key, keeping only the last edit of each key (stable sort). Most
 * comparisons are decided by a number compare of the keys' first six bytes (zero-padded, which orders
 * like bytes with "shorter first"); only equal heads compare the bytes.
 * @example sortEdits([{ key: utf8('b'), value: null }, { key: utf8('a'), value: utf8('1') }]) // a, then b
 */
export function sortEdits(edits: Iterable<Edit>): LevelEdit[] {
  const list: SortingEdit[] = [];
  let sorted = true;
  for (const e of edits) {
    checkKey(e.key);
    if (e.value !== null) checkLeafValue(e.value);
    const k = e.key;
    let head = 0;
    for (let j = 0; j < 6; j++) head = head * 256 + (j < k.length ? k[j]! : 0);
    const edit: SortingEdit = { key: k, value: e.value, head };
    if (sorted && list.length > 0) {
      const prev = list[list.length - 1]!;
      if (prev.head > head || (prev.head === head && compareBytes(prev.key, k) > 0)) sorted = false;
    }
    list.push(edit);
  }
  if (!sorted) list.sort((a, b) => a.head - b.head || compareBytes(a.key, b.key));
  const unique: LevelEdit[] = [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    const next = list[i + 1];
    if (next !== undefined && next.head === e.head && compareBytes(e.key, next.key) === 0) continue;
    unique.push(e);
  }
  return unique;
}

/** compare(key i, prefix) on the prefix's length only: -1 below the prefix range, 1 above, 0 inside. */
function comparePrefix(node: Node, i: number, prefix: Uint8Array): -1 | 0 | 1 {
  const k = node.key(i);
  const n = Math.min(k.length, prefix.length);
  const c = Buffer.compare(k.subarray(0, n), prefix.subarray(0, n));
  if (c !== 0) return c < 0 ? -1 : 1;
  return k.length < prefix.length ? -1 : 0;
}

/** The smallest key greater than every key with this prefix, or undefined (prefix of all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = new Uint8Array(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** The tightest upper bound among lte (inclusive), lt and the prefix's end (exclusive). */
function upperBound(opts: RangeOptions, prefix: Uint8Array | undefined): { key: Uint8Array; inclusive: boolean } | undefined {
  let best: { key: Uint8Array; inclusive: boolean } | undefined;
  const consider = (key: Uint8Array | undefined, inclusive: boolean) => {
    if (!key) return;
    const c = best ? compareBytes(key, best.key) : -1;
    if (c < 0 || (c === 0 && !inclusive)) best = { key, inclusive };
  };
  consider(opts.lte, true);
  consider(opts.lt, false);
  consider(prefix ? prefixEnd(prefix) : undefined, false);
  return best;
}

function maxKey(a: Uint8Array | undefined, b: Uint8Array | undefined): Uint8Array | undefined {
  if (!a) return b;
  if (!b) return a;
  return compareBytes(a, b) >= 0 ? a : b;
}

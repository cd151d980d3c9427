/**
 * Structural diff (ARCHITECTURE decision 5): two walkers descend only where the trees differ. When
 * both stand on subtrees of the same level with the same address, the whole subtree is skipped
 * without being loaded, so the cost follows the size of the change, not of the dataset.
 */
import type { TreeValue } from '../blob/blob-ref.js';
import { childOf } from './cursor.js';
import { decodeLeafPayload, type Node } from './node.js';
import type { NodeStore } from './node-store.js';
import { equalBytes } from '../util/bytes.js';

/** One key-level difference between two trees (from → to). */
export type DiffEntry =
  | { type: 'added'; key: Uint8Array; to: TreeValue }
  | { type: 'removed'; key: Uint8Array; from: TreeValue }
  | { type: 'modified'; key: Uint8Array; from: TreeValue; to: TreeValue };

/** A raw difference: payload bytes rather than decoded values (used by merge). */
export interface RawDiff {
  key: Uint8Array;
  from: Uint8Array | undefined;
  to: Uint8Array | undefined;
}

/** Walks a tree in key order at varying depth: the current item is a child subtree or a leaf entry. */
class Walker {
  private readonly stack: { node: Node; index: number }[] = [];
  constructor(
    private readonly nodes: NodeStore,
    root: Node,
  ) {
    if (root.size > 0) this.stack.push({ node: root, index: 0 });
  }
  get done(): boolean {
    return this.stack.length === 0;
  }
  private get top(): { node: Node; index: number } {
    return this.stack[this.stack.length - 1]!;
  }
  /** Level of the current item's subtree, or -1 when it is a leaf entry. */
  get itemLevel(): number {
    return this.top.node.level - 1;
  }
  get node(): Node {
    return this.top.node;
  }
  get index(): number {
    return this.top.index;
  }
  async descend(): Promise<void> {
    const t = this.top;
    const child = await childOf(this.nodes, t.node, t.index);
    this.stack.push({ node: child, index: 0 });
  }
  advance(): void {
    for (;;) {
      const t = this.top;
      if (++t.index < t.node.size) return;
      this.stack.pop();
      if (this.stack.length === 0) return;
    }
  }
}

/**
 * Raw differences from tree `from` to tree `to`, in key order.
 * @example for await (const d of diffRaw(nodes, a, b)) …
 */
export async function* diffRaw(nodes: NodeStore, from: Uint8Array, to: Uint8Array): AsyncGenerator<RawDiff> {
  if (equalBytes(from, to)) return;
  const a = new Walker(nodes, await nodes.get(from));
  const b = new Walker(nodes, await nodes.get(to));
  while (!a.done || !b.done) {
    if (a.done) {
      if (b.itemLevel >= 0) await b.descend();
      else {
        yield { key: b.node.key(b.index), from: undefined, to: b.node.payload(b.index) };
        b.advance();
      }
      continue;
    }
    if (b.done) {
      if (a.itemLevel >= 0) await a.descend();
      else {
        yield { key: a.node.key(a.index), from: a.node.payload(a.index), to: undefined };
        a.advance();
      }
      continue;
    }
    const la = a.itemLevel;
    const lb = b.itemLevel;
    if (la >= 0 && la === lb) {
      if (a.node.sameChild(a.index, b.node, b.index)) {
        a.advance();
        b.advance();
      } else {
        await a.descend();
        await b.descend();
      }
      continue;
    }
    if (la > lb) {
      await a.descend();
      continue;
    }
    if (lb > la) {
      await b.descend();
      continue;
    }
    const c = a.node.compareKey(a.index, b.node.key(b.index));
    if (c < 0) {
      yield { key: a.node.key(a.index), from: a.node.payload(a.index), to: undefined };
      a.advance();
    } else if (c > 0) {
      yield { key: b.node.key(b.index), from: undefined, to: b.node.payload(b.index) };
      b.advance();
    } else {
      const pa = a.node.payload(a.index);
      const pb = b.node.payload(b.index);
      if (!equalBytes(pa, pb)) yield { key: a.node.key(a.index), from: pa, to: pb };
      a.advance();
      b.advance();
    }
  }
}

/**
 * Key-level differences from `from` to `to` with decoded values.
 * @example for await (const d of diff(nodes, oldRoot, newRoot)) console.log(d.type, d.key)
 */
export async function* diff(nodes: NodeStore, from: Uint8Array, to: Uint8Array): AsyncGenerator<DiffEntry> {
  for await (const d of diffRaw(nodes, from, to)) yield toDiffEntry(d);
}

/** Decode a raw difference. */
export function toDiffEntry(d: RawDiff): DiffEntry {
  if (d.from === undefined) return { type: 'added', key: d.key, to: decodeLeafPayload(d.to!) };
  if (d.to === undefined) return { type: 'removed', key: d.key, from: decodeLeafPayload(d.from) };
  return { type: 'modified', key: d.key, from: decodeLeafPayload(d.from), to: decodeLeafPayload(d.to) };
}

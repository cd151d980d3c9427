/**
 * Cursors over a tree: a path of (node, index) frames from the root down to some level. Used by
 * point reads, range scans, mutation (to find and walk the nodes of one level) and proofs.
 */
import { Node } from './node.js';
import type { NodeStore } from './node-store.js';

export interface Frame {
  node: Node;
  index: number;
}

/** Load child `i` of `node`, from the cache when possible. */
export function childOf(nodes: NodeStore, node: Node, i: number): Node | Promise<Node> {
  return nodes.child(node, i) ?? nodes.get(node.childAddress(i), node.childHex(i));
}

/**
 * A position in one level of the tree. `frames[0]` is the root; the last frame is a node at `level`,
 * and its index points at an entry of that node.
 */
export class Cursor {
  readonly nodes: NodeStore;
  readonly frames: Frame[];

  private constructor(nodes: NodeStore, frames: Frame[]) {
    this.nodes = nodes;
    this.frames = frames;
  }

  /**
   * Position at the first entry of `level` whose key is ≥ `key`. When every key is smaller, the cursor
   * stands on the last node of the level with index = its size (one past the end).
   */
  static async seek(nodes: NodeStore, root: Node, key: Uint8Array, level = 0): Promise<Cursor> {
    const frames: Frame[] = [];
    let node = root;
    for (;;) {
      let i = node.lowerBound(key);
      if (node.level === level) {
        frames.push({ node, index: i });
        return new Cursor(nodes, frames);
      }
      if (i === node.size) i = node.size - 1;
      frames.push({ node, index: i });
      const child = childOf(nodes, node, i);
      node = child instanceof Node ? child : await child; // no microtask turn for a cached node
    }
  }

  /** Position at the first (or, with `last`, the final) entry of `level`. */
  static async edge(nodes: NodeStore, root: Node, last: boolean, level = 0): Promise<Cursor> {
    const frames: Frame[] = [];
    let node = root;
    for (;;) {
      const i = last ? Math.max(0, node.size - 1) : 0;
      frames.push({ node, index: i });
      if (node.level === level || node.size === 0) return new Cursor(nodes, frames);
      const child = childOf(nodes, node, i);
      node = child instanceof Node ? child : await child;
    }
  }

  /** The node at the cursor's level. */
  get node(): Node {
    return this.frames[this.frames.length - 1]!.node;
  }

  get index(): number {
    return this.frames[this.frames.length - 1]!.index;
  }

  set index(i: number) {
    this.frames[this.frames.length - 1]!.index = i;
  }

  /** True when the cursor stands on an entry (not past either end). */
  get valid(): boolean {
    const i = this.index;
    return i >= 0 && i < this.node.size;
  }

  /** True when no node follows the current one on its level. */
  isLastNode(): boolean {
    for (let d = 0; d < this.frames.length - 1; d++) {
      const f = this.frames[d]!;
      if (f.index < f.node.size - 1) return false;
    }
    return true;
  }

  /** True when no node precedes the current one on its level. */
  isFirstNode(): boolean {
    for (let d = 0; d < this.frames.length - 1; d++) if (this.frames[d]!.index > 0) return false;
    return true;
  }

  /** Move to the first entry of the next node on this level; false at the end. */
  async nextNode(): Promise<boolean> {
    return this.stepNode(1);
  }

  /** Move to the last entry of the previous node on this level; false at the start. */
  async prevNode(): Promise<boolean> {
    return this.stepNode(-1);
  }

  private async stepNode(dir: 1 | -1): Promise<boolean> {
    const f = this.frames;
    let d = f.length - 2;
    while (d >= 0) {
      const fr = f[d]!;
      const ni = fr.index + dir;
      if (ni >= 0 && ni < fr.node.size) break;
      d--;
    }
    if (d < 0) return false;
    f[d]!.index += dir;
    for (let e = d + 1; e < f.length; e++) {
      const parent = f[e - 1]!;
      const loaded = childOf(this.nodes, parent.node, parent.index);
      const child = loaded instanceof Node ? loaded : await loaded;
      f[e] = { node: child, index: dir === 1 ? 0 : child.size - 1 };
    }
    return true;
  }

  /** Advance one entry, crossing into the next node as needed; false at the end. */
  async next(): Promise<boolean> {
    const top = this.frames[this.frames.length - 1]!;
    if (top.index + 1 < top.node.size) {
      top.index++;
      return true;
    }
    if (await this.nextNode()) return true;
    top.index = top.node.size;
    return false;
  }

  /** Step back one entry; false at the start. */
  async prev(): Promise<boolean> {
    const top = this.frames[this.frames.length - 1]!;
    if (top.index > 0) {
      top.index--;
      return true;
    }
    if (await this.prevNode()) return true;
    top.index = -1;
    return false;
  }
}

/**
 * The trusted baseline of an incremental verification: when `verify --from X` starts after commit X
 * (verified by an earlier run), a commit whose parent is X need only have its nodes that X's tree
 * lacks checked. They are found the way structural diff finds changes: two cursors walk X's tree and
 * the new tree in key order and skip every subtree whose address both have at the same place — those
 * subtree addresses are the baseline. Cost follows the change, not the dataset.
 */
import { childOf } from '../tree/cursor.js';
import type { Node } from '../tree/node.js';
import type { NodeStore } from '../tree/node-store.js';
import { equalBytes } from '../util/bytes.js';

/** A cursor over a tree at varying depth (the current item is a child subtree or a leaf entry). */
class Walker {
  private readonly stack: { node: Node; index: number }[] = [];
  constructor(
    private readonly nodes: NodeStore,
    root: Node,
    private readonly onLoad?: (node: Node) => void,
  ) {
    onLoad?.(root);
    if (root.size > 0) this.stack.push({ node: root, index: 0 });
  }
  get done(): boolean {
    return this.stack.length === 0;
  }
  private get top(): { node: Node; index: number } {
    return this.stack[this.stack.length - 1]!;
  }
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
    this.onLoad?.(child);
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
 * Addresses (hex) of nodes of `base` — the trusted tree — that `target` shares, found with diff-like
 * cost: every child of every `base` node the walk loads (those nodes are in `base`, so all their
 * children are too). Stops early (keeping what it found) when `base` cannot be read.
 * @example const trusted = await sharedSubtrees(nodes, parentRoot, commitRoot);
 */
export async function sharedSubtrees(nodes: NodeStore, base: Uint8Array, target: Uint8Array): Promise<Set<string>> {
  const out = new Set<string>();
  const remember = (node: Node) => {
    out.add(node.addressHex);
    if (node.level > 0) for (let i = 0; i < node.size; i++) out.add(node.childHex(i));
  };
  if (equalBytes(base, target)) {
    out.add(Buffer.from(base).toString('hex'));
    return out;
  }
  try {
    const a = new Walker(nodes, await nodes.get(base), remember);
    const b = new Walker(nodes, await nodes.get(target));
    while (!a.done && !b.done) {
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
      } else if (la > lb) {
        await a.descend();
      } else if (lb > la) {
        await b.descend();
      } else {
        const c = a.node.compareKey(a.index, b.node.key(b.index));
        if (c <= 0) a.advance();
        if (c >= 0) b.advance();
      }
    }
  } catch {
    // The baseline is an optimisation: what could not be read is simply verified in full.
  }
  return out;
}

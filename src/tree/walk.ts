/**
 * Visiting every node of a tree breadth-first, one getMany per level, optionally skipping subtrees
 * (e.g. those already verified or already on a remote) — the basis of push, verify, gc and stats.
 */
import type { Node } from './node.js';
import type { NodeStore } from './node-store.js';

export interface WalkOptions {
  /** Return true to skip a subtree (and not load it) — called with the child's address hex. */
  skip?: (addressHex: string) => boolean;
  /** Nodes fetched per getMany call (default 256). */
  batch?: number;
}

/**
 * Every node reachable from `root` (root first, then level by level), skipping as told.
 * @example for await (const node of walkTree(nodes, root)) bytes += node.bytes.length
 */
export async function* walkTree(nodes: NodeStore, root: Uint8Array, opts: WalkOptions = {}): AsyncGenerator<Node> {
  const batch = opts.batch ?? 256;
  const rootNode = await nodes.get(root);
  let level: Node[] = [rootNode];
  yield rootNode;
  while (level.length > 0 && level[0]!.level > 0) {
    const next: Node[] = [];
    const pending: Uint8Array[] = [];
    const seen = new Set<string>();
    const load = async () => {
      const got = await nodes.getMany(pending);
      pending.length = 0;
      return got;
    };
    for (const node of level) {
      for (let i = 0; i < node.size; i++) {
        const hex = node.childHex(i);
        if (seen.has(hex) || opts.skip?.(hex)) continue;
        seen.add(hex);
        pending.push(node.childAddress(i));
        if (pending.length >= batch) for (const n of await load()) next.push(n);
      }
    }
    if (pending.length > 0) for (const n of await load()) next.push(n);
    for (const n of next) yield n;
    level = next;
  }
}

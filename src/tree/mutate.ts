/**
 * Batched mutation (ARCHITECTURE decision 4). Edits are sorted, then applied level by level: at each
 * level, re-chunking starts at the first entry of the node containing an edit (nodes always start
 * right after a boundary, so the chunker state there is known to be empty) and stops as soon as a new
 * boundary lines up with the end of an old node. The replaced and new nodes become the edits of the
 * level above. An edit therefore rewrites about one node per level.
 */
import { compareBytes } from '../util/bytes.js';
import { TreeBuilder } from './build.js';
import { LevelChunker, type ChunkedNode } from './chunker.js';
import { Cursor, childOf } from './cursor.js';
import { ChildRef, type EntryValue, type Node } from './node.js';
import { EMPTY_ROOT, type NodeStore } from './node-store.js';

/** One edit at some level: put `value` at `key`, or delete `key` when value is null. */
export interface LevelEdit {
  readonly key: Uint8Array;
  /** A leaf value at level 0, a child reference above. */
  readonly value: EntryValue | null;
}

/**
 * Apply sorted, duplicate-free edits to the tree at `root`; returns the new root address.
 * @example const newRoot = await applyEdits(nodes, root, [{ key, value }])
 */
export async function applyEdits(nodes: NodeStore, root: Uint8Array, edits: readonly LevelEdit[]): Promise<Uint8Array> {
  const rootNode = await nodes.get(root);
  let levelEdits = edits;
  for (let level = 0; level <= rootNode.level; level++) {
    if (levelEdits.length === 0) return rootNode.address;
    const groups = await rechunkLevel(nodes, rootNode, level, levelEdits);
    if (level === rootNode.level) return groups.length === 0 ? rootNode.address : finishTop(nodes, groups[0]!.added, level);
    levelEdits = parentEdits(groups);
  }
  throw new Error('unreachable: edits walked past the root');
}

interface Replacement {
  removed: Node[];
  added: ChunkedNode[];
}

async function rechunkLevel(nodes: NodeStore, root: Node, level: number, edits: readonly LevelEdit[]): Promise<Replacement[]> {
  const groups: Replacement[] = [];
  let added: ChunkedNode[] = [];
  // One chunker for the level: it is always empty between groups (each group ends on a boundary).
  const chunker = new LevelChunker(level, (n) => {
    nodes.write(n.address, n.bytes);
    added.push(n);
  });
  let ei = 0;
  while (ei < edits.length) {
    const cursor = await Cursor.seek(nodes, root, edits[ei]!.key, level);
    added = [];
    const removed: Node[] = [];
    for (;;) {
      const node = cursor.node;
      removed.push(node);
      const isLast = cursor.isLastNode();
      const last = node.size - 1;
      let i = 0;
      for (;;) {
        const e = edits[ei];
        // Edits past this node's last key belong to the next node (unless this is the level's last).
        if (e === undefined || (!isLast && node.compareKey(last, e.key) < 0)) {
          chunker.addRun(node, i, node.size);
          break;
        }
        // Entries before the edit's key go over unchanged; an equal key is replaced or deleted.
        const j = Math.max(i, node.lowerBound(e.key));
        if (j > i) chunker.addRun(node, i, j);
        i = j < node.size && node.compareKey(j, e.key) === 0 ? j + 1 : j;
        if (e.value) chunker.add(e.key, e.value);
        ei++;
      }
      if (isLast) {
        chunker.finish();
        break;
      }
      // Boundaries line up again: everything after this old node is unchanged.
      if (chunker.pending === 0) break;
      await cursor.nextNode();
    }
    if (!sameNodes(removed, added)) groups.push({ removed, added });
    await nodes.drain();
  }
  return groups;
}

function sameNodes(removed: Node[], added: ChunkedNode[]): boolean {
  if (removed.length !== added.length) return false;
  for (let i = 0; i < removed.length; i++) if (compareBytes(removed[i]!.address, added[i]!.address) !== 0) return false;
  return true;
}

/** Turn one level's replacements into the sorted edits of the level above. */
function parentEdits(groups: readonly Replacement[]): LevelEdit[] {
  const out: LevelEdit[] = [];
  for (const { removed, added } of groups) {
    let r = 0;
    let a = 0;
    while (r < removed.length || a < added.length) {
      const rk = r < removed.length ? removed[r]!.lastKey() : undefined;
      const an = a < added.length ? added[a] : undefined;
      const c = rk === undefined ? 1 : an === undefined ? -1 : compareBytes(rk, an.lastKey);
      if (c < 0) {
        out.push({ key: rk!, value: null });
        r++;
      } else {
        if (c === 0) r++;
        out.push({ key: an!.lastKey, value: new ChildRef(an!.address, an!.count) });
        a++;
      }
    }
  }
  return out;
}

/** The rewritten top level: no nodes (empty tree), one (maybe collapse), or several (grow levels). */
async function finishTop(nodes: NodeStore, added: ChunkedNode[], level: number): Promise<Uint8Array> {
  if (added.length === 0) {
    nodes.write(EMPTY_ROOT.address, EMPTY_ROOT.bytes);
    return EMPTY_ROOT.address;
  }
  if (added.length === 1) {
    // A root with a single child is not a root: the tree is as tall as its first one-node level.
    let node = await nodes.get(added[0]!.address);
    while (node.level > 0 && node.size === 1) node = await childOf(nodes, node, 0);
    return node.address;
  }
  const builder = new TreeBuilder(nodes, level + 1);
  for (const n of added) builder.add(n.lastKey, new ChildRef(n.address, n.count));
  return builder.finish();
}

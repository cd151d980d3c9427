/**
 * Proof generation (docs/FORMAT.md, "Proofs"). A key proof is the lookup path of the key, root to
 * leaf, as canonical node bytes; a range proof is every node whose key interval meets the range. The
 * verifier (./verify.ts) recomputes the lookup from these bytes, so a proof carries no indices.
 */
import { BlobRef, type TreeValue } from '../blob/blob-ref.js';
import { invalidArgument } from '../errors.js';
import { compareBytes, toHex } from '../util/bytes.js';
import { childOf } from '../tree/cursor.js';
import type { Node } from '../tree/node.js';
import type { ProllyTree } from '../tree/prolly-tree.js';
import { PROOF_FORMAT, PROOF_VERSION, type KeyProof, type ProofEntryJson, type ProofValueJson, type RangeProof } from './types.js';

function valueJson(value: TreeValue): ProofValueJson {
  return value instanceof BlobRef ? { type: 'blob', address: toHex(value.address), length: value.length } : { type: 'inline', hex: toHex(value) };
}

/** Node bytes as base64 (Node.bytes is a Buffer: its native encoder is much faster than a JS loop). */
function nodeText(node: Node): string {
  return node.bytes.toString('base64');
}

/**
 * Prove that `key` is in `tree` (an inclusion proof, with its value) or that it is not (an absence
 * proof). Either way the proof is the path a lookup of `key` takes: root first, down to the leaf that
 * holds or would hold it — or only the root, when the key is above every key in the tree.
 *
 * @example
 * const proof = await proveKey(tree, utf8('user/42'));
 * proof.kind; // 'inclusion' | 'absence'
 * verifyProof(proof, { root: tree.root }).valid; // true
 */
export async function proveKey(tree: ProllyTree, key: Uint8Array): Promise<KeyProof> {
  const path: string[] = [];
  let node = tree.rootNode;
  for (;;) {
    path.push(nodeText(node));
    const i = node.lowerBound(key);
    if (node.level === 0) {
      const present = i < node.size && node.compareKey(i, key) === 0;
      return present ? keyProof(tree, key, path, valueJson(node.value(i))) : keyProof(tree, key, path);
    }
    // Every key in the tree is below `key`: the root alone proves it.
    if (i === node.size) return keyProof(tree, key, path);
    node = await childOf(tree.nodes, node, i);
  }
}

function keyProof(tree: ProllyTree, key: Uint8Array, path: string[], value?: ProofValueJson): KeyProof {
  const base = { format: PROOF_FORMAT, version: PROOF_VERSION, root: toHex(tree.root), key: toHex(key) } as const;
  return value ? { ...base, kind: 'inclusion', value, path, anchor: null } : { ...base, kind: 'absence', path, anchor: null };
}

/** Inclusive key bounds of a range proof; a missing bound means "from the first" / "to the last" key. */
export interface ProveRangeOptions {
  start?: Uint8Array | null;
  end?: Uint8Array | null;
}

/**
 * Prove the exact set of entries with start ≤ key ≤ end: the entries plus every node whose key
 * interval meets the range (depth-first, pre-order), which shows that no entry was left out.
 *
 * @example
 * const proof = await proveRange(tree, { start: utf8('user/'), end: utf8('user/\xff') });
 * proof.entries.length; // entries in the range
 * verifyRangeProof(proof, { root: tree.root }).valid; // true
 */
export async function proveRange(tree: ProllyTree, options: ProveRangeOptions = {}): Promise<RangeProof> {
  const start = options.start ?? null;
  const end = options.end ?? null;
  if (start && end && compareBytes(start, end) > 0) {
    throw invalidArgument(`range start ${toHex(start)} is above its end ${toHex(end)}`, { start: toHex(start), end: toHex(end) });
  }
  const nodes: string[] = [];
  const entries: ProofEntryJson[] = [];
  const visit = async (node: Node): Promise<void> => {
    nodes.push(nodeText(node));
    if (node.level === 0) {
      for (let i = start ? node.lowerBound(start) : 0; i < node.size && (!end || node.compareKey(i, end) <= 0); i++) {
        entries.push({ key: toHex(node.key(i)), value: valueJson(node.value(i)) });
      }
      return;
    }
    // Child i holds the keys in (key[i-1], key[i]]: it meets the range iff key[i] ≥ start and key[i-1] < end.
    const first = start ? node.lowerBound(start) : 0;
    const last = end ? Math.min(node.lowerBound(end), node.size - 1) : node.size - 1;
    for (let i = first; i <= last; i++) await visit(await childOf(tree.nodes, node, i));
  };
  await visit(tree.rootNode);
  return {
    format: PROOF_FORMAT,
    version: PROOF_VERSION,
    kind: 'range',
    root: toHex(tree.root),
    start: start ? toHex(start) : null,
    end: end ? toHex(end) : null,
    entries,
    nodes,
    anchor: null,
  };
}

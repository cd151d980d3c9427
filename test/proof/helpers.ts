/** Test helpers for proofs: tree builders, hand-made (malformed) trees, and proof tampering. */
import { BlobRef, type TreeValue } from '../../src/blob/blob-ref.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { ChildRef, encodeLeafPayload, encodeNode, payloadLength, writePayload } from '../../src/tree/node.js';
import { NodeStore } from '../../src/tree/node-store.js';
import { ProllyTree } from '../../src/tree/prolly-tree.js';
import type { KeyProof, Proof, ProofValueJson } from '../../src/proof/types.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { varintLength, writeVarint } from '../../src/util/varint.js';

export const newNodes = (): NodeStore => new NodeStore(new MemoryStore());

/** Zero-padded decimal key, so numeric order is key order. */
export const numKey = (i: number, width = 8): Uint8Array => utf8(`key-${String(i).padStart(width, '0')}`);

/** A deterministic 100-byte value for entry i. */
export function value100(i: number): Uint8Array {
  const v = new Uint8Array(100);
  let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < 100; j++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    v[j] = x >>> 24;
  }
  return v;
}

/** A tree of `n` entries key-00000000… with 100-byte values. */
export async function numberedTree(n: number, nodes = newNodes()): Promise<ProllyTree> {
  function* entries(): Generator<[Uint8Array, TreeValue]> {
    for (let i = 0; i < n; i++) yield [numKey(i), value100(i)];
  }
  return ProllyTree.fromSorted(nodes, entries());
}

/** The JSON form a proof carries for a tree value. */
export function valueJson(v: TreeValue): ProofValueJson {
  return v instanceof BlobRef ? { type: 'blob', address: toHex(v.address), length: v.length } : { type: 'inline', hex: toHex(v) };
}

/** A deep copy, so tampering never touches the original proof. */
export function clone<T extends Proof>(p: T): T {
  return JSON.parse(JSON.stringify(p)) as T;
}

/** Flip one bit of byte `offset` of hex string `hex`. */
export function flipHexByte(hex: string, offset: number): string {
  const b = fromHex(hex);
  b[offset]! ^= 0x01;
  return toHex(b);
}

/** The bytes of a base64 node string from a proof. */
export const nodeBytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

/** Base64 of bytes, as proofs carry nodes. */
export const toB64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** Flip one bit of byte `offset` of a base64 node string. */
export function flipNodeByte(b64: string, offset: number): string {
  const b = nodeBytes(b64);
  b[offset]! ^= 0x01;
  return toB64(b);
}

/** Replace the first occurrence of `from` in a base64 node's bytes by `to` (same length). */
export function replaceInNode(b64: string, from: Uint8Array, to: Uint8Array): string {
  const b = nodeBytes(b64);
  const at = Buffer.from(b).indexOf(Buffer.from(from));
  if (at < 0) throw new Error('bytes not found in node');
  b.set(to, at);
  return toB64(b);
}

function entryBytes(key: Uint8Array, payload: Uint8Array): Uint8Array {
  const len = new Uint8Array(varintLength(key.length));
  writeVarint(len, 0, key.length);
  return concatBytes([len, key, payload]);
}

function internalPayload(address: Uint8Array, count: number): Uint8Array {
  const ref = new ChildRef(address, count);
  const out = new Uint8Array(payloadLength(ref));
  writePayload(out, 0, ref);
  return out;
}

/** A hand-built chunk (no chunker rules applied), for malformed trees. */
export interface RawNode {
  address: Uint8Array;
  bytes: Uint8Array;
}

export function rawLeaf(entries: [string, string][]): RawNode {
  const bytes = encodeNode(0, entries.length, concatBytes(entries.map(([k, v]) => entryBytes(utf8(k), encodeLeafPayload(utf8(v))))));
  return { address: sha256(bytes), bytes };
}

export function rawInternal(level: number, children: [key: string, child: RawNode, count: number][]): RawNode {
  const bytes = encodeNode(level, children.length, concatBytes(children.map(([k, c, n]) => entryBytes(utf8(k), internalPayload(c.address, n)))));
  return { address: sha256(bytes), bytes };
}

/** Open a tree over hand-built nodes (the engine's reader accepts them; only the verifier checks bounds). */
export async function rawTree(root: RawNode, all: RawNode[]): Promise<ProllyTree> {
  const store = new MemoryStore();
  await store.putMany(all.map((n) => ({ address: n.address, bytes: n.bytes })));
  return ProllyTree.open(new NodeStore(store), root.address);
}

/**
 * Re-hash a key proof's path bottom-up after some of its nodes were edited: in each parent, the old
 * child address is replaced by the edited child's hash, so the chain is consistent again — and the
 * proof's own `root` field names the new top. Only a verifier given the real root can catch it.
 */
export function rechain(proof: KeyProof, original: KeyProof): void {
  for (let d = proof.path.length - 1; d > 0; d--) {
    const oldHex = toHex(sha256(nodeBytes(original.path[d]!)));
    const newHex = toHex(sha256(nodeBytes(proof.path[d]!)));
    const parent = toHex(nodeBytes(proof.path[d - 1]!));
    const at = findAligned(parent, oldHex);
    if (at < 0) throw new Error(`child address not found in node ${d - 1}`);
    proof.path[d - 1] = toB64(fromHex(parent.slice(0, at) + newHex + parent.slice(at + 64)));
  }
  proof.root = toHex(sha256(nodeBytes(proof.path[0]!)));
}

/** Index of `needle` in `hex` at an even (byte-aligned) offset, or -1. */
function findAligned(hex: string, needle: string): number {
  for (let at = hex.indexOf(needle); at >= 0; at = hex.indexOf(needle, at + 1)) if (at % 2 === 0) return at;
  return -1;
}

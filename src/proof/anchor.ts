/**
 * Checking a proof's `git-commit` anchor (docs/FORMAT.md, "Anchors"): the commit object hashes to the
 * commit id, its tree leads through `.prolly` and `.prolly/datasets` to the dataset's pointer file,
 * and that file names the proof's root. Pure (SHA-1 from @noble/hashes, no node:*), part of the
 * `git-prolly/verify` entry point. Git objects are SHA-1 objects (git's default object format).
 *
 * The signature is not checked here — that needs an allowed-signers policy and Ed25519: the result
 * hands back the armored signature and the exact bytes it covers, and `git prolly verify-proof
 * --allowed-signers` (src/sign) checks them.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { base64ToBytes } from './base64.js';
import { bytesToHex, hexToBytes } from './node-decoder.js';
import type { AnchorResult } from './types.js';

/** Thrown for a broken anchor; the verifier turns it into check "anchor" (or "format"). */
export class AnchorError extends Error {
  readonly check: 'anchor' | 'format';
  constructor(check: 'anchor' | 'format', message: string) {
    super(message);
    this.check = check;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

/**
 * A git object id: SHA-1 of `<type> <size>\0<content>`.
 * @example gitObjectId('blob', new TextEncoder().encode('hi\n')) // '45b983be…'
 */
export function gitObjectId(type: 'commit' | 'tree' | 'blob', content: Uint8Array): string {
  const header = enc.encode(`${type} ${content.length}\0`);
  const all = new Uint8Array(header.length + content.length);
  all.set(header);
  all.set(content, header.length);
  return bytesToHex(sha1(all));
}

/** The entry `name` of a git tree object: its mode and object id; undefined when absent. */
function treeEntry(tree: Uint8Array, name: string, what: string): { mode: string; oid: string } | undefined {
  let p = 0;
  while (p < tree.length) {
    const sp = tree.indexOf(0x20, p);
    const nul = sp < 0 ? -1 : tree.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > tree.length) throw new AnchorError('anchor', `${what} is not a well-formed git tree object`);
    const entryName = dec.decode(tree.subarray(sp + 1, nul));
    if (entryName === name) return { mode: dec.decode(tree.subarray(p, sp)), oid: bytesToHex(tree.subarray(nul + 1, nul + 21)) };
    p = nul + 21;
  }
  return undefined;
}

/**
 * Split a commit object like git does for `gpgsig`, byte for byte: the signature (the header's value
 * and its space-prefixed continuation lines), and the payload it covers (everything else).
 */
function splitSignature(commit: Uint8Array): { payload: Uint8Array; signature?: string } {
  const kept: Uint8Array[] = [];
  const sig: Uint8Array[] = [];
  let inSig = false;
  let line = 0;
  while (line < commit.length) {
    const nl = commit.indexOf(0x0a, line);
    let next = nl < 0 ? commit.length : nl + 1;
    const starts = (prefix: string) => prefix.split('').every((ch, i) => commit[line + i] === ch.charCodeAt(0));
    if (commit[line] === 0x0a) {
      // The blank line ends the headers: the message is kept whole.
      next = commit.length;
      kept.push(commit.subarray(line, next));
      inSig = false;
    } else if (starts('gpgsig ')) {
      inSig = true;
      sig.push(commit.subarray(line + 7, next));
    } else if (inSig && commit[line] === 0x20) {
      sig.push(commit.subarray(line + 1, next));
    } else {
      inSig = false;
      kept.push(commit.subarray(line, next));
    }
    line = next;
  }
  if (sig.length === 0) return { payload: commit };
  const join = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  return { payload: join(kept), signature: dec.decode(join(sig)) };
}

function decodeField(value: unknown, name: string): Uint8Array {
  const b = base64ToBytes(value);
  if (!b) throw new AnchorError('format', `anchor.${name} must be canonical base64`);
  return b;
}

/**
 * Check an anchor object and return what it proves. `trustedCommit`, when given, must be the
 * anchor's commit. Throws AnchorError naming the first broken link.
 * @example const a = verifyAnchor(proof.anchor, { root: proofRoot, trustedCommit: '3f2a…' }); a.signed
 */
export function verifyAnchor(anchor: unknown, options: { root: Uint8Array; trustedCommit?: string }): AnchorResult {
  if (typeof anchor !== 'object' || anchor === null || Array.isArray(anchor)) throw new AnchorError('format', 'anchor must be an object or null');
  const a = anchor as Record<string, unknown>;
  if (a.type !== 'git-commit') throw new AnchorError('format', `anchor type ${JSON.stringify(a.type)} is not "git-commit"`);
  if (typeof a.commit !== 'string' || !/^[0-9a-f]{40}$/.test(a.commit)) throw new AnchorError('format', 'anchor.commit must be 40 lower-case hex digits');
  if (typeof a.dataset !== 'string' || a.dataset === '' || /[/\0]/.test(a.dataset)) throw new AnchorError('format', 'anchor.dataset must be a dataset name');
  if (!Array.isArray(a.trees) || a.trees.length !== 3) throw new AnchorError('format', 'anchor.trees must hold 3 tree objects (root, .prolly, .prolly/datasets)');
  const commitBytes = decodeField(a.commitObject, 'commitObject');
  const trees = a.trees.map((t, i) => decodeField(t, `trees[${i}]`));
  const pointer = decodeField(a.pointer, 'pointer');

  const commitId = gitObjectId('commit', commitBytes);
  if (commitId !== a.commit) throw new AnchorError('anchor', `the anchor's commit object hashes to ${commitId}, not to anchor.commit ${a.commit}`);
  if (options.trustedCommit !== undefined && options.trustedCommit !== a.commit) {
    throw new AnchorError('anchor', `the proof is anchored to commit ${a.commit}, not to the trusted commit ${options.trustedCommit}`);
  }
  const text = dec.decode(commitBytes);
  const headerEnd = text.indexOf('\n\n');
  const headers = (headerEnd < 0 ? text : text.slice(0, headerEnd)).split('\n');
  const treeLine = /^tree ([0-9a-f]{40})$/.exec(headers[0] ?? '');
  if (!treeLine) throw new AnchorError('anchor', `commit ${a.commit} does not start with a "tree" header`);
  const committerLine = headers.find((h) => h.startsWith('committer '));

  // Follow root tree → .prolly → datasets → <dataset>, each object hashing to the id its parent names.
  const names = ['.prolly', 'datasets'];
  let expected = treeLine[1]!;
  let where = `the tree of commit ${a.commit.slice(0, 12)}`;
  for (let i = 0; i < 3; i++) {
    const id = gitObjectId('tree', trees[i]!);
    if (id !== expected) throw new AnchorError('anchor', `anchor.trees[${i}] hashes to ${id}, but ${where} is ${expected}`);
    const name = i < 2 ? names[i]! : a.dataset;
    const entry = treeEntry(trees[i]!, name, `anchor.trees[${i}]`);
    if (!entry) throw new AnchorError('anchor', `anchor.trees[${i}] has no entry "${name}"`);
    const isTree = entry.mode === '40000';
    if (i < 2 && !isTree) throw new AnchorError('anchor', `"${name}" in anchor.trees[${i}] is not a directory (mode ${entry.mode})`);
    if (i === 2 && entry.mode !== '100644' && entry.mode !== '100755') throw new AnchorError('anchor', `"${name}" in anchor.trees[2] is not a file (mode ${entry.mode})`);
    expected = entry.oid;
    where = `entry "${name}" of anchor.trees[${i}]`;
  }
  const pointerId = gitObjectId('blob', pointer);
  if (pointerId !== expected) throw new AnchorError('anchor', `anchor.pointer hashes to ${pointerId}, but ${where} is ${expected}`);

  const pointerText = dec.decode(pointer);
  const lines = pointerText.split('\n');
  if (lines[0] !== 'prolly-dataset 1') throw new AnchorError('anchor', `anchor.pointer is not a version-1 dataset pointer file`);
  const rootLine = lines.map((l) => /^root ([0-9a-f]{64})$/.exec(l)).find((m) => m);
  if (!rootLine) throw new AnchorError('anchor', 'anchor.pointer has no "root" line');
  const pointerRoot = hexToBytes(rootLine[1]!)!;
  if (bytesToHex(pointerRoot) !== bytesToHex(options.root)) {
    throw new AnchorError('anchor', `dataset ${a.dataset} at commit ${a.commit.slice(0, 12)} has root ${rootLine[1]}, not the proof's root ${bytesToHex(options.root)}`);
  }

  const { payload, signature } = splitSignature(commitBytes);
  const result: AnchorResult = { type: 'git-commit', commit: a.commit, dataset: a.dataset, tree: treeLine[1]!, root: pointerRoot, signed: signature !== undefined };
  if (signature !== undefined) {
    result.signature = signature;
    result.signedPayload = payload;
  }
  if (committerLine) {
    result.committer = committerLine.slice(10);
    const t = / (\d+) [+-]\d{4}$/.exec(committerLine);
    if (t) result.committedAt = Number(t[1]);
  }
  return result;
}

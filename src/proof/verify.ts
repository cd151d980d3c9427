/**
 * Proof verification (docs/FORMAT.md, "Proofs"). Pure: no I/O, no node:* modules, no Buffer — it runs
 * in browsers. Everything is recomputed from the node bytes the proof carries: the verifier hashes each
 * node, decodes it with its own strict decoder, and repeats the lookup itself (it never trusts an index
 * or a child choice from the prover), checking at every step that the child's keys lie in the interval
 * its parent entry implies. A bad proof yields `valid: false` with the failed check and the node index.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ErrorCodes, ProllyError } from '../errors.js';
import { AnchorError, verifyAnchor } from './anchor.js';
import { base64ToBytes } from './base64.js';
import { bytesToHex, compareKeys, decodeNode, hexToBytes, lowerBound, NodeDecodeError, type DecodedNode } from './node-decoder.js';
import {
  PROOF_FORMAT,
  PROOF_VERSION,
  type KeyProof,
  type KeyProofResult,
  type Proof,
  type ProofCheck,
  type ProofResult,
  type ProofValue,
  type RangeProof,
  type RangeProofResult,
  type VerifyOptions,
  type AnchorResult,
} from './types.js';

/** A failed check, thrown inside the verifier and turned into a `valid: false` result. */
class ProofFailure extends Error {
  readonly check: ProofCheck;
  readonly node: number | undefined;
  constructor(check: ProofCheck, reason: string, node?: number) {
    super(reason);
    this.check = check;
    this.node = node;
  }
}

function fail(check: ProofCheck, reason: string, node?: number): never {
  throw new ProofFailure(check, reason, node);
}

/** Hex for messages, shortened so a reason stays one readable line. */
function show(b: Uint8Array): string {
  const hex = bytesToHex(b);
  return hex.length > 64 ? `${hex.slice(0, 64)}…` : hex;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameValue(a: ProofValue, b: ProofValue): boolean {
  if (a.type === 'inline') return b.type === 'inline' && sameBytes(a.bytes, b.bytes);
  return b.type === 'blob' && a.length === b.length && sameBytes(a.address, b.address);
}

function describeValue(v: ProofValue): string {
  return v.type === 'inline' ? `inline ${v.bytes.length} bytes ${show(v.bytes)}` : `blob ${bytesToHex(v.address)} of ${v.length} bytes`;
}

/** What the caller trusts: a root, a commit, or both. Throws EINVAL when neither is usable. */
interface Trust {
  root: Uint8Array | undefined;
  commit: string | undefined;
}

function trustOf(options: VerifyOptions): Trust {
  const given = options?.root;
  const commit = options?.commit;
  if (commit !== undefined && (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit))) {
    throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'the trusted commit must be 40 lower-case hex digits', { commit: String(commit) });
  }
  if (given === undefined) {
    if (commit === undefined) {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'verifyProof needs something to trust: { root } (32 bytes or 64 lower-case hex digits) and/or { commit } (40 hex digits)');
    }
    return { root: undefined, commit };
  }
  const root = typeof given === 'string' ? hexToBytes(given) : given;
  if (!(root instanceof Uint8Array) || root.length !== 32) {
    throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'verifyProof needs the trusted root: 32 bytes or 64 lower-case hex digits', { root: String(given) });
  }
  return { root, commit };
}

function parseProof(input: unknown): Record<string, unknown> {
  let proof = input;
  if (typeof proof === 'string') {
    try {
      proof = JSON.parse(proof);
    } catch (e) {
      fail('format', `proof is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof proof !== 'object' || proof === null || Array.isArray(proof)) fail('format', 'proof is not a JSON object');
  const p = proof as Record<string, unknown>;
  if (p.format !== PROOF_FORMAT) fail('format', `proof format is ${JSON.stringify(p.format)}, expected "${PROOF_FORMAT}"`);
  if (p.version !== PROOF_VERSION) fail('format', `proof version ${JSON.stringify(p.version)} is not supported (this verifier reads version ${PROOF_VERSION})`);
  if (p.anchor !== undefined && p.anchor !== null && (typeof p.anchor !== 'object' || Array.isArray(p.anchor))) fail('format', 'anchor must be an object or null');
  return p;
}

/**
 * The root to verify the nodes against: the anchor (when present) must link to the proof's root —
 * and to the trusted commit, when one is given; a trusted root must equal the proof's root.
 */
function establishRoot(p: Record<string, unknown>, trust: Trust, result: { anchor?: AnchorResult }): Uint8Array {
  const claimed = hexField(p.root, 'root', 32);
  const hasAnchor = p.anchor !== undefined && p.anchor !== null;
  if (hasAnchor) {
    try {
      result.anchor = verifyAnchor(p.anchor, { root: claimed, ...(trust.commit !== undefined ? { trustedCommit: trust.commit } : {}) });
    } catch (e) {
      if (e instanceof AnchorError) fail(e.check, e.message);
      throw e;
    }
  } else if (trust.commit !== undefined) {
    fail('anchor', `the proof carries no anchor, so it cannot be checked against commit ${trust.commit}; verify it against a trusted root instead`);
  }
  if (trust.root) checkRoot(p, trust.root);
  return claimed;
}

function hexField(value: unknown, name: string, bytes?: number): Uint8Array {
  const b = hexToBytes(value);
  if (!b || (bytes !== undefined && b.length !== bytes)) {
    fail('format', `${name} must be ${bytes === undefined ? '' : `${bytes}-byte `}lower-case hex, got ${JSON.stringify(typeof value === 'string' && value.length > 80 ? value.slice(0, 80) + '…' : value)}`);
  }
  return b;
}

function checkRoot(p: Record<string, unknown>, root: Uint8Array): void {
  const claimed = hexField(p.root, 'root', 32);
  if (!sameBytes(claimed, root)) fail('root', `proof is for root ${bytesToHex(claimed)}, not the trusted root ${bytesToHex(root)}`);
}

function parseValue(v: unknown, name: string): ProofValue {
  if (typeof v !== 'object' || v === null) fail('format', `${name} must be an object`);
  const o = v as Record<string, unknown>;
  if (o.type === 'inline') return { type: 'inline', bytes: hexField(o.hex, `${name}.hex`) };
  if (o.type === 'blob') {
    if (!Number.isSafeInteger(o.length) || (o.length as number) < 0) fail('format', `${name}.length must be a non-negative integer`);
    return { type: 'blob', address: hexField(o.address, `${name}.address`, 32), length: o.length as number };
  }
  return fail('format', `${name}.type must be "inline" or "blob", got ${JSON.stringify(o.type)}`);
}

function parseNodes(v: unknown, name: string): Uint8Array[] {
  if (!Array.isArray(v) || v.length === 0) fail('format', `${name} must be a non-empty array of base64 node bytes`);
  return v.map((n, i) => {
    const b = base64ToBytes(n);
    if (!b) fail('format', `${name}[${i}] is not canonical base64`, i);
    return b;
  });
}

/** The parent-entry facts a child node must agree with. */
interface ChildExpectation {
  /** Index of the parent in the node list, and the parent entry's index. */
  parent: number;
  entry: number;
  level: number;
  /** Exclusive lower bound on the child's keys: the parent's previous key, inherited at entry 0. */
  lower: Uint8Array | undefined;
  /** The parent entry's key: the child's last key must equal it. */
  upper: Uint8Array;
  count: number;
}

/**
 * Hash, decode and bound-check node `index` against what its parent (or the trusted root) says.
 * Returns the decoded node.
 */
function checkNode(bytes: Uint8Array, index: number, address: Uint8Array, from: ChildExpectation | undefined): DecodedNode {
  const where = from ? `child ${from.entry} of node ${from.parent}` : 'the trusted root';
  if (!sameBytes(sha256(bytes), address)) fail('hash', `node ${index} does not hash to ${where} (${bytesToHex(address)})`, index);
  let node: DecodedNode;
  try {
    node = decodeNode(bytes);
  } catch (e) {
    if (e instanceof NodeDecodeError) fail('decode', `node ${index} is not a canonical node: ${e.message}`, index);
    throw e;
  }
  if (!from) return node;
  if (node.level !== from.level) fail('level', `node ${index} has level ${node.level}, but as ${where} it must have level ${from.level}`, index);
  const n = node.keys.length;
  if (n === 0 || compareKeys(node.keys[n - 1]!, from.upper) !== 0) {
    fail('bounds', `node ${index}'s last key ${n ? show(node.keys[n - 1]!) : '(none)'} is not ${show(from.upper)}, the key of entry ${from.entry} of node ${from.parent}`, index);
  }
  if (from.lower && compareKeys(node.keys[0]!, from.lower) <= 0) {
    fail('bounds', `node ${index}'s first key ${show(node.keys[0]!)} is not above ${show(from.lower)}, the bound its parent entry implies`, index);
  }
  if (node.total !== from.count) fail('count', `node ${index} holds ${node.total} entries, but entry ${from.entry} of node ${from.parent} records ${from.count}`, index);
  return node;
}

function expectChild(node: DecodedNode, index: number, i: number, lower: Uint8Array | undefined): ChildExpectation {
  return { parent: index, entry: i, level: node.level - 1, lower: i > 0 ? node.keys[i - 1] : lower, upper: node.keys[i]!, count: node.counts[i]! };
}

function verifyKeyProofOrThrow(p: Record<string, unknown>, trust: Trust, result: KeyProofResult): void {
  const key = hexField(p.key, 'key');
  result.key = key;
  const claimed = p.kind === 'inclusion' ? parseValue(p.value, 'value') : undefined;
  if (p.kind === 'absence' && p.value !== undefined) fail('format', 'an absence proof carries no value');
  const path = parseNodes(p.path, 'path');
  const root = establishRoot(p, trust, result);

  let address = root;
  let from: ChildExpectation | undefined;
  let lower: Uint8Array | undefined;
  for (let d = 0; ; d++) {
    const node = checkNode(path[d]!, d, address, from);
    const n = node.keys.length;
    const i = lowerBound(node.keys, key);
    // A leaf ends the lookup; so does an internal node whose keys are all below `key` — possible only at
    // the root, since every deeper node's last key equals its parent entry's key, which is ≥ `key`.
    const end = node.level === 0 || i === n;
    if (end) {
      if (d + 1 < path.length) fail('path', `the lookup ends at node ${d}, but the path has ${path.length - d - 1} more node(s)`, d + 1);
      const present = node.level === 0 && i < n && compareKeys(node.keys[i]!, key) === 0;
      if (claimed) {
        if (!present) fail('presence', `key ${show(key)} is not in the tree: ${i === n ? `it is above every key in node ${d}` : `leaf node ${d} has no such key`}`, d);
        const actual = node.values[i]!;
        if (!sameValue(claimed, actual)) fail('value', `the proof's value (${describeValue(claimed)}) differs from entry ${i} of leaf node ${d} (${describeValue(actual)})`, d);
        result.value = actual;
      } else if (present) {
        fail('presence', `key ${show(key)} is present (entry ${i} of leaf node ${d}), so it cannot be proven absent`, d);
      }
      return;
    }
    if (d + 1 >= path.length) fail('path', `the path ends at node ${d} (level ${node.level}), but the lookup continues into its child ${i}`, d);
    from = expectChild(node, d, i, lower);
    lower = from.lower;
    address = node.children[i]!;
  }
}

function verifyRangeProofOrThrow(p: Record<string, unknown>, trust: Trust, result: RangeProofResult): void {
  const start = p.start === null ? null : hexField(p.start, 'start');
  const end = p.end === null ? null : hexField(p.end, 'end');
  result.start = start;
  result.end = end;
  if (start && end && compareKeys(start, end) > 0) fail('format', `range start ${show(start)} is above its end ${show(end)}`);
  if (!Array.isArray(p.entries)) fail('format', 'entries must be an array');
  const claimed = (p.entries as unknown[]).map((e, j) => {
    if (typeof e !== 'object' || e === null) fail('format', `entries[${j}] must be an object`);
    const o = e as Record<string, unknown>;
    return { key: hexField(o.key, `entries[${j}].key`), value: parseValue(o.value, `entries[${j}].value`) };
  });
  const nodes = parseNodes(p.nodes, 'nodes');
  const root = establishRoot(p, trust, result);

  const found: { key: Uint8Array; value: ProofValue }[] = [];
  let next = 0;
  // Depth-first pre-order, the order the prover wrote: a node, then each included child in key order.
  const visit = (address: Uint8Array, from: ChildExpectation | undefined, lower: Uint8Array | undefined): void => {
    const index = next++;
    if (index >= nodes.length) {
      fail('path', `the node list ends after ${nodes.length} node(s), but child ${from!.entry} of node ${from!.parent} is in the range and must follow`, from!.parent);
    }
    const node = checkNode(nodes[index]!, index, address, from);
    const keys = node.keys;
    if (node.level === 0) {
      for (let i = start ? lowerBound(keys, start) : 0; i < keys.length && (!end || compareKeys(keys[i]!, end) <= 0); i++) {
        found.push({ key: keys[i]!, value: node.values[i]! });
      }
      return;
    }
    // Child i covers (key[i-1], key[i]]; it meets [start, end] iff key[i] ≥ start and key[i-1] < end.
    const first = start ? lowerBound(keys, start) : 0;
    const last = end ? Math.min(lowerBound(keys, end), keys.length - 1) : keys.length - 1;
    for (let i = first; i <= last; i++) {
      const child = expectChild(node, index, i, lower);
      visit(node.children[i]!, child, child.lower);
    }
  };
  visit(root, undefined, undefined);
  if (next < nodes.length) fail('path', `the range is covered by ${next} node(s), but the proof has ${nodes.length - next} more`, next);

  for (let j = 0; j < Math.max(found.length, claimed.length); j++) {
    const f = found[j];
    const c = claimed[j];
    if (!f || !c || compareKeys(f.key, c.key) !== 0) {
      // Both lists are sorted: the smaller key at the first difference is the one the other list lacks.
      const omitted = !c || (f !== undefined && compareKeys(f.key, c.key) < 0);
      const what = omitted ? `omits ${show(f!.key)}, which the leaves hold` : `adds ${show(c!.key)}, which the leaves do not hold`;
      fail('entries', `the leaves hold ${found.length} entries in the range, the proof lists ${claimed.length}: entry ${j} ${what}`);
    }
    if (!sameValue(f.value, c.value)) fail('value', `entry ${j} (key ${show(c.key)}): the proof's value (${describeValue(c.value)}) differs from the leaf's (${describeValue(f.value)})`);
  }
  result.entries = found;
}

function run<R extends { valid: boolean; reason?: string; check?: ProofCheck; node?: number }>(result: R, body: () => void): R {
  try {
    body();
    result.valid = true;
  } catch (e) {
    if (!(e instanceof ProofFailure)) throw e;
    result.valid = false;
    result.reason = e.message;
    result.check = e.check;
    if (e.node !== undefined) result.node = e.node;
  }
  return result;
}

/**
 * Verify a proof (an object, or its JSON text) against a trusted root, or a trusted commit id through
 * the proof's anchor (or both). Inclusion and absence proofs give `{ valid, kind, key, value?,
 * anchor? }`; range proofs are passed on to `verifyRangeProof`. Never throws for a bad proof — only
 * when `options` trusts nothing usable.
 *
 * @example
 * const r = verifyProof(proof, { root: '5f1c…' });  // or { commit: '9a3e…' } for an anchored proof
 * if (!r.valid) console.error(`${r.check}: ${r.reason}`);
 * else if (r.kind === 'inclusion') use(r.value);
 */
export function verifyProof(proof: KeyProof, options: VerifyOptions): KeyProofResult;
export function verifyProof(proof: RangeProof, options: VerifyOptions): RangeProofResult;
export function verifyProof(proof: Proof | string | unknown, options: VerifyOptions): ProofResult;
export function verifyProof(proof: unknown, options: VerifyOptions): ProofResult {
  const trust = trustOf(options);
  let parsed: Record<string, unknown> | undefined;
  const early = run<KeyProofResult>({ valid: false, kind: 'inclusion' }, () => {
    parsed = parseProof(proof);
    if (parsed.kind !== 'inclusion' && parsed.kind !== 'absence' && parsed.kind !== 'range') {
      fail('format', `proof kind ${JSON.stringify(parsed.kind)} is not "inclusion", "absence" or "range"`);
    }
  });
  if (!early.valid) {
    if (parsed?.kind === 'absence') early.kind = 'absence';
    return early;
  }
  const p = parsed!;
  if (p.kind === 'range') return verifyRangeProof(p, options);
  const result: KeyProofResult = { valid: false, kind: p.kind as 'inclusion' | 'absence' };
  return run(result, () => verifyKeyProofOrThrow(p, trust, result));
}

/**
 * Verify a range proof against a trusted root: on success `entries` are exactly the tree's entries
 * with start ≤ key ≤ end, none omitted, none added.
 *
 * @example
 * const r = verifyRangeProof(proof, { root });
 * if (r.valid) for (const { key, value } of r.entries!) …
 */
export function verifyRangeProof(proof: RangeProof | string | unknown, options: VerifyOptions): RangeProofResult {
  const trust = trustOf(options);
  const result: RangeProofResult = { valid: false, kind: 'range' };
  return run(result, () => {
    const p = parseProof(proof);
    if (p.kind !== 'range') fail('format', `proof kind ${JSON.stringify(p.kind)} is not "range"`);
    verifyRangeProofOrThrow(p, trust, result);
  });
}

import { beforeAll, describe, expect, test } from 'vitest';
import { BlobRef, type TreeValue } from '../../src/blob/blob-ref.js';
import { proveKey, proveRange } from '../../src/proof/prove.js';
import type { KeyProof, RangeProof } from '../../src/proof/types.js';
import { verifyProof, verifyRangeProof } from '../../src/proof/verify.js';
import { ProllyTree } from '../../src/tree/prolly-tree.js';
import { Node } from '../../src/tree/node.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { collect, prng } from '../helpers/model.js';
import { clone, flipHexByte, flipNodeByte, newNodes, nodeBytes, numberedTree, numKey, rawInternal, rawLeaf, rawTree, rechain, replaceInNode, toB64, value100 } from './helpers.js';

const x = (s: string): Uint8Array => utf8(s);

/** Decoded path nodes, via the engine's own decoder (an independent reading of what the proof holds). */
const pathNodes = (p: KeyProof): Node[] => p.path.map((h) => Node.decode(nodeBytes(h), sha256(nodeBytes(h))));

async function expectProves(tree: ProllyTree, key: Uint8Array): Promise<KeyProof> {
  const proof = await proveKey(tree, key);
  const expected = await tree.get(key);
  const r = verifyProof(proof, { root: tree.root });
  expect(r.reason).toBeUndefined();
  expect(r.valid).toBe(true);
  expect(toHex(r.key!)).toBe(toHex(key));
  if (expected === undefined) {
    expect(proof.kind).toBe('absence');
    expect(r.kind).toBe('absence');
    expect(r.value).toBeUndefined();
  } else {
    expect(proof.kind).toBe('inclusion');
    expect(r.kind).toBe('inclusion');
    if (expected instanceof BlobRef) {
      expect(r.value!.type).toBe('blob');
      const blob = r.value as { address: Uint8Array; length: number };
      expect([toHex(blob.address), blob.length]).toEqual([toHex(expected.address), expected.length]);
    } else {
      expect(r.value!.type).toBe('inline');
      expect(toHex((r.value as { bytes: Uint8Array }).bytes)).toBe(toHex(expected));
    }
  }
  // The proof survives a JSON round trip (it is what gets stored and mailed).
  expect(verifyProof(JSON.stringify(proof), { root: toHex(tree.root) }).valid).toBe(true);
  return proof;
}

function expectRejected(r: { valid: boolean; check?: string; reason?: string; node?: number }, check: string, node?: number): void {
  expect(r.valid).toBe(false);
  expect(r.check).toBe(check);
  expect(r.reason).toMatch(/\S/);
  if (node !== undefined) expect(r.node).toBe(node);
}

describe('empty tree', () => {
  test('any key is proven absent by the empty root leaf alone', async () => {
    const tree = await ProllyTree.empty(newNodes());
    for (const key of [x(''), x('a'), new Uint8Array([0xff, 0xff])]) {
      const proof = await expectProves(tree, key);
      expect(proof.path).toEqual([toB64(fromHex('010000'))]);
    }
  });

  test('an inclusion claim on the empty tree is rejected', async () => {
    const tree = await ProllyTree.empty(newNodes());
    const forged: KeyProof = { ...(await proveKey(tree, x('a'))), kind: 'inclusion', value: { type: 'inline', hex: '31' } };
    expectRejected(verifyProof(forged, { root: tree.root }), 'presence', 0);
  });

  test('a range proof over the empty tree has no entries', async () => {
    const tree = await ProllyTree.empty(newNodes());
    const proof = await proveRange(tree);
    const r = verifyRangeProof(proof, { root: tree.root });
    expect(r.valid).toBe(true);
    expect(r.entries).toEqual([]);
  });
});

describe('single-leaf tree', () => {
  let tree: ProllyTree;
  const entries: [Uint8Array, TreeValue][] = [
    [x('apple'), x('red')],
    [x('banana'), new Uint8Array(0)],
    [x('blob'), new BlobRef(sha256(x('blob')), 5000)],
    [x('cherry'), x('dark red')],
    [x('date'), x('brown')],
  ];
  beforeAll(async () => {
    tree = await ProllyTree.fromSorted(newNodes(), entries);
    expect(tree.height).toBe(1);
  });

  test('every key has a verifying inclusion proof, blob references included', async () => {
    for (const [key] of entries) {
      const proof = await expectProves(tree, key);
      expect(proof.path.length).toBe(1);
    }
    const blobProof = await proveKey(tree, x('blob'));
    expect(blobProof.value).toEqual({ type: 'blob', address: toHex(sha256(x('blob'))), length: 5000 });
  });

  test('absence before the first key, between keys and after the last key', async () => {
    for (const key of [x(''), x('a'), x('apples'), x('c'), x('dates'), x('zzz')]) {
      const proof = await expectProves(tree, key);
      expect(proof.path.length).toBe(1);
    }
  });

  test('a blob reference altered in the claim is rejected', async () => {
    const proof = await proveKey(tree, x('blob'));
    const longer = clone(proof);
    longer.value = { type: 'blob', address: toHex(sha256(x('blob'))), length: 5001 };
    expectRejected(verifyProof(longer, { root: tree.root }), 'value', 0);
    const inline = clone(proof);
    inline.value = { type: 'inline', hex: '00' };
    expectRejected(verifyProof(inline, { root: tree.root }), 'value', 0);
  });
});

describe('three-level tree: 50k entries with 100-byte values', () => {
  let tree: ProllyTree;
  let other: ProllyTree;
  const N = 50_000;
  beforeAll(async () => {
    tree = await numberedTree(N);
    other = await tree.mutate([{ key: numKey(7), value: x('changed') }]);
  });

  test('the tree has at least three levels', () => {
    expect(tree.height).toBeGreaterThanOrEqual(3);
    expect(tree.count).toBe(N);
  });

  test('inclusion proofs: first, last and sampled keys; the path has one node per level', async () => {
    const rand = prng(1);
    const keys = [0, N - 1, ...Array.from({ length: 40 }, () => Math.floor(rand() * N))];
    for (const i of keys) {
      const proof = await expectProves(tree, numKey(i));
      expect(proof.path.length).toBe(tree.height);
      expect(proof.value).toEqual({ type: 'inline', hex: toHex(value100(i)) });
      // Root first, levels down to 0.
      expect(pathNodes(proof).map((n) => n.level)).toEqual(Array.from({ length: tree.height }, (_, d) => tree.height - 1 - d));
    }
  });

  test('absence proofs: before the first key, between keys, beyond the last key', async () => {
    const before = await expectProves(tree, x('a'));
    expect(before.path.length).toBe(tree.height);
    const rand = prng(2);
    for (let r = 0; r < 30; r++) {
      const between = concatBytes([numKey(Math.floor(rand() * N)), x('x')]);
      expect((await expectProves(tree, between)).path.length).toBe(tree.height);
    }
    // Above the greatest key the root alone is the proof: its last entry bounds the whole tree.
    const beyond = await expectProves(tree, x('zzz'));
    expect(beyond.path.length).toBe(1);
  });

  test('an altered value is rejected', async () => {
    const proof = await proveKey(tree, numKey(1234));
    const bad = clone(proof);
    bad.value = { type: 'inline', hex: flipHexByte(proof.value!.type === 'inline' ? proof.value!.hex : '', 50) };
    const r = verifyProof(bad, { root: tree.root });
    expectRejected(r, 'value', tree.height - 1);
    expect(r.reason).toContain('differs');
  });

  test('one altered byte anywhere in any path node is rejected at that node', async () => {
    const proof = await proveKey(tree, numKey(31337));
    for (let d = 0; d < proof.path.length; d++) {
      const len = nodeBytes(proof.path[d]!).length;
      for (const offset of [0, 1, 2, Math.floor(len / 2), len - 1]) {
        const bad = clone(proof);
        bad.path[d] = flipNodeByte(bad.path[d]!, offset);
        expectRejected(verifyProof(bad, { root: tree.root }), 'hash', d);
      }
    }
  });

  test('a leaf edited and re-hashed all the way up still fails against the real root', async () => {
    const proof = await proveKey(tree, numKey(4321));
    const bad = clone(proof);
    // Change the proven value inside the leaf, then make every parent point at the edited child.
    const forged = new Uint8Array(100).fill(0xff);
    bad.path[bad.path.length - 1] = replaceInNode(bad.path[bad.path.length - 1]!, value100(4321), forged);
    bad.value = { type: 'inline', hex: toHex(forged) };
    rechain(bad, proof);
    // Internally consistent: it verifies against its own (forged) root…
    expect(verifyProof(bad, { root: bad.root }).valid).toBe(true);
    // …but not against the trusted one, whether or not the proof's root field is honest.
    expectRejected(verifyProof(bad, { root: tree.root }), 'root');
    expectRejected(verifyProof({ ...bad, root: toHex(tree.root) }, { root: tree.root }), 'hash', 0);
  });

  test('a dropped node is rejected', async () => {
    const proof = await proveKey(tree, numKey(999));
    for (let d = 0; d < proof.path.length; d++) {
      const bad = clone(proof);
      bad.path.splice(d, 1);
      const r = verifyProof(bad, { root: tree.root });
      expect(r.valid).toBe(false);
      // Dropping the leaf leaves a path that stops short; any other drop breaks the hash chain.
      expect(r.check).toBe(d === proof.path.length - 1 ? 'path' : 'hash');
    }
    const empty = clone(proof);
    empty.path = [];
    expectRejected(verifyProof(empty, { root: tree.root }), 'format');
  });

  test('reordered nodes are rejected', async () => {
    const proof = await proveKey(tree, numKey(20_000));
    const swapped = clone(proof);
    [swapped.path[1], swapped.path[2]] = [swapped.path[2]!, swapped.path[1]!];
    expectRejected(verifyProof(swapped, { root: tree.root }), 'hash', 1);
    const reversed = clone(proof);
    reversed.path.reverse();
    expectRejected(verifyProof(reversed, { root: tree.root }), 'hash', 0);
  });

  test('an extra node after the leaf is rejected', async () => {
    const proof = await proveKey(tree, numKey(5));
    const bad = clone(proof);
    bad.path.push(bad.path[bad.path.length - 1]!);
    expectRejected(verifyProof(bad, { root: tree.root }), 'path', proof.path.length);
    const beyond = clone(await proveKey(tree, x('zzz')));
    beyond.path.push(proof.path[1]!);
    expectRejected(verifyProof(beyond, { root: tree.root }), 'path', 1);
  });

  test('an absence proof for a present key, forged from a neighbour in the same leaf, is rejected', async () => {
    const present = numKey(10_000);
    const neighbour = concatBytes([present, x('x')]); // absent, sorts right after `present`, same leaf
    const forged = clone(await proveKey(tree, neighbour));
    expect(forged.kind).toBe('absence');
    expect(forged.path).toEqual((await proveKey(tree, present)).path);
    forged.key = toHex(present);
    const r = verifyProof(forged, { root: tree.root });
    expectRejected(r, 'presence', tree.height - 1);
    expect(r.reason).toContain('present');
  });

  test('an absence proof for a present key, forged from the next leaf, is rejected', async () => {
    // The last key of some leaf: an absent key just above it lies in the next leaf's interval.
    const proof = await proveKey(tree, numKey(25_000));
    const leaf = pathNodes(proof).at(-1)!;
    const lastOfLeaf = new Uint8Array(leaf.lastKey());
    const forged = clone(await proveKey(tree, concatBytes([lastOfLeaf, x('x')])));
    expect(forged.path.at(-1)).not.toBe(proof.path.at(-1));
    forged.key = toHex(lastOfLeaf);
    // The verifier's own lookup of the key descends into the other leaf, whose hash the path lacks.
    expectRejected(verifyProof(forged, { root: tree.root }), 'hash', tree.height - 1);
  });

  test('an inclusion proof moved to an absent key, or relabelled as absence, is rejected', async () => {
    const proof = await proveKey(tree, numKey(777));
    const moved = clone(proof);
    moved.key = toHex(concatBytes([numKey(777), x('x')]));
    expectRejected(verifyProof(moved, { root: tree.root }), 'presence');
    const relabelled: KeyProof = { ...clone(proof), kind: 'absence' };
    delete relabelled.value;
    expectRejected(verifyProof(relabelled, { root: tree.root }), 'presence');
    const absentWithValue: KeyProof = { ...(await proveKey(tree, fromHex(moved.key))), value: proof.value };
    expectRejected(verifyProof(absentWithValue, { root: tree.root }), 'format');
  });

  test('a wrong root is rejected', async () => {
    const proof = await proveKey(tree, numKey(7));
    expectRejected(verifyProof(proof, { root: other.root }), 'root');
    // With the proof's root field also rewritten, the first node no longer hashes to it.
    expectRejected(verifyProof({ ...proof, root: toHex(other.root) }, { root: other.root }), 'hash', 0);
    // The other tree's own proof verifies against it and carries its own value.
    const theirs = verifyProof(await proveKey(other, numKey(7)), { root: other.root });
    expect(theirs.valid && theirs.value).toEqual({ type: 'inline', bytes: x('changed') });
  });

  test('malformed proofs are rejected as format errors, never thrown', async () => {
    const proof = await proveKey(tree, numKey(3));
    const cases: unknown[] = [
      null,
      42,
      '{not json',
      [],
      { ...proof, format: 'something-else' },
      { ...proof, version: 1 },
      { ...proof, version: 3 },
      { ...proof, kind: 'membership' },
      { ...proof, key: 'ABCD' },
      { ...proof, key: 'abc' },
      { ...proof, root: toHex(tree.root).slice(2) },
      { ...proof, path: 'nope' },
      { ...proof, path: ['*' + proof.path[0]!.slice(1)] },
      { ...proof, path: [proof.path[0]! + ' '] },
      { ...proof, path: [proof.path[0]!.slice(0, -4) + 'AB=='] },
      { ...proof, value: { type: 'inline' } },
      { ...proof, value: { type: 'blob', address: '00', length: 5000 } },
      { ...proof, value: { type: 'ref', hex: '00' } },
      { ...proof, anchor: 'commit' },
    ];
    for (const c of cases) expectRejected(verifyProof(c, { root: tree.root }), 'format');
  });

  test('a missing or malformed trusted root is a caller error (EINVAL)', async () => {
    const proof = await proveKey(tree, numKey(3));
    expect(() => verifyProof(proof, { root: 'xyz' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => verifyProof(proof, { root: new Uint8Array(31) })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  test('an unanchored proof has anchor null; a malformed anchor is rejected; a commit needs an anchor', async () => {
    const proof = await proveKey(tree, numKey(3));
    expect(proof.anchor).toBeNull();
    expectRejected(verifyProof({ ...proof, anchor: { type: 'git-commit', commit: '0'.repeat(40) } }, { root: tree.root }), 'format');
    expectRejected(verifyProof({ ...proof, anchor: { type: 'svn-revision' } }, { root: tree.root }), 'format');
    expectRejected(verifyProof(proof, { commit: 'a'.repeat(40) }), 'anchor');
    expect(() => verifyProof(proof, {})).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => verifyProof(proof, { commit: 'HEAD' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('malformed trees: the verifier checks each child against its parent entry', () => {
  test("a child whose last key is not its parent entry's key", async () => {
    // Root says child 0 holds keys up to "c", but it ends at "b": a lookup of "c" would wrongly end there.
    const l0 = rawLeaf([['a', '1'], ['b', '2']]);
    const l1 = rawLeaf([['d', '4']]);
    const root = rawInternal(1, [['c', l0, 2], ['d', l1, 1]]);
    const tree = await rawTree(root, [l0, l1, root]);
    const proof = await proveKey(tree, x('c'));
    expect(proof.kind).toBe('absence'); // the engine's naive lookup would claim so
    const r = verifyProof(proof, { root: root.address });
    expectRejected(r, 'bounds', 1);
    expect(r.reason).toContain('last key');
  });

  test('a child whose first key is not above the previous parent entry key', async () => {
    // "b" sits in child 1 although child 0 covers everything up to "c": the path to "d" is unsound.
    const l0 = rawLeaf([['a', '1'], ['c', '3']]);
    const l1 = rawLeaf([['b', '2'], ['d', '4']]);
    const root = rawInternal(1, [['c', l0, 2], ['d', l1, 2]]);
    const tree = await rawTree(root, [l0, l1, root]);
    expectRejected(verifyProof(await proveKey(tree, x('d')), { root: root.address }), 'bounds', 1);
    // The path through the well-formed child still verifies: checks are per path, as documented.
    expect(verifyProof(await proveKey(tree, x('a')), { root: root.address }).valid).toBe(true);
  });

  test("a grandchild below the lower bound inherited from the grandparent", async () => {
    // Root: (…"c"] → A, (“c”…"f"] → B. B's entry 0 child starts at "b" ≤ "c": only the inherited bound catches it.
    const la = rawLeaf([['a', '1'], ['c', '3']]);
    const a = rawInternal(1, [['c', la, 2]]);
    const lb0 = rawLeaf([['b', '2'], ['d', '4']]);
    const lb1 = rawLeaf([['f', '6']]);
    const b = rawInternal(1, [['d', lb0, 2], ['f', lb1, 1]]);
    const root = rawInternal(2, [['c', a, 2], ['f', b, 3]]);
    const tree = await rawTree(root, [la, a, lb0, lb1, b, root]);
    const r = verifyProof(await proveKey(tree, x('d')), { root: root.address });
    expectRejected(r, 'bounds', 2);
    expect(r.reason).toContain('first key');
    expectRejected(verifyRangeProof(await proveRange(tree, { start: x('d'), end: x('d') }), { root: root.address }), 'bounds', 2);
  });

  test('a subtree count that disagrees with the child', async () => {
    const l0 = rawLeaf([['a', '1'], ['b', '2']]);
    const l1 = rawLeaf([['d', '4']]);
    const root = rawInternal(1, [['b', l0, 3], ['d', l1, 1]]);
    const tree = await rawTree(root, [l0, l1, root]);
    expectRejected(verifyProof(await proveKey(tree, x('a')), { root: root.address }), 'count', 1);
  });

  test('a level that does not decrease by one', async () => {
    const l0 = rawLeaf([['a', '1']]);
    const l1 = rawLeaf([['b', '2']]);
    const root = rawInternal(2, [['a', l0, 1], ['b', l1, 1]]);
    const tree = await rawTree(root, [l0, l1, root]);
    const r = verifyProof(await proveKey(tree, x('b')), { root: root.address });
    expectRejected(r, 'level', 1);
  });

  test('non-canonical node bytes are rejected even when they hash correctly', () => {
    const leaf = rawLeaf([['a', '1']]);
    const variants: [string, Uint8Array][] = [
      ['trailing byte', concatBytes([leaf.bytes, new Uint8Array([0])])],
      ['version 2', Uint8Array.from([2, ...leaf.bytes.subarray(1)])],
      ['non-minimal count varint', Uint8Array.from([1, 0, 0x81, 0x00, ...leaf.bytes.subarray(3)])],
      ['unsorted keys', rawLeaf([['b', '1'], ['a', '2']]).bytes],
      ['unknown value tag', Uint8Array.from([1, 0, 1, 1, 0x61, 2, 1, 0x31])],
      ['inline blob', concatBytes([Uint8Array.from([1, 0, 1, 1, 0x61, 1]), new Uint8Array(32), Uint8Array.from([10])])],
      ['internal node with no entries', Uint8Array.from([1, 1, 0])],
    ];
    for (const [, bytes] of variants) {
      const proof: KeyProof = { format: 'git-prolly-proof', version: 2, kind: 'absence', root: toHex(sha256(bytes)), key: toHex(x('zz')), path: [toB64(bytes)] };
      expectRejected(verifyProof(proof, { root: sha256(bytes) }), 'decode', 0);
    }
  });
});

describe('range proofs', () => {
  let tree: ProllyTree;
  const N = 50_000;
  beforeAll(async () => {
    tree = await numberedTree(N);
  });

  async function expectRange(start: Uint8Array | null, end: Uint8Array | null): Promise<RangeProof> {
    const proof = await proveRange(tree, { start, end });
    const r = verifyRangeProof(proof, { root: tree.root });
    expect(r.reason).toBeUndefined();
    expect(r.valid).toBe(true);
    const expected = await collect(tree.range({ ...(start ? { gte: start } : {}), ...(end ? { lte: end } : {}) }));
    const text = (k: Uint8Array, v: string) => `${toHex(k)}=${v}`;
    const expectedText = expected.map(([k, v]) => text(k, toHex(v as Uint8Array)));
    expect(r.entries!.map((e) => text(e.key, e.value.type === 'inline' ? toHex(e.value.bytes) : 'blob'))).toEqual(expectedText);
    expect(proof.entries.map((e) => `${e.key}=${e.value.type === 'inline' ? e.value.hex : 'blob'}`)).toEqual(expectedText);
    // verifyProof dispatches on kind.
    expect(verifyProof(proof, { root: tree.root })).toMatchObject({ valid: true, kind: 'range' });
    return proof;
  }

  test('ranges inside one leaf, across leaves and across level-1 nodes', async () => {
    const one = await expectRange(numKey(100), numKey(102));
    expect(one.nodes.length).toBe(tree.height);
    const across = await expectRange(numKey(990), numKey(1100));
    expect(across.nodes.length).toBeGreaterThan(tree.height);
    const wide = await expectRange(numKey(10_000), numKey(14_000));
    expect(wide.entries.length).toBe(4001);
    // Covers whole level-1 subtrees: more than one child of the root is opened.
    expect(wide.nodes.length).toBeGreaterThan(100);
  });

  test('open-ended, empty and out-of-tree ranges', async () => {
    expect((await expectRange(null, numKey(40))).entries.length).toBe(41);
    expect((await expectRange(numKey(N - 30), null)).entries.length).toBe(30);
    // Between two adjacent keys: nothing, and the covering leaf proves it.
    expect((await expectRange(concatBytes([numKey(5), x('a')]), concatBytes([numKey(5), x('b')]))).entries).toEqual([]);
    const above = await expectRange(x('zz'), x('zzz'));
    expect(above.nodes.length).toBe(1);
    expect((await expectRange(x('a'), x('b'))).entries).toEqual([]);
    expect((await expectRange(numKey(77), numKey(77))).entries.length).toBe(1);
  });

  test('start above end is an EINVAL for the prover and a format error for the verifier', async () => {
    await expect(proveRange(tree, { start: x('b'), end: x('a') })).rejects.toMatchObject({ code: 'EINVAL' });
    const proof = await proveRange(tree, { start: numKey(1), end: numKey(2) });
    expectRejected(verifyRangeProof({ ...proof, start: proof.end, end: proof.start }, { root: tree.root }), 'format');
  });

  test('one entry omitted, added, or altered is rejected', async () => {
    const proof = await proveRange(tree, { start: numKey(2000), end: numKey(2100) });
    for (const j of [0, 50, proof.entries.length - 1]) {
      const omitted = clone(proof);
      omitted.entries.splice(j, 1);
      const r = verifyRangeProof(omitted, { root: tree.root });
      expectRejected(r, 'entries');
      expect(r.reason).toContain(`entry ${j} omits ${toHex(numKey(2000 + j))}`);
    }
    const added = clone(proof);
    const extraKey = toHex(concatBytes([numKey(2050), x('x')]));
    added.entries.splice(51, 0, { key: extraKey, value: { type: 'inline', hex: '00' } });
    const r = verifyRangeProof(added, { root: tree.root });
    expectRejected(r, 'entries');
    expect(r.reason).toContain(`entry 51 adds ${extraKey}`);
    const altered = clone(proof);
    altered.entries[10]!.value = { type: 'inline', hex: '00' };
    expectRejected(verifyRangeProof(altered, { root: tree.root }), 'value');
  });

  test('a narrowed or widened range with the same entries is rejected', async () => {
    const proof = await proveRange(tree, { start: numKey(3000), end: numKey(3100) });
    expectRejected(verifyRangeProof({ ...proof, start: toHex(numKey(3001)) }, { root: tree.root }), 'entries');
    expectRejected(verifyRangeProof({ ...proof, end: toHex(numKey(3101)) }, { root: tree.root }), 'entries');
  });

  test('dropped, altered, reordered or extra nodes are rejected', async () => {
    const proof = await proveRange(tree, { start: numKey(990), end: numKey(1100) });
    expect(proof.nodes.length).toBeGreaterThanOrEqual(4);
    for (let d = 0; d < proof.nodes.length; d++) {
      const dropped = clone(proof);
      dropped.nodes.splice(d, 1);
      const r = verifyRangeProof(dropped, { root: tree.root });
      expect(r.valid).toBe(false);
      expect(['hash', 'path', 'format']).toContain(r.check);
      const altered = clone(proof);
      altered.nodes[d] = flipNodeByte(altered.nodes[d]!, 3);
      expectRejected(verifyRangeProof(altered, { root: tree.root }), 'hash', d);
    }
    const swapped = clone(proof);
    const n = swapped.nodes.length;
    [swapped.nodes[n - 1], swapped.nodes[n - 2]] = [swapped.nodes[n - 2]!, swapped.nodes[n - 1]!];
    expectRejected(verifyRangeProof(swapped, { root: tree.root }), 'hash', n - 2);
    const extra = clone(proof);
    extra.nodes.push(extra.nodes[1]!);
    expectRejected(verifyRangeProof(extra, { root: tree.root }), 'path', n);
    expectRejected(verifyRangeProof(proof, { root: sha256(x('elsewhere')) }), 'root');
  });

  test('verifyRangeProof rejects key proofs and verifyProof rejects unknown kinds', async () => {
    const keyProof = await proveKey(tree, numKey(1));
    expectRejected(verifyRangeProof(keyProof, { root: tree.root }), 'format');
  });
});

/**
 * Known-answer proof vectors (fixtures/vectors/proof-*.json): proofs over a fixed tree, valid and
 * tampered, each with the outcome a conforming verifier must give. This test regenerates them from
 * the recipe below and checks they equal the committed files (so the proof format cannot drift), then
 * verifies every committed case. Regenerate with `UPDATE_VECTORS=1` only when the format version changes.
 */
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { BlobRef, type TreeValue } from '../../src/blob/blob-ref.js';
import { proveKey, proveRange } from '../../src/proof/prove.js';
import type { KeyProof, Proof, ProofResult, ProofValue, ProofValueJson, RangeProof } from '../../src/proof/types.js';
import { verifyProof } from '../../src/proof/verify.js';
import { Node } from '../../src/tree/node.js';
import { ProllyTree } from '../../src/tree/prolly-tree.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { ed25519KeyObject, type SshEd25519PrivateKey } from '../../src/sign/ssh-key.js';
import { signCommitPayload } from '../../src/sign/commit-signing.js';
import type { GitCommitAnchor } from '../../src/proof/types.js';
import { clone, newNodes, nodeBytes, toB64 } from './helpers.js';

const RECIPE =
  'keys "key-00000" … "key-01999" (zero-padded decimal) with values "value-<i>" (decimal, no padding), plus key "blob" holding a blob reference (address = SHA-256("blob"), length 5000)';

function recipeEntries(): [Uint8Array, TreeValue][] {
  const entries: [Uint8Array, TreeValue][] = [[utf8('blob'), new BlobRef(sha256(utf8('blob')), 5000)]];
  for (let i = 0; i < 2000; i++) entries.push([utf8(`key-${String(i).padStart(5, '0')}`), utf8(`value-${i}`)]);
  return entries;
}

interface Expectation {
  valid: boolean;
  kind: string;
  /** Anchored proofs: what the anchor established. */
  anchor?: { commit: string; dataset: string; signed: boolean };
  key?: string;
  value?: ProofValueJson;
  /** Range proofs: number of verified entries (they equal the proof's `entries`). */
  count?: number;
  check?: string;
  node?: number;
}

interface VectorCase {
  name: string;
  description: string;
  /** The trusted root to verify against (absent when only a commit is trusted). */
  root?: string;
  /** The trusted commit id to verify against, through the proof's anchor. */
  commit?: string;
  proof: Proof;
  expect: Expectation;
}

interface VectorFile {
  description: string;
  tree: { recipe: string; root: string; count: number; height: number };
  cases: VectorCase[];
}

const file = (name: string) => new URL(`../../fixtures/vectors/proof-${name}.json`, import.meta.url);

function expectationOf(result: ProofResult): Expectation {
  const e: Expectation = { valid: result.valid, kind: result.kind };
  if ('key' in result && result.key) e.key = toHex(result.key);
  if ('value' in result && result.value) e.value = valueJson(result.value);
  if ('entries' in result && result.entries) e.count = result.entries.length;
  if (result.valid && result.anchor) e.anchor = { commit: result.anchor.commit, dataset: result.anchor.dataset, signed: result.anchor.signed };
  if (result.check) e.check = result.check;
  if (result.node !== undefined) e.node = result.node;
  return e;
}

/** Trust options of a vector case. */
const trustOf = (c: Pick<VectorCase, 'root' | 'commit'>) => ({ ...(c.root !== undefined ? { root: c.root } : {}), ...(c.commit !== undefined ? { commit: c.commit } : {}) });

// ---- hand-built git objects for anchored vectors (SHA-1 object format) ----
const gitId = (type: string, content: Uint8Array) => createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
const gitTree = (entries: [mode: string, name: string, oid: string][]) =>
  new Uint8Array(Buffer.concat(entries.map(([mode, name, oid]) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex')]))));
/** A fixed signing key (seed 0x01 × 32), so signed vectors are reproducible (Ed25519 is deterministic). */
function fixedKey(): SshEd25519PrivateKey {
  const seed = new Uint8Array(32).fill(1);
  const spki = createPublicKey(ed25519KeyObject(seed)).export({ format: 'der', type: 'spki' });
  return { type: 'ssh-ed25519', seed, rawPublicKey: new Uint8Array(spki.subarray(spki.length - 32)), comment: 'vectors@example.org', checkInt: 1 };
}

/** An anchor for dataset `dataset` with root `root`: pointer blob, three trees, and a commit (signed or not). */
function makeAnchor(root: string, count: number, dataset: string, options: { signed?: boolean; message?: string } = {}): GitCommitAnchor {
  const pointer = utf8(`prolly-dataset 1\nkind kv\nroot ${root}\ncount ${count}\n`);
  const datasets = gitTree([['100644', dataset, gitId('blob', pointer)]]);
  const prolly = gitTree([['40000', 'datasets', gitId('tree', datasets)]]);
  const top = gitTree([['40000', '.prolly', gitId('tree', prolly)]]);
  const who = 'Vector Author <vectors@example.org> 1700000000 +0000';
  const payload = `tree ${gitId('tree', top)}\nauthor ${who}\ncommitter ${who}\n\n${options.message ?? 'vectors'}\n`;
  let text = payload;
  if (options.signed) {
    const sig = signCommitPayload({ payload, privateKey: fixedKey() }).replace(/\n$/, '');
    const end = payload.indexOf('\n\n');
    text = `${payload.slice(0, end)}\ngpgsig ${sig.split('\n').join('\n ')}${payload.slice(end)}`;
  }
  const commit = utf8(text);
  return { type: 'git-commit', commit: gitId('commit', commit), dataset, commitObject: toB64(commit), trees: [top, prolly, datasets].map(toB64), pointer: toB64(pointer) };
}

function valueJson(v: ProofValue): ProofValueJson {
  return v.type === 'inline' ? { type: 'inline', hex: toHex(v.bytes) } : { type: 'blob', address: toHex(v.address), length: v.length };
}

async function generate(): Promise<Record<string, VectorFile>> {
  const tree = await ProllyTree.fromSorted(newNodes(), recipeEntries());
  const emptyTree = await ProllyTree.empty(newNodes());
  const root = toHex(tree.root);
  const info = { recipe: RECIPE, root, count: tree.count, height: tree.height };
  const k = (s: string) => utf8(s);
  const make = (name: string, description: string, proof: Proof, against = root): VectorCase => ({
    name,
    description,
    root: against,
    proof,
    expect: expectationOf(verifyProof(proof, { root: against })),
  });
  const makeTrusting = (name: string, description: string, proof: Proof, trust: { root?: string; commit?: string }): VectorCase => ({
    name,
    description,
    ...trust,
    proof,
    expect: expectationOf(verifyProof(proof, trust)),
  });
  // The last key of the first leaf, to build a range across a leaf boundary.
  const firstLeaf = await proveKey(tree, k('blob'));
  const leaf = Node.decode(nodeBytes(firstLeaf.path.at(-1)!), sha256(nodeBytes(firstLeaf.path.at(-1)!)));
  const boundary = new TextDecoder().decode(leaf.lastKey());
  const boundaryIndex = Number(boundary.slice(4));
  const near = (d: number) => k(`key-${String(boundaryIndex + d).padStart(5, '0')}`);

  const inclusion = await proveKey(tree, k('key-01234'));
  const absence = await proveKey(tree, k('key-01234x'));
  const range = await proveRange(tree, { start: near(-2), end: near(3) });

  const tamper = {
    value: (() => {
      const p = clone(inclusion);
      p.value = { type: 'inline', hex: toHex(k('value-1235')) };
      return p;
    })(),
    byte: (() => {
      const p = clone(inclusion);
      const b = nodeBytes(p.path[1]!);
      b[40]! ^= 0x01;
      p.path[1] = toB64(b);
      return p;
    })(),
    dropped: (() => {
      const p = clone(inclusion);
      p.path.splice(0, 1);
      return p;
    })(),
    reordered: (() => {
      const p = clone(inclusion);
      p.path.reverse();
      return p;
    })(),
    forgedAbsence: (() => {
      // The absence path of the neighbouring key "key-01234x", relabelled for "key-01234", which exists.
      const p = clone(absence);
      p.key = toHex(k('key-01234'));
      return p;
    })(),
    omitted: (() => {
      const p = clone(range);
      p.entries.splice(2, 1);
      return p;
    })(),
    nonCanonical: (() => {
      // A root whose bytes hash correctly but carry a trailing byte.
      const bytes = Uint8Array.from([1, 0, 1, 1, 0x61, 0, 1, 0x31, 0]);
      const p: KeyProof = { format: 'git-prolly-proof', version: 2, kind: 'absence', root: toHex(sha256(bytes)), key: toHex(k('b')), path: [toB64(bytes)], anchor: null };
      return p;
    })(),
  };
  const otherRoot = toHex(sha256(k('some other tree')));

  // Anchored proofs: the inclusion proof linked to a commit whose dataset "recipe" points at the tree.
  const anchor = makeAnchor(root, tree.count, 'recipe');
  const signedAnchor = makeAnchor(root, tree.count, 'recipe', { signed: true, message: 'signed vectors' });
  const anchored = { ...clone(inclusion), anchor };
  const anchoredRange = { ...clone(range), anchor };
  const signedAbsence = { ...clone(absence), anchor: signedAnchor };
  const anchorTamper = {
    // A commit whose pointer names another root, relabelled with the real commit's id.
    otherPointer: { ...clone(inclusion), anchor: { ...makeAnchor(otherRoot, 1, 'recipe'), commit: anchor.commit } },
    // The commit message edited after the fact: the object no longer hashes to its id.
    commitEdited: {
      ...clone(inclusion),
      anchor: { ...anchor, commitObject: toB64(utf8(Buffer.from(anchor.commitObject, 'base64').toString('utf8').replace('vectors', 'vectorz'))) },
    },
    // A consistent anchor for another commit, checked against the first commit's id.
    otherCommit: { ...clone(inclusion), anchor: makeAnchor(root, tree.count, 'recipe', { message: 'another commit' }) },
    // The pointer blob swapped for one naming the same root but another count: its hash breaks the tree link.
    pointerSwapped: { ...clone(inclusion), anchor: { ...anchor, pointer: toB64(utf8(`prolly-dataset 1\nkind kv\nroot ${root}\ncount 1\n`)) } },
  };

  return {
    inclusion: {
      description: 'Valid inclusion proofs: verifying each proof against `root` must give `expect`.',
      tree: info,
      cases: [
        make('inline', 'key "key-01234" holds the inline value "value-1234"', inclusion),
        make('blob', 'key "blob" holds a blob reference', await proveKey(tree, k('blob'))),
      ],
    },
    absence: {
      description: 'Valid absence proofs: verifying each proof against `root` must give `expect`.',
      tree: info,
      cases: [
        make('between', '"key-01234x" sorts between "key-01234" and "key-01235"', absence),
        make('before-first', '"a" sorts before every key', await proveKey(tree, k('a'))),
        make('beyond-last', '"zzz" sorts after every key: the root alone proves it', await proveKey(tree, k('zzz'))),
        make('empty-tree', 'any key is absent from the empty tree (root 010000)', await proveKey(emptyTree, k('a')), toHex(emptyTree.root)),
      ],
    },
    range: {
      description: 'Valid range proofs: verifying each proof against `root` must give `expect` (count = number of verified entries, equal to the proof\'s `entries`).',
      tree: info,
      cases: [
        make('across-leaves', `six keys around the first leaf boundary (after "${boundary}")`, range),
        make('open-start', 'every key up to "blob" inclusive (start = null)', await proveRange(tree, { end: k('blob') })),
        make('empty', 'no key lies between "key-00005a" and "key-00005z"', await proveRange(tree, { start: k('key-00005a'), end: k('key-00005z') })),
      ],
    },
    invalid: {
      description: 'Tampered proofs: a conforming verifier must reject each (valid = false); `check` and `node` name the first failed check in the order docs/FORMAT.md specifies.',
      tree: info,
      cases: [
        make('value-altered', 'the inclusion proof of "key-01234" with the value of "key-01235"', tamper.value),
        make('node-byte-altered', 'one bit of byte 40 of node 1 flipped', tamper.byte),
        make('node-dropped', 'the root dropped from the path', tamper.dropped),
        make('nodes-reordered', 'the path given leaf first', tamper.reordered),
        make('absence-of-present-key', 'the absence path of "key-01234x" relabelled as an absence proof of "key-01234", which exists', tamper.forgedAbsence),
        make('wrong-root', 'a valid proof verified against another root', inclusion, otherRoot),
        make('range-entry-omitted', 'a range proof with its third entry removed', tamper.omitted),
        make('non-canonical-node', 'a root node with a trailing zero byte (it hashes to the given root)', tamper.nonCanonical, tamper.nonCanonical.root),
      ],
    },
    anchored: {
      description:
        'Proofs anchored to hand-built git commits whose tree holds .prolly/datasets/recipe naming the tree root; each is verified against the trusted `commit` and/or `root` given. The signed commit is signed with the Ed25519 key of seed 0x01 repeated 32 times (SSHSIG, namespace "git").',
      tree: info,
      cases: [
        makeTrusting('inclusion-at-commit', 'the inclusion proof of "key-01234", trusted through its commit id alone', anchored, { commit: anchor.commit }),
        makeTrusting('range-at-commit', 'the across-leaves range proof, trusted through its commit id', anchoredRange, { commit: anchor.commit }),
        makeTrusting('absence-signed-commit', 'the absence proof of "key-01234x", anchored to a signed commit', signedAbsence, { commit: signedAnchor.commit }),
        makeTrusting('commit-and-root', 'the anchored inclusion proof, trusting both the commit and the root', anchored, { commit: anchor.commit, root }),
        makeTrusting('pointer-names-other-root', 'the anchor of a commit whose pointer names another root, given the real commit id', anchorTamper.otherPointer, { commit: anchor.commit }),
        makeTrusting('commit-object-edited', 'the commit message edited ("vectorz"): the object no longer hashes to its id', anchorTamper.commitEdited, { commit: anchor.commit }),
        makeTrusting('other-commit', 'a consistent anchor to another commit, checked against the first commit id', anchorTamper.otherCommit, { commit: anchor.commit }),
        makeTrusting('pointer-swapped', 'the pointer blob replaced by another naming the same root', anchorTamper.pointerSwapped, { root }),
        makeTrusting('no-anchor', 'an unanchored proof checked against a commit id', inclusion, { commit: anchor.commit }),
      ],
    },
  };
}

describe('proof known-answer vectors', () => {
  test('regenerated vectors equal the committed fixtures', async () => {
    const generated = await generate();
    for (const [name, content] of Object.entries(generated)) {
      if (process.env.UPDATE_VECTORS) writeFileSync(file(name), JSON.stringify(content, null, 1) + '\n');
      expect(content, `fixtures/vectors/proof-${name}.json`).toEqual(JSON.parse(readFileSync(file(name), 'utf8')));
    }
    expect(generated.inclusion!.tree.height).toBeGreaterThanOrEqual(2);
  });

  test('every committed case verifies to its expected outcome', () => {
    const seen = { valid: 0, invalid: 0 };
    for (const name of ['inclusion', 'absence', 'range', 'invalid', 'anchored']) {
      const vectors = JSON.parse(readFileSync(file(name), 'utf8')) as VectorFile;
      for (const c of vectors.cases) {
        const result = verifyProof(c.proof, trustOf(c));
        expect(expectationOf(result), `${name}/${c.name}`).toEqual(c.expect);
        if (name !== 'anchored') expect(c.expect.valid, `${name}/${c.name}`).toBe(name !== 'invalid');
        if (c.expect.valid && c.proof.kind === 'range') expect(c.expect.count).toBe((c.proof as RangeProof).entries.length);
        seen[c.expect.valid ? 'valid' : 'invalid']++;
      }
    }
    expect(seen).toEqual({ valid: 13, invalid: 13 });
  });

  test('the invalid vectors fail the documented checks', () => {
    const vectors = JSON.parse(readFileSync(file('invalid'), 'utf8')) as VectorFile;
    const checks = Object.fromEntries(vectors.cases.map((c) => [c.name, [c.expect.check, c.expect.node]]));
    expect(checks).toEqual({
      'value-altered': ['value', 1],
      'node-byte-altered': ['hash', 1],
      'node-dropped': ['hash', 0],
      'nodes-reordered': ['hash', 0],
      'absence-of-present-key': ['presence', 1],
      'wrong-root': ['root', undefined],
      'range-entry-omitted': ['entries', undefined],
      'non-canonical-node': ['decode', 0],
    });
  });

  test('the valid vectors carry the answers the recipe implies', () => {
    const load = (name: string) => Object.fromEntries((JSON.parse(readFileSync(file(name), 'utf8')) as VectorFile).cases.map((c) => [c.name, c]));
    const inclusion = load('inclusion');
    expect(inclusion.inline!.expect.value).toEqual({ type: 'inline', hex: toHex(utf8('value-1234')) });
    expect(inclusion.blob!.expect.value).toEqual({ type: 'blob', address: toHex(sha256(utf8('blob'))), length: 5000 });
    const absence = load('absence');
    expect((absence['beyond-last']!.proof as KeyProof).path.length).toBe(1);
    expect((absence['empty-tree']!.proof as KeyProof).path).toEqual([toB64(fromHex('010000'))]);
    const range = load('range');
    expect(range['across-leaves']!.expect.count).toBe(6);
    expect((range['across-leaves']!.proof as RangeProof).nodes.length).toBeGreaterThanOrEqual(3);
    expect(range['open-start']!.expect.count).toBe(1);
    expect(range.empty!.expect.count).toBe(0);
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  test('the anchored vectors fail the documented checks and name the signed commit', () => {
    const vectors = JSON.parse(readFileSync(file('anchored'), 'utf8')) as VectorFile;
    const outcome = Object.fromEntries(vectors.cases.map((c) => [c.name, c.expect.valid ? (c.expect.anchor!.signed ? 'signed' : 'valid') : c.expect.check]));
    expect(outcome).toEqual({
      'inclusion-at-commit': 'valid',
      'range-at-commit': 'valid',
      'absence-signed-commit': 'signed',
      'commit-and-root': 'valid',
      'pointer-names-other-root': 'anchor',
      'commit-object-edited': 'anchor',
      'other-commit': 'anchor',
      'pointer-swapped': 'anchor',
      'no-anchor': 'anchor',
    });
  });

  test.skipIf(!python)('an independent verifier written from docs/FORMAT.md (Python) gives the same outcomes', () => {
    const names = ['inclusion', 'absence', 'range', 'invalid', 'anchored'];
    const run = spawnSync('python3', [fileURLToPath(new URL('./independent_verifier.py', import.meta.url)), ...names.map((n) => fileURLToPath(file(n)))], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const theirs = JSON.parse(run.stdout) as Record<string, { valid: boolean; check: string | null; node: number | null }>;
    const ours: typeof theirs = {};
    for (const name of names) {
      for (const c of (JSON.parse(readFileSync(file(name), 'utf8')) as VectorFile).cases) {
        ours[`proof-${name}.json/${c.name}`] = { valid: c.expect.valid, check: c.expect.check ?? null, node: c.expect.node ?? null };
      }
    }
    expect(theirs).toEqual(ours);
  });

  test('the example proof in docs/FORMAT.md verifies', () => {
    const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('<!-- SECTION:proof -->'), doc.indexOf('<!-- END:proof -->'));
    const example = /```json\n([\s\S]*?)```/.exec(section);
    expect(example).not.toBeNull();
    const proof = JSON.parse(example![1]!) as KeyProof;
    expect(verifyProof(proof, { root: proof.root })).toMatchObject({ valid: true, kind: 'absence' });
  });
});

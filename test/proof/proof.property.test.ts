import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BlobRef, type TreeValue } from '../../src/blob/blob-ref.js';
import { proveKey, proveRange } from '../../src/proof/prove.js';
import type { ProofValue } from '../../src/proof/types.js';
import { verifyProof, verifyRangeProof } from '../../src/proof/verify.js';
import { ProllyTree } from '../../src/tree/prolly-tree.js';
import { compareBytes, toHex } from '../../src/util/bytes.js';
import { prng, randomBytes, randomKey, randomValue, SortedModel, valueHex } from '../helpers/model.js';
import { clone, flipNodeByte, newNodes, nodeBytes } from './helpers.js';

/** The model's notion of a value, in the same text form as the verifier's output. */
function resultHex(v: ProofValue | undefined): string | undefined {
  if (!v) return undefined;
  return v.type === 'blob' ? `blob:${toHex(v.address)}:${v.length}` : toHex(v.bytes);
}

/** A random tree: up to `max` entries, values mostly inline (up to 300 bytes), some blob references. */
async function randomTree(seed: number, max: number): Promise<{ tree: ProllyTree; model: SortedModel; rand: () => number; space: number }> {
  const rand = prng(seed);
  const n = Math.floor(rand() * max);
  const space = Math.max(1, n * 2);
  const model = new SortedModel();
  for (let i = 0; i < n; i++) {
    const key = randomKey(rand, space);
    const value: TreeValue = rand() < 0.05 ? new BlobRef(randomBytes(rand, 32), 1025 + Math.floor(rand() * 1e6)) : randomValue(rand, 300);
    model.put(key, value);
  }
  // Half the trees are reached by a batch of edits on top of a build, so proofs also cover mutated
  // trees (whose shape must equal a fresh build's, but the bounds and counts checks would see if not).
  let tree = await ProllyTree.fromSorted(newNodes(), model.entries());
  if (rand() < 0.5 && n > 0) {
    const edits = Array.from({ length: 1 + Math.floor(rand() * 200) }, () => ({
      key: randomKey(rand, space),
      value: rand() < 0.4 ? null : randomValue(rand, 300),
    }));
    tree = await tree.mutate(edits);
    for (const e of edits) (e.value === null ? model.delete(e.key) : model.put(e.key, e.value));
  }
  return { tree, model, rand, space };
}

describe('proofs over random trees (property)', () => {
  test('every key proof verifies and agrees with the tree; any flipped node byte is caught', async () => {
    let multiLevel = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const { tree, model, rand, space } = await randomTree(seed, 3000);
        if (tree.height > 1) multiLevel++;
        for (let r = 0; r < 25; r++) {
          const key = randomKey(rand, space * 2);
          const proof = await proveKey(tree, key);
          const result = verifyProof(proof, { root: tree.root });
          expect(result.reason).toBeUndefined();
          expect(result.valid).toBe(true);
          const expected = model.get(key);
          expect(result.kind).toBe(expected === undefined ? 'absence' : 'inclusion');
          expect(resultHex(result.value)).toBe(valueHex(expected));
          // Tamper: one bit of one byte of one node.
          const d = Math.floor(rand() * proof.path.length);
          const bad = clone(proof);
          bad.path[d] = flipNodeByte(bad.path[d]!, Math.floor(rand() * nodeBytes(bad.path[d]!).length));
          const tampered = verifyProof(bad, { root: tree.root });
          expect(tampered.valid).toBe(false);
          expect(tampered.check).toBe('hash');
          expect(tampered.node).toBe(d);
        }
      }),
      { numRuns: 25 },
    );
    // The generator must actually reach multi-level trees for the property to mean much.
    expect(multiLevel).toBeGreaterThan(5);
  });

  test('every range proof verifies, lists exactly the model entries in range, and rejects a dropped entry', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.boolean(), fc.boolean(), async (seed, openStart, openEnd) => {
        const { tree, model, rand, space } = await randomTree(seed, 2000);
        const a = randomKey(rand, space * 2);
        const b = randomKey(rand, space * 2);
        const [lo, hi] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
        const start = openStart ? null : lo;
        const end = openEnd ? null : hi;
        const proof = await proveRange(tree, { start, end });
        const result = verifyRangeProof(proof, { root: tree.root });
        expect(result.reason).toBeUndefined();
        expect(result.valid).toBe(true);
        const expected = model.entries().filter(([k]) => (!start || compareBytes(k, start) >= 0) && (!end || compareBytes(k, end) <= 0));
        expect(result.entries!.map((e) => `${toHex(e.key)}=${resultHex(e.value)}`)).toEqual(expected.map(([k, v]) => `${toHex(k)}=${valueHex(v)}`));
        if (proof.entries.length > 0) {
          const bad = clone(proof);
          bad.entries.splice(Math.floor(rand() * bad.entries.length), 1);
          expect(verifyRangeProof(bad, { root: tree.root })).toMatchObject({ valid: false, check: 'entries' });
        }
      }),
      { numRuns: 25 },
    );
  });
});

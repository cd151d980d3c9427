/**
 * Proof size on a 1M-entry tree (100-byte values): a key proof is one node per level, about 13 KiB of
 * node bytes, whatever the key; as JSON (node bytes in base64) every sampled proof fits in 32 KiB.
 * Slow-ish (builds the tree in memory).
 */
import { describe, expect, test } from 'vitest';
import { proveKey, proveRange } from '../../src/proof/prove.js';
import { verifyProof, verifyRangeProof } from '../../src/proof/verify.js';
import { concatBytes, utf8 } from '../../src/util/bytes.js';
import { prng } from '../helpers/model.js';
import { numberedTree, numKey } from './helpers.js';

const N = 1_000_000;
const LIMIT = 32 * 1024;

describe('proof size on a 1M-entry tree', () => {
  test('key proofs: one node per level, ≤ 32 KiB of node bytes and ≤ 32 KiB of JSON; all verify', async () => {
    const tree = await numberedTree(N);
    expect(tree.count).toBe(N);
    expect(tree.height).toBeGreaterThanOrEqual(4);
    const rand = prng(7);
    const nodeBytes: number[] = [];
    const jsonBytes: number[] = [];
    for (let r = 0; r < 300; r++) {
      const i = Math.floor(rand() * N);
      const key = r % 2 ? numKey(i) : concatBytes([numKey(i), utf8('x')]);
      const proof = await proveKey(tree, key);
      expect(proof.kind).toBe(r % 2 ? 'inclusion' : 'absence');
      expect(proof.path.length).toBe(tree.height);
      expect(verifyProof(proof, { root: tree.root }).valid).toBe(true);
      nodeBytes.push(proof.path.reduce((n, h) => n + Buffer.from(h, 'base64').length, 0));
      jsonBytes.push(JSON.stringify(proof).length);
    }
    jsonBytes.sort((a, b) => a - b);
    const medianJson = jsonBytes[jsonBytes.length >> 1]!;
    console.log(`1M tree, height ${tree.height}: node bytes max ${Math.max(...nodeBytes)}, JSON median ${medianJson}, max ${jsonBytes.at(-1)}`);
    // The proven content: every sampled path fits in 32 KiB.
    expect(Math.max(...nodeBytes)).toBeLessThanOrEqual(LIMIT);
    // As JSON (base64 adds a third): the largest sampled proof fits too.
    expect(medianJson).toBeLessThanOrEqual(24 * 1024);
    expect(jsonBytes.at(-1)!).toBeLessThanOrEqual(LIMIT);

    const range = await proveRange(tree, { start: numKey(500_000), end: numKey(500_099) });
    expect(verifyRangeProof(range, { root: tree.root }).entries!.length).toBe(100);
  }, 180_000);
});

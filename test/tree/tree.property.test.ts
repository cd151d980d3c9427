import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { compareBytes, toHex } from '../../src/util/bytes.js';
import { NodeStore } from '../../src/tree/node-store.js';
import { ProllyTree, prefixEnd, type Edit } from '../../src/tree/prolly-tree.js';
import { collect, prng, randomKey, randomValue, SortedModel, valueHex } from '../helpers/model.js';

const newNodes = () => new NodeStore(new MemoryStore());

function randomEdits(rand: () => number, n: number, space: number, deleteRatio = 0.3, maxValue = 200): Edit[] {
  const edits: Edit[] = [];
  for (let i = 0; i < n; i++) {
    edits.push({ key: randomKey(rand, space), value: rand() < deleteRatio ? null : randomValue(rand, maxValue) });
  }
  return edits;
}

function applyToModel(model: SortedModel, edits: Edit[]): void {
  for (const e of edits) (e.value === null ? model.delete(e.key) : model.put(e.key, e.value));
}

async function expectAgrees(tree: ProllyTree, model: SortedModel, rand: () => number, space: number): Promise<void> {
  const entries = model.entries();
  expect(tree.count).toBe(entries.length);
  const scanned = await collect(tree.range());
  expect(scanned.map(([k, v]) => toHex(k) + '=' + valueHex(v))).toEqual(entries.map(([k, v]) => toHex(k) + '=' + valueHex(v)));
  // Point reads of present and absent keys, singly and batched.
  const probes = Array.from({ length: 40 }, () => randomKey(rand, space * 2));
  const many = await tree.getMany(probes);
  for (let i = 0; i < probes.length; i++) {
    expect(valueHex(await tree.get(probes[i]!))).toBe(valueHex(model.get(probes[i]!)));
    expect(valueHex(many[i])).toBe(valueHex(model.get(probes[i]!)));
  }
  // Random ranges, both directions, with limits and prefixes.
  for (let r = 0; r < 6; r++) {
    const a = randomKey(rand, space);
    const b = randomKey(rand, space);
    const [lo, hi] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
    const loInc = rand() < 0.5;
    const hiInc = rand() < 0.5;
    const limit = rand() < 0.5 ? undefined : Math.floor(rand() * 30);
    const reverse = rand() < 0.5;
    const expected = entries
      .filter(([k]) => (loInc ? compareBytes(k, lo) >= 0 : compareBytes(k, lo) > 0) && (hiInc ? compareBytes(k, hi) <= 0 : compareBytes(k, hi) < 0))
      .map(([k]) => toHex(k));
    if (reverse) expected.reverse();
    const got = await collect(tree.range({ [loInc ? 'gte' : 'gt']: lo, [hiInc ? 'lte' : 'lt']: hi, reverse, limit }));
    expect(got.map(([k]) => toHex(k))).toEqual(limit === undefined ? expected : expected.slice(0, limit));
    const prefix = new TextEncoder().encode(`k${Math.floor(rand() * 36).toString(36)}`);
    const end = prefixEnd(prefix)!;
    const withPrefix = entries.filter(([k]) => compareBytes(k, prefix) >= 0 && compareBytes(k, end) < 0).map(([k]) => toHex(k));
    if (reverse) withPrefix.reverse();
    expect((await collect(tree.range({ prefix, reverse }))).map(([k]) => toHex(k))).toEqual(withPrefix);
  }
  // Position lookups from subtree counts.
  for (let r = 0; r < 5 && entries.length > 0; r++) {
    const i = Math.floor(rand() * entries.length);
    expect(toHex((await tree.entryAt(i))![0])).toBe(toHex(entries[i]![0]));
  }
}

describe('prolly tree against a sorted-map model', () => {
  test('batched puts and deletes agree with the model; roots equal a fresh build (history independence)', async () => {
    let ops = 0;
    let tallest = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const rand = prng(seed);
        const space = 500 + Math.floor(rand() * 6000);
        // Large values in half the runs give deeper trees (3+ levels) from a few thousand entries.
        const maxValue = rand() < 0.5 ? 1000 : 100;
        const nodes = newNodes();
        const model = new SortedModel();
        let tree = await ProllyTree.empty(nodes);
        for (let batch = 0; batch < 4; batch++) {
          const edits = randomEdits(rand, Math.floor(rand() * (batch === 0 ? 3000 : 400)), space, batch === 0 ? 0.05 : 0.4, maxValue);
          ops += edits.length;
          tree = await tree.mutate(edits);
          tallest = Math.max(tallest, tree.height);
          applyToModel(model, edits);
          await expectAgrees(tree, model, rand, space);
          const fresh = await ProllyTree.fromSorted(newNodes(), model.entries());
          expect(toHex(tree.root)).toBe(toHex(fresh.root));
        }
      }),
      { numRuns: 12 },
    );
    expect(ops).toBeGreaterThanOrEqual(10_000);
    expect(tallest).toBeGreaterThanOrEqual(3);
  });

  test('the same key-value set gives the same root for any insertion order and batching', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 1, max: 700 }), async (seed, batchSize) => {
        const rand = prng(seed);
        const model = new SortedModel();
        applyToModel(model, randomEdits(rand, 2500, 20000, 0));
        const sorted = await ProllyTree.fromSorted(newNodes(), model.entries());
        const shuffled = model.entries();
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        let tree = await ProllyTree.empty(newNodes());
        for (let i = 0; i < shuffled.length; i += batchSize) {
          tree = await tree.mutate(shuffled.slice(i, i + batchSize).map(([key, value]) => ({ key, value })));
        }
        expect(toHex(tree.root)).toBe(toHex(sorted.root));
        // Deleting everything again returns the empty tree.
        const empty = await tree.mutate(shuffled.map(([key]) => ({ key, value: null })));
        expect(toHex(empty.root)).toBe(toHex((await ProllyTree.empty(newNodes())).root));
        expect(empty.count).toBe(0);
      }),
      { numRuns: 8 },
    );
  });

  test('applying diff(a, b) to a gives b, and the diff matches the models', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const rand = prng(seed);
        const nodes = newNodes();
        const space = 4000;
        const ma = new SortedModel();
        applyToModel(ma, randomEdits(rand, 3000, space, 0));
        const mb = ma.clone();
        applyToModel(mb, randomEdits(rand, Math.floor(rand() * 300), space, 0.4));
        const a = await ProllyTree.fromSorted(nodes, ma.entries());
        const b = await ProllyTree.fromSorted(nodes, mb.entries());
        const d = await collect(a.diff(b));
        const expected: string[] = [];
        const keys = new Set([...ma.map.keys(), ...mb.map.keys()]);
        for (const k of [...keys].sort()) {
          const va = valueHex(ma.map.get(k)?.value);
          const vb = valueHex(mb.map.get(k)?.value);
          if (va !== vb) expected.push(`${va === undefined ? 'added' : vb === undefined ? 'removed' : 'modified'}:${k}`);
        }
        expect(d.map((e) => `${e.type}:${toHex(e.key)}`).sort()).toEqual(expected.sort());
        // Keys come out in order.
        for (let i = 1; i < d.length; i++) expect(compareBytes(d[i - 1]!.key, d[i]!.key)).toBeLessThan(0);
        const patched = await a.mutate(d.map((e) => ({ key: e.key, value: e.type === 'removed' ? null : e.to })));
        expect(toHex(patched.root)).toBe(toHex(b.root));
        expect(await collect(b.diff(b))).toEqual([]);
      }),
      { numRuns: 15 },
    );
  });

  test('merge of disjoint changes equals applying both; conflicts are exactly the same-key differing changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const rand = prng(seed);
        const nodes = newNodes();
        const space = 3000;
        const mbase = new SortedModel();
        applyToModel(mbase, randomEdits(rand, 2500, space, 0));
        const base = await ProllyTree.fromSorted(nodes, mbase.entries());
        const oursEdits = randomEdits(rand, Math.floor(rand() * 300), space, 0.3);
        const theirsEdits = randomEdits(rand, Math.floor(rand() * 300), space, 0.3);
        // Some identical changes on both sides: these must merge cleanly.
        for (const e of oursEdits.slice(0, 10)) theirsEdits.push(e);
        const ours = await base.mutate(oursEdits);
        const theirs = await base.mutate(theirsEdits);
        const mo = mbase.clone();
        applyToModel(mo, oursEdits);
        const mt = mbase.clone();
        applyToModel(mt, theirsEdits);
        const expectedConflicts: string[] = [];
        const expectedMerged = mo.clone();
        for (const k of new Set([...mbase.map.keys(), ...mo.map.keys(), ...mt.map.keys()])) {
          const b = valueHex(mbase.map.get(k)?.value);
          const o = valueHex(mo.map.get(k)?.value);
          const t = valueHex(mt.map.get(k)?.value);
          if (t === b || t === o) continue;
          if (o === b) {
            const tv = mt.map.get(k);
            if (tv) expectedMerged.map.set(k, tv);
            else expectedMerged.map.delete(k);
          } else expectedConflicts.push(k);
        }
        const { tree, conflicts } = await ours.merge({ base, theirs });
        expect(conflicts.map((c) => toHex(c.key)).sort()).toEqual(expectedConflicts.sort());
        for (const c of conflicts) {
          expect(valueHex(c.base)).toBe(valueHex(mbase.get(c.key)));
          expect(valueHex(c.ours)).toBe(valueHex(mo.get(c.key)));
          expect(valueHex(c.theirs)).toBe(valueHex(mt.get(c.key)));
        }
        // Unresolved conflicts keep ours: the merged tree is exactly the expected model.
        const expectedTree = await ProllyTree.fromSorted(newNodes(), expectedMerged.entries());
        expect(toHex(tree.root)).toBe(toHex(expectedTree.root));
        // Strategy "theirs" resolves every conflict to theirs' side.
        const { tree: t2, conflicts: c2 } = await ours.merge({ base, theirs, resolve: 'theirs' });
        expect(c2).toEqual([]);
        for (const k of expectedConflicts) {
          const e = mt.map.get(k);
          expect(valueHex(await t2.get(e?.key ?? mo.map.get(k)!.key))).toBe(valueHex(e?.value));
        }
        if (expectedConflicts.length > 0) {
          await expect(ours.merge({ base, theirs, resolve: 'fail' })).rejects.toMatchObject({ code: 'EMERGECONFLICT' });
        }
      }),
      { numRuns: 15 },
    );
  });
});

/**
 * The speed paths of the tree engine (docs/PERFORMANCE.md, issue 2) against plain reference
 * implementations: search words in Node.lowerBound, the edit sort, run copies in the chunker, slab
 * allocation of node bytes, children memoized by parent nodes, pooled copies in CachingStore, pooled
 * sha256 output. Each must give exactly what the simple version gives.
 */
import { describe, expect, test } from 'vitest';
import { CachingStore } from '../../src/store/caching-store.js';
import { ByteLru } from '../../src/store/lru.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { ByteSlab } from '../../src/tree/byte-slab.js';
import { LevelChunker, type ChunkedNode } from '../../src/tree/chunker.js';
import { encodeLeafPayload, encodeNode, Node } from '../../src/tree/node.js';
import { NodeStore } from '../../src/tree/node-store.js';
import { ProllyTree, sortEdits, type Edit } from '../../src/tree/prolly-tree.js';
import { compareBytes, concatBytes, toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { walkTree } from '../../src/tree/walk.js';
import { mulberry32 } from '../../src/util/prng.js';
import { varintLength, writeVarint } from '../../src/util/varint.js';

/** Keys over a tiny alphabet (0x00, 0x01, 0xff), so shared prefixes, zero bytes and prefix keys are common. */
function trickyKey(r: () => number, prefix: Uint8Array): Uint8Array {
  const len = Math.floor(r() * 9);
  const k = new Uint8Array(prefix.length + len);
  k.set(prefix);
  for (let i = 0; i < len; i++) k[prefix.length + i] = [0x00, 0x01, 0xff][Math.floor(r() * 3)]!;
  return k;
}

function uniqueSorted(keys: Uint8Array[]): Uint8Array[] {
  const s = [...keys].sort(compareBytes);
  return s.filter((k, i) => i === 0 || compareBytes(s[i - 1]!, k) !== 0);
}

/** A leaf node holding `keys` (sorted, distinct) with one-byte values. */
function leafOf(keys: Uint8Array[]): Node {
  const parts: Uint8Array[] = [];
  for (const k of keys) {
    const kl = new Uint8Array(varintLength(k.length));
    writeVarint(kl, 0, k.length);
    parts.push(kl, k, encodeLeafPayload(Uint8Array.of(k.length)));
  }
  const bytes = encodeNode(0, keys.length, concatBytes(parts));
  return Node.decode(bytes, sha256(bytes));
}

function referenceLowerBound(keys: Uint8Array[], k: Uint8Array): number {
  let i = 0;
  while (i < keys.length && compareBytes(keys[i]!, k) < 0) i++;
  return i;
}

describe('Node.lowerBound with search words', () => {
  test('agrees with a linear scan, for shared prefixes, zero bytes and keys that are prefixes of others', () => {
    const r = mulberry32(11);
    let checked = 0;
    for (let round = 0; round < 300; round++) {
      // Half the nodes share a long common prefix (the words then start after it).
      const prefix = round % 2 === 0 ? utf8('table/0007/') : new Uint8Array(0);
      // Mostly node-sized entry counts, some large (the search halves long ranges, then scans).
      const keys = uniqueSorted(Array.from({ length: 1 + Math.floor(r() * (round % 5 === 0 ? 400 : 40)) }, () => trickyKey(r, prefix)));
      const node = leafOf(keys);
      const probes = [...keys, ...Array.from({ length: 30 }, () => trickyKey(r, r() < 0.8 ? prefix : prefix.subarray(0, Math.floor(r() * prefix.length))))];
      probes.push(new Uint8Array(0), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
      for (const k of probes) {
        expect(node.lowerBound(k), `keys ${keys.map(toHex)} probe ${toHex(k)}`).toBe(referenceLowerBound(keys, k));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  test('entry accessors read the interleaved offsets correctly', () => {
    const keys = [utf8('a'), utf8('ab'), utf8('abc'), utf8('b')];
    const node = leafOf(keys);
    keys.forEach((k, i) => {
      expect(toHex(node.key(i))).toBe(toHex(k));
      expect([...(node.value(i) as Uint8Array)]).toEqual([k.length]);
      expect(node.compareKey(i, k)).toBe(0);
      const copy = node.valueCopy(i) as Uint8Array;
      expect([...copy]).toEqual([k.length]);
      copy[0] = 99;
      expect([...(node.value(i) as Uint8Array)]).toEqual([k.length]);
      expect(node.entryEndOf(i) - node.keyEndOf(i)).toBe(encodeLeafPayload(Uint8Array.of(k.length)).length);
    });
    expect(node.entryStart(0)).toBe(3);
    expect(node.entryStart(2)).toBe(node.entryEndOf(1));
  });
});

describe('sortEdits', () => {
  test('sorts like compareBytes and keeps the last edit of each key', () => {
    const r = mulberry32(5);
    for (let round = 0; round < 50; round++) {
      // Keys often agree on the first six bytes (the number compared first) or are shorter than six.
      const edits: Edit[] = Array.from({ length: 200 }, (_, i) => ({ key: trickyKey(r, r() < 0.5 ? utf8('abcdef') : utf8('ab')), value: Uint8Array.of(i & 255) }));
      const got = sortEdits(edits);
      const last = new Map<string, Edit>();
      for (const e of edits) last.set(toHex(e.key), e);
      const want = [...last.values()].sort((a, b) => compareBytes(a.key, b.key));
      expect(got.map((e) => toHex(e.key))).toEqual(want.map((e) => toHex(e.key)));
      expect(got.map((e) => e.value)).toEqual(want.map((e) => e.value));
    }
  });

  test('already sorted input comes back unchanged', () => {
    const edits: Edit[] = Array.from({ length: 100 }, (_, i) => ({ key: utf8(`k${String(i).padStart(4, '0')}`), value: null }));
    expect(sortEdits(edits).map((e) => toHex(e.key))).toEqual(edits.map((e) => toHex(e.key)));
  });
});

describe('LevelChunker.addRun', () => {
  test('emits the same nodes as adding the entries one by one', () => {
    const r = mulberry32(3);
    const keys = uniqueSorted(Array.from({ length: 3000 }, () => utf8(`key-${Math.floor(r() * 1e9)}`)));
    const bigNodes: Node[] = [];
    const builder = new LevelChunker(0, (n) => bigNodes.push(Node.decode(n.bytes, n.address)));
    for (const k of keys) builder.add(k, new Uint8Array(1 + Math.floor(r() * 200)));
    builder.finish();
    expect(bigNodes.length).toBeGreaterThan(5);
    // Feed the same entries again, node by node, split into random runs vs one entry at a time.
    const one: ChunkedNode[] = [];
    const runs: ChunkedNode[] = [];
    const a = new LevelChunker(0, (n) => one.push(n));
    const b = new LevelChunker(0, (n) => runs.push(n));
    for (const node of bigNodes) {
      for (let i = 0; i < node.size; i++) a.addFrom(node, i);
      let i = 0;
      while (i < node.size) {
        const j = Math.min(node.size, i + Math.floor(r() * 12));
        if (j === i) b.addFrom(node, i++);
        else {
          b.addRun(node, i, j);
          i = j;
        }
      }
    }
    a.finish();
    b.finish();
    expect(runs.map((n) => toHex(n.address))).toEqual(one.map((n) => toHex(n.address)));
    expect(runs.map((n) => toHex(n.lastKey))).toEqual(one.map((n) => toHex(n.lastKey)));
    expect(runs.map((n) => n.count)).toEqual(one.map((n) => n.count));
    expect(one.map((n) => toHex(n.address))).toEqual(bigNodes.map((n) => toHex(n.address)));
  });
});

describe('ByteSlab', () => {
  test('regions are zeroed, disjoint, and large requests get their own array', () => {
    const slab = new ByteSlab(1000);
    const parts = [300, 300, 300, 300, 5000, 10].map((n) => slab.alloc(n));
    parts.forEach((p, i) => {
      expect(p.every((b) => b === 0)).toBe(true);
      p.fill(i + 1);
    });
    parts.forEach((p, i) => expect(p.every((b) => b === i + 1)).toBe(true));
    expect(parts[0]!.buffer).toBe(parts[1]!.buffer);
    expect(parts[3]!.buffer).not.toBe(parts[0]!.buffer); // did not fit: a new slab
    expect(parts[4]!.buffer.byteLength).toBe(5000);
  });
});

describe('memoized children (NodeStore.child, ByteLru usedSince)', () => {
  test('usedSince gives a second chance to values used outside get, and is asked once per look', () => {
    const marks = new Set<string>();
    const asked: string[] = [];
    const lru = new ByteLru<string, string>({
      maxBytes: 3,
      sizeOf: () => 1,
      usedSince: (v) => {
        asked.push(v);
        return marks.delete(v);
      },
    });
    for (const k of ['a', 'b', 'c']) lru.set(k, k);
    marks.add('a'); // 'a' used through a reference of the caller's own
    lru.set('d', 'd');
    expect([...lru.keys()]).toEqual(['c', 'd', 'a']); // 'a' went to the back, 'b' out
    expect(asked).toEqual(['a', 'b']);
    lru.set('e', 'e');
    lru.set('f', 'f');
    expect([...lru.keys()]).toEqual(['a', 'e', 'f']);
    lru.set('g', 'g'); // 'a' has had its chance
    expect([...lru.keys()]).toEqual(['e', 'f', 'g']);
    expect(asked).toEqual(['a', 'b', 'c', 'd', 'a']);
    expect(lru.stats.evictions).toBe(4);
  });

  test('eviction order is the second-chance order (against a plain reference), over random sets, gets and deletes', () => {
    // Reference: the documented algorithm, rescanning the map from its start on every eviction.
    class Reference {
      map = new Map<number, { size: number; ref: boolean }>();
      total = 0;
      constructor(readonly max: number) {}
      set(k: number, size: number) {
        const old = this.map.get(k);
        if (old) {
          this.map.delete(k);
          this.total -= old.size;
        }
        if (size > this.max) return;
        this.map.set(k, { size, ref: false });
        this.total += size;
        while (this.total > this.max && this.map.size > 0) {
          const [key, e] = this.map.entries().next().value as [number, { size: number; ref: boolean }];
          this.map.delete(key);
          if (e.ref) {
            e.ref = false;
            this.map.set(key, e);
          } else this.total -= e.size;
        }
      }
      get(k: number) {
        const e = this.map.get(k);
        if (e) e.ref = true;
      }
      delete(k: number) {
        const e = this.map.get(k);
        if (e) {
          this.map.delete(k);
          this.total -= e.size;
        }
      }
    }
    const r = mulberry32(21);
    const lru = new ByteLru<number, number>({ maxBytes: 2000, sizeOf: (v) => v });
    const ref = new Reference(2000);
    for (let step = 0; step < 20_000; step++) {
      const k = Math.floor(r() * 60);
      const op = r();
      if (op < 0.5) {
        const size = 10 + Math.floor(r() * 190);
        lru.set(k, size);
        ref.set(k, size);
      } else if (op < 0.9) {
        lru.get(k);
        ref.get(k);
      } else {
        lru.delete(k);
        ref.delete(k);
      }
      if (step % 97 === 0) expect([...lru.keys()]).toEqual([...ref.map.keys()]);
    }
    expect([...lru.keys()]).toEqual([...ref.map.keys()]);
    expect(lru.bytes).toBe(ref.total);
    expect(lru.stats.evictions).toBeGreaterThan(1000);
  });

  test('NodeStore.child returns the cached child, and reloads after eviction', async () => {
    const store = new MemoryStore();
    const build = new NodeStore(store);
    const entries = Array.from({ length: 3000 }, (_, i): [Uint8Array, Uint8Array] => [utf8(`k${String(i).padStart(5, '0')}`), new Uint8Array(60).fill(i & 255)]);
    const root = (await ProllyTree.fromSorted(build, entries)).root;
    await build.flush();
    // A cache too small for the whole tree, so walking it evicts.
    const nodes = new NodeStore(store, { cacheBytes: 40_000 });
    const tree = await ProllyTree.open(nodes, root);
    expect(tree.height).toBeGreaterThan(1);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < entries.length; i += 7) expect(toHex((await tree.get(entries[i]![0]))! as Uint8Array)).toBe(toHex(entries[i]![1]));
    }
    let distinct = 0;
    for await (const _ of walkTree(build, root)) distinct++;
    expect(nodes.stats.nodeReads).toBeGreaterThan(distinct); // evicted nodes were read again
    const top = tree.rootNode;
    const child = await nodes.get(top.childAddress(0));
    expect(nodes.child(top, 0)).toBe(child);
    expect(nodes.peek(top.childHex(0))).toBe(child);
    expect(top.childMemo![0]).toBe(child);
    // Evicted, the child leaves the parent's memo (no reference keeps it beyond the cache's bound).
    for (let i = 0; i < entries.length; i += 3) await tree.get(entries[i]![0]);
    expect(nodes.peek(top.childHex(0))).toBeUndefined();
    expect(top.childMemo![0]).toBeUndefined();
    expect(child.memoRefs).toBeUndefined();
    const again = await nodes.get(top.childAddress(0));
    expect(again).not.toBe(child);
    expect(nodes.child(top, 0)).toBe(again);
    // Another store over the same chunks does not use the first store's slots.
    const other = new NodeStore(store);
    expect(other.child(top, 0)).toBeUndefined();
    const loaded = await other.get(top.childAddress(0));
    expect(other.child(top, 0)).toBe(loaded);
    expect(nodes.child(top, 0)).toBe(again);
  });

  test('a node read back before it is written out is decoded from a copy, not a view into a slab', async () => {
    const nodes = new NodeStore(new MemoryStore());
    const tree = await ProllyTree.fromSorted(nodes, [[utf8('a'), utf8('1')]]);
    // Not flushed: the root came from the write buffer.
    expect(tree.rootNode.bytes.byteLength).toBe(tree.rootNode.bytes.buffer.byteLength);
  });
});

describe('CachingStore copy pool', () => {
  test('recycled memory never changes what reads return, nor what a caller holds', async () => {
    const r = mulberry32(9);
    const inner = new MemoryStore();
    const cache = new CachingStore({ inner, maxBytes: 40_000 });
    const chunks = Array.from({ length: 200 }, () => {
      const bytes = Uint8Array.from({ length: 200 + Math.floor(r() * 3000) }, () => Math.floor(r() * 256));
      return { address: sha256(bytes), bytes };
    });
    const held: Uint8Array[] = [];
    for (let i = 0; i < chunks.length; i += 20) {
      await cache.putMany(chunks.slice(i, i + 20));
      held.push(...(await cache.getMany(chunks.slice(0, i + 20).map((c) => c.address))).map((b) => b!));
    }
    expect(cache.stats.evictions).toBeGreaterThan(50);
    expect(cache.stats.bytes).toBeLessThanOrEqual(40_000);
    let k = 0;
    for (let i = 0; i < chunks.length; i += 20) for (let j = 0; j < i + 20; j++) expect(toHex(held[k++]!)).toBe(toHex(chunks[j]!.bytes));
    // A caller changing its buffer after put does not reach the cache.
    const c = chunks[199]!;
    const mine = Uint8Array.from(c.bytes);
    await cache.put({ address: c.address, bytes: mine });
    mine.fill(0);
    expect(toHex((await cache.get(c.address))!)).toBe(toHex(c.bytes));
  });
});

describe('sha256', () => {
  test('known answer, and digests are independent arrays', () => {
    const a = sha256(utf8('abc'));
    const b = sha256(utf8(''));
    expect(toHex(a)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(b)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(a.length).toBe(32);
    a.fill(0);
    expect(toHex(b)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

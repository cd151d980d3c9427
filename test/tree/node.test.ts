import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { BlobRef } from '../../src/blob/blob-ref.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { isBoundary, LevelChunker, MIN_NODE_BYTES, FORCE_SPLIT_BYTES } from '../../src/tree/chunker.js';
import { encodeLeafPayload, encodeNode, MAX_KEY_BYTES, MAX_NODE_BYTES, Node } from '../../src/tree/node.js';
import { EMPTY_ROOT, NodeStore } from '../../src/tree/node-store.js';
import { ProllyTree } from '../../src/tree/prolly-tree.js';
import { walkTree } from '../../src/tree/walk.js';
import { xxhash32 } from '../../src/tree/xxhash32.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { recipes } from './vectors.js';

const FIXTURE = new URL('../../fixtures/vectors/tree-nodes.json', import.meta.url);

async function generate() {
  const out = [];
  for (const r of recipes) {
    const nodes = new NodeStore(new MemoryStore());
    const tree = await ProllyTree.fromSorted(nodes, r.entries());
    const all = [];
    for await (const n of walkTree(nodes, tree.root)) all.push({ address: toHex(n.address), level: n.level, bytes: toHex(n.bytes) });
    out.push({ name: r.name, description: r.description, count: tree.count, root: toHex(tree.root), nodes: all });
  }
  return out;
}

describe('xxhash32', () => {
  test('matches the published XXH32 test values', () => {
    expect(xxhash32(new Uint8Array(0), 0, 0, 0)).toBe(0x02cc5d05);
    expect(xxhash32(utf8('a'), 0, 1, 0)).toBe(0x550d7456);
    expect(xxhash32(utf8('abc'), 0, 3, 0)).toBe(0x32d153ff);
    const long = utf8('Nobody inspects the spammish repetition');
    expect(xxhash32(long, 0, long.length, 0)).toBe(0xe2293b2f);
    // Sub-range hashing equals hashing a copy.
    const framed = utf8('xxabcxx');
    expect(xxhash32(framed, 2, 5, 7)).toBe(xxhash32(utf8('abc'), 0, 3, 7));
  });
});

describe('node codec', () => {
  test('known-answer vectors: entries → node bytes → addresses → root', async () => {
    const generated = await generate();
    if (process.env.UPDATE_VECTORS) writeFileSync(FIXTURE, JSON.stringify(generated, null, 1) + '\n');
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    expect(generated).toEqual(fixture);
    // Independently of the builder: each fixture node hashes to its address and decodes.
    for (const v of fixture) {
      for (const n of v.nodes) {
        const bytes = fromHex(n.bytes);
        expect(toHex(sha256(bytes))).toBe(n.address);
        expect(Node.decode(bytes, fromHex(n.address)).level).toBe(n.level);
      }
    }
    expect(fixture.find((v: { name: string }) => v.name === 'two-levels').nodes.length).toBeGreaterThan(3);
    expect(fixture.find((v: { name: string }) => v.name === 'empty').root).toBe(toHex(EMPTY_ROOT.address));
  });

  test('decode reads back what encode wrote', () => {
    const e1 = [...encodeLeafPayload(utf8('v1'))];
    const blob = new BlobRef(sha256(utf8('x')), 70_000);
    const entries = new Uint8Array([1, 0x61, ...e1, 1, 0x62, ...encodeLeafPayload(blob)]);
    const bytes = encodeNode(0, 2, entries);
    const node = Node.decode(bytes, sha256(bytes));
    expect(node.size).toBe(2);
    expect(toHex(node.value(0) as Uint8Array)).toBe(toHex(utf8('v1')));
    const b = node.value(1) as BlobRef;
    expect(b).toBeInstanceOf(BlobRef);
    expect(toHex(b.address)).toBe(toHex(blob.address));
    expect(b.length).toBe(70_000);
    expect(node.lowerBound(utf8('a'))).toBe(0);
    expect(node.lowerBound(utf8('aa'))).toBe(1);
    expect(node.lowerBound(utf8('c'))).toBe(2);
  });

  const invalid: [string, number[], RegExp][] = [
    ['unknown version', [2, 0, 0], /version 2/],
    ['truncated', [1, 0], /too short/],
    ['trailing bytes', [1, 0, 0, 9], /trailing/],
    ['non-minimal varint count', [1, 0, 0x81, 0x00, 1, 0x61, 0, 1, 0x31], /non-minimal/],
    ['unsorted keys', [1, 0, 2, 1, 0x62, 0, 0, 1, 0x61, 0, 0], /strictly increasing/],
    ['duplicate keys', [1, 0, 2, 1, 0x61, 0, 0, 1, 0x61, 0, 0], /strictly increasing/],
    ['unknown value tag', [1, 0, 1, 1, 0x61, 7, 0], /value tag 7/],
    ['truncated value', [1, 0, 1, 1, 0x61, 0, 5, 1], /truncated/],
    ['internal node without entries', [1, 1, 0], /no entries/],
    ['blob that should be inline', [1, 0, 1, 1, 0x61, 1, ...new Array(32).fill(0), 5], /must be stored inline/],
    ['zero subtree count', [1, 1, 1, 1, 0x61, ...new Array(32).fill(0), 0], /count is zero/],
  ];
  test.each(invalid)('rejects %s, naming the chunk', (_name, bytes, msg) => {
    const b = Uint8Array.from(bytes);
    const addr = sha256(b);
    let err: unknown;
    try {
      Node.decode(b, addr);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'EBADENCODING' });
    expect(String((err as Error).message)).toMatch(msg);
    expect(String((err as Error).message)).toContain(toHex(addr));
  });

  test('over-long keys and values are refused with clear errors', async () => {
    const tree = await ProllyTree.empty(new NodeStore(new MemoryStore()));
    await expect(tree.mutate([{ key: new Uint8Array(MAX_KEY_BYTES + 1), value: utf8('x') }])).rejects.toMatchObject({ code: 'EKEYTOOLONG' });
    await expect(tree.mutate([{ key: utf8('k'), value: new Uint8Array(1025) }])).rejects.toThrow(/inline limit/);
    // The largest key with the largest inline value is accepted and read back.
    const big = await tree.mutate([{ key: new Uint8Array(MAX_KEY_BYTES).fill(7), value: new Uint8Array(1024).fill(9) }]);
    expect(((await big.get(new Uint8Array(MAX_KEY_BYTES).fill(7))) as Uint8Array).length).toBe(1024);
  });
});

describe('chunker', () => {
  test('boundary rule: no split under the minimum, forced at the cap, internal nodes keep two entries', () => {
    const key = utf8('some-key');
    for (let s = 1; s < MIN_NODE_BYTES; s += 37) expect(isBoundary(0, s, s - 1, 5, key, 0, key.length)).toBe(false);
    expect(isBoundary(0, FORCE_SPLIT_BYTES, FORCE_SPLIT_BYTES - 10, 5, key, 0, key.length)).toBe(true);
    expect(isBoundary(1, FORCE_SPLIT_BYTES, 0, 1, key, 0, key.length)).toBe(false);
  });

  test('nodes of max-size entries never exceed MAX_NODE_BYTES', () => {
    const sizes: number[] = [];
    const c = new LevelChunker(0, (n) => sizes.push(n.bytes.length));
    for (let i = 0; i < 200; i++) {
      const key = new Uint8Array(MAX_KEY_BYTES);
      key[0] = i >> 8;
      key[1] = i & 255;
      c.add(key, encodeLeafPayload(new Uint8Array(1024)), 1);
    }
    c.finish();
    expect(sizes.length).toBeGreaterThan(10);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_NODE_BYTES);
  });
});

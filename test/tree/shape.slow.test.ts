import { beforeAll, describe, expect, test } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MAX_NODE_BYTES } from '../../src/tree/node.js';
import { NodeStore } from '../../src/tree/node-store.js';
import { ProllyTree, type Entry } from '../../src/tree/prolly-tree.js';
import { walkTree } from '../../src/tree/walk.js';
import { compareBytes, toHex } from '../../src/util/bytes.js';
import { prng, randomBytes } from '../helpers/model.js';

const N = 1_000_000;
const TARGET = 4096;
const rand = prng(20261121);
let nodes: NodeStore;
let tree: ProllyTree;
let keys: Uint8Array[];

/** Boundary keys of every level-0 node, read from the internal nodes only. */
async function leafBoundaries(t: ProllyTree): Promise<string[]> {
  const out: string[] = [];
  for await (const n of walkTree(t.nodes, t.root, { skip: () => false })) {
    if (n.level === 1) for (let i = 0; i < n.size; i++) out.push(toHex(n.key(i)));
    if (n.level === 0) break;
  }
  return out.sort();
}

describe('tree shape on 1,000,000 random keys', () => {
  beforeAll(async () => {
    keys = Array.from({ length: N }, () => randomBytes(rand, 16)).sort(compareBytes);
    const entries: Entry[] = keys.map((k) => [k, randomBytes(rand, 100)]);
    nodes = new NodeStore(new MemoryStore(), { cacheBytes: 256 * 1024 * 1024 });
    tree = await ProllyTree.fromSorted(nodes, entries);
  }, 300_000);

  test('no node exceeds the maximum; median leaf within ±25 % of the 4 KiB target', async () => {
    expect(tree.count).toBe(N);
    const leafSizes: number[] = [];
    let maxSize = 0;
    for await (const n of walkTree(nodes, tree.root)) {
      maxSize = Math.max(maxSize, n.bytes.length);
      if (n.level === 0) leafSizes.push(n.bytes.length);
    }
    leafSizes.sort((a, b) => a - b);
    const median = leafSizes[leafSizes.length >> 1]!;
    console.log(`height ${tree.height}, leaves ${leafSizes.length}, median leaf ${median} B, max node ${maxSize} B`);
    expect(maxSize).toBeLessThanOrEqual(MAX_NODE_BYTES);
    expect(median).toBeGreaterThanOrEqual(TARGET * 0.75);
    expect(median).toBeLessThanOrEqual(TARGET * 1.25);
  });

  test('a single put rewrites on average ≤ depth + 1 nodes (1,000 random updates and inserts)', async () => {
    let writes = 0;
    let t = tree;
    for (let i = 0; i < 1000; i++) {
      const key = i % 2 === 0 ? keys[Math.floor(rand() * N)]! : randomBytes(rand, 16);
      const before = nodes.stats.nodeWrites;
      t = await t.mutate([{ key, value: randomBytes(rand, 100) }]);
      writes += nodes.stats.nodeWrites - before;
    }
    const avg = writes / 1000;
    console.log(`average nodes written per single put: ${avg} (depth ${t.height})`);
    expect(avg).toBeLessThanOrEqual(t.height + 1);
    expect(avg).toBeGreaterThanOrEqual(t.height - 1);
  });

  test('a same-size value update never moves a boundary (and writes exactly one node per level)', async () => {
    const boundaries = await leafBoundaries(tree);
    let t = tree;
    for (let i = 0; i < 1000; i++) {
      const before = nodes.stats.nodeWrites;
      t = await t.mutate([{ key: keys[Math.floor(rand() * N)]!, value: randomBytes(rand, 100) }]);
      expect(nodes.stats.nodeWrites - before).toBe(t.height);
    }
    expect(await leafBoundaries(t)).toEqual(boundaries);
  });
});

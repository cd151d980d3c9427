import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOB_INDEX_MAX_ENTRIES,
  decodeBlobIndexNode,
  encodeBlobIndexNode,
  isBlobIndexBoundary,
  type BlobIndexEntry,
} from '../../src/blob/blob-index.js';
import { BlobIndexBuilder } from '../../src/blob/index-builder.js';
import { ProllyError } from '../../src/errors.js';
import type { Chunk } from '../../src/store/chunk-store.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

const addr = (i: number): Uint8Array => sha256(new Uint8Array([i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff]));

function expectBad(bytes: Uint8Array, pattern: RegExp): void {
  try {
    decodeBlobIndexNode(bytes, new Uint8Array(32).fill(0xab));
  } catch (e) {
    expect(e).toBeInstanceOf(ProllyError);
    expect((e as ProllyError).code).toBe('EBADENCODING');
    expect((e as Error).message).toMatch(pattern);
    expect((e as Error).message).toContain('ab'.repeat(32)); // names the chunk
    return;
  }
  throw new Error(`decoded ${toHex(bytes)} without error`);
}

describe('blob index node codec', () => {
  it('encodes the layout byte for byte (tag, level, varint count, address + varint length)', () => {
    const a = new Uint8Array(32).fill(7);
    const bytes = encodeBlobIndexNode({ level: 1, entries: [{ address: a, length: 300 }] });
    expect(toHex(bytes)).toBe('420101' + '07'.repeat(32) + 'ac02');
    expect(toHex(encodeBlobIndexNode({ level: 0, entries: [] }))).toBe('420000');
  });

  it('round-trips arbitrary valid nodes (property)', () => {
    const entry = fc.record({ address: fc.uint8Array({ minLength: 32, maxLength: 32 }), length: fc.integer({ min: 1, max: 262144 }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.array(entry, { minLength: 1, maxLength: BLOB_INDEX_MAX_ENTRIES }), (level, entries) => {
        const bytes = encodeBlobIndexNode({ level, entries });
        const node = decodeBlobIndexNode(bytes);
        expect(node.level).toBe(level);
        expect(node.entries.map((e) => [toHex(e.address), e.length])).toEqual(entries.map((e) => [toHex(e.address), e.length]));
        expect(node.totalLength).toBe(entries.reduce((s, e) => s + e.length, 0));
        expect(toHex(encodeBlobIndexNode(node))).toBe(toHex(bytes));
      }),
      { numRuns: 100 },
    );
  });

  it('is told apart from tree nodes by its first byte', () => {
    expectBad(fromHex('0100' + '00'), /first byte is 0x01, expected 0x42/);
  });

  it('rejects malformed bytes with EBADENCODING naming the chunk', () => {
    const good = encodeBlobIndexNode({ level: 0, entries: [{ address: addr(1), length: 70000 }] });
    expectBad(good.subarray(0, 2), /too short/);
    expectBad(Buffer.concat([good, new Uint8Array([0])]), /1 trailing bytes/);
    expectBad(good.subarray(0, good.length - 1), /truncated varint|truncated/);
    expectBad(good.subarray(0, 20), /truncated in entry 0/);
    expectBad(fromHex('4240' + '00'), /level 64 exceeds 63/);
    expectBad(fromHex('42018102'), /257 entries, max 256/); // count 257
    expectBad(fromHex('420100'), /no entries at level 1/);
    expectBad(fromHex('42008000'), /non-minimal/); // count 0 written in two bytes
    expectBad(fromHex('420001' + '11'.repeat(32) + '00'), /length 0 must be a positive integer/);
    expectBad(fromHex('420001' + '11'.repeat(32) + '81801000'), /data chunk length 262145 exceeds 262144/);
    expectBad(fromHex('420001' + '11'.repeat(32) + '8100'), /non-minimal/);
    // A level > 0 entry may be large (it counts bytes of a subtree).
    expect(decodeBlobIndexNode(fromHex('420101' + '11'.repeat(32) + '8080808001')).totalLength).toBe(2 ** 28);
  });

  it('encode refuses what decode would reject', () => {
    expect(() => encodeBlobIndexNode({ level: 64, entries: [{ address: addr(0), length: 1 }] })).toThrow(/level 64/);
    expect(() => encodeBlobIndexNode({ level: 1, entries: [] })).toThrow(/no entries/);
    expect(() => encodeBlobIndexNode({ level: 0, entries: [{ address: addr(0), length: 0 }] })).toThrow(/positive/);
    expect(() => encodeBlobIndexNode({ level: 0, entries: [{ address: new Uint8Array(31), length: 1 }] })).toThrow(/32 bytes/);
    const many = Array.from({ length: 257 }, (_, i) => ({ address: addr(i), length: 1 }));
    expect(() => encodeBlobIndexNode({ level: 0, entries: many })).toThrow(/257 entries/);
  });

  it('boundary rule: first 4 address bytes as big-endian u32 below 2^26', () => {
    expect(isBlobIndexBoundary(fromHex('03ffffff' + '00'.repeat(28)))).toBe(true);
    expect(isBlobIndexBoundary(fromHex('04000000' + '00'.repeat(28)))).toBe(false);
    expect(isBlobIndexBoundary(fromHex('ff000000' + '00'.repeat(28)))).toBe(false);
  });
});

/** The level-by-level definition from FORMAT.md, non-streaming, for cross-checking the builder. */
function specIndex(entries: BlobIndexEntry[]): { root: string; nodes: Map<string, string> } {
  const nodes = new Map<string, string>();
  let level = 0;
  let current = entries;
  for (;;) {
    const groups: BlobIndexEntry[][] = [];
    let node: BlobIndexEntry[] = [];
    for (const e of current) {
      node.push(e);
      const u32 = Buffer.from(e.address).readUInt32BE(0);
      if (node.length === 256 || (node.length >= 2 && u32 < 2 ** 26)) {
        groups.push(node);
        node = [];
      }
    }
    if (node.length > 0 || groups.length === 0) groups.push(node);
    const next = groups.map((g) => {
      const bytes = encodeBlobIndexNode({ level, entries: g });
      const address = sha256(bytes);
      nodes.set(toHex(address), toHex(bytes));
      return { address, length: g.reduce((s, e) => s + e.length, 0) };
    });
    if (next.length === 1) return { root: toHex(next[0]!.address), nodes };
    current = next;
    level++;
  }
}

function buildStreaming(entries: BlobIndexEntry[]): { root: BlobIndexEntry; emitted: Chunk[] } {
  const emitted: Chunk[] = [];
  const b = new BlobIndexBuilder((c) => emitted.push(c));
  for (const e of entries) b.add(e);
  return { root: b.finish(), emitted };
}

describe('BlobIndexBuilder', () => {
  it('matches the level-by-level definition and emits exactly its nodes, children first (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 262144 })), { maxLength: 3000 }), (raw) => {
        const entries = raw.map(([i, length]) => ({ address: addr(i), length }));
        const spec = specIndex(entries);
        const { root, emitted } = buildStreaming(entries);
        expect(toHex(root.address)).toBe(spec.root);
        expect(root.length).toBe(entries.reduce((s, e) => s + e.length, 0));
        expect(new Set(emitted.map((c) => toHex(c.address)))).toEqual(new Set(spec.nodes.keys()));
        // Children before parents: every referenced index node was emitted earlier.
        const seen = new Set<string>();
        for (const c of emitted) {
          const node = decodeBlobIndexNode(c.bytes);
          if (node.level > 0) for (const e of node.entries) expect(seen.has(toHex(e.address))).toBe(true);
          seen.add(toHex(c.address));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('builds several levels for many entries, never an oversized node, root with 2+ entries', () => {
    const entries = Array.from({ length: 40_000 }, (_, i) => ({ address: addr(i), length: 65536 }));
    const { root, emitted } = buildStreaming(entries);
    const top = decodeBlobIndexNode(emitted.find((c) => toHex(c.address) === toHex(root.address))!.bytes);
    expect(top.level).toBeGreaterThanOrEqual(2);
    expect(top.entries.length).toBeGreaterThanOrEqual(2);
    for (const c of emitted) expect(c.bytes.length).toBeLessThanOrEqual(2 + 2 + 256 * (32 + 8));
    expect(toHex(root.address)).toBe(specIndex(entries).root);
  });

  it('forces a split at 256 entries when no address is a boundary', () => {
    const nonBoundary: BlobIndexEntry[] = [];
    for (let i = 0; nonBoundary.length < 600; i++) if (!isBlobIndexBoundary(addr(i))) nonBoundary.push({ address: addr(i), length: 1 });
    const { emitted } = buildStreaming(nonBoundary);
    const level0 = emitted.map((c) => decodeBlobIndexNode(c.bytes)).filter((n) => n.level === 0);
    expect(level0.map((n) => n.entries.length)).toEqual([256, 256, 88]);
  });

  it('an empty blob has a root: the level-0 node with no entries', () => {
    const { root, emitted } = buildStreaming([]);
    expect(emitted.map((c) => toHex(c.bytes))).toEqual(['420000']);
    expect(root).toEqual({ address: sha256(fromHex('420000')), length: 0 });
  });
});

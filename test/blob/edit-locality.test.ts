import { describe, expect, it } from 'vitest';
import { decodeBlobIndexNode } from '../../src/blob/blob-index.js';
import { pseudoRandomBytes } from '../../src/blob/pseudo-random.js';
import { blobChunkAddresses, readBlobBytes } from '../../src/blob/read-blob.js';
import { writeBlob } from '../../src/blob/write-blob.js';
import type { BlobRef } from '../../src/blob/blob-ref.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { toHex } from '../../src/util/bytes.js';

/** Data and index chunk addresses of a blob, separated by kind. */
async function chunkSets(store: MemoryStore, ref: BlobRef): Promise<{ data: Set<string>; index: Set<string>; depth: number }> {
  const data = new Set<string>();
  const index = new Set<string>();
  let depth = 0;
  for await (const a of blobChunkAddresses(store, ref)) {
    const bytes = (await store.get(a))!;
    // Data chunks are raw bytes; an index node decodes (a random data chunk starting 0x42 and decoding
    // strictly is vanishingly unlikely, and the list below is built from the index anyway).
    let isIndex = false;
    try {
      const node = decodeBlobIndexNode(bytes);
      isIndex = true;
      depth = Math.max(depth, node.level + 1);
    } catch {
      /* data chunk */
    }
    (isIndex ? index : data).add(toHex(a));
  }
  return { data, index, depth };
}

const newOnes = (after: Set<string>, before: Set<string>): number => [...after].filter((a) => !before.has(a)).length;

describe('edit locality (64 MiB random blob)', () => {
  const size = 64 << 20;
  const original = pseudoRandomBytes('edit-locality', size);
  const store = new MemoryStore();
  const baseP = writeBlob(store, original).then(async (ref) => ({ ref, sets: await chunkSets(store, ref) }));

  for (const at of [0, 12_345_678, size >> 1, size - 1]) {
    it(`changing 1 byte at ${at} adds at most 2 data chunks and rewrites only O(depth) index nodes`, async () => {
      const base = await baseP;
      const edited = Uint8Array.from(original);
      edited[at] = edited[at]! ^ 0x01;
      const sizeBefore = store.size;
      const ref = await writeBlob(store, edited);
      const sets = await chunkSets(store, ref);
      const newData = newOnes(sets.data, base.sets.data);
      const newIndex = newOnes(sets.index, base.sets.index);
      expect(newData).toBeGreaterThanOrEqual(1);
      expect(newData).toBeLessThanOrEqual(2);
      expect(newIndex).toBeLessThanOrEqual(2 * sets.depth);
      expect(store.size - sizeBefore).toBe(newData + newIndex);
      expect(Buffer.from(await readBlobBytes(store, ref)).equals(edited)).toBe(true);
    });
  }

  it('inserting 1000 bytes in the middle re-syncs: only the chunks around the insertion are new', async () => {
    const base = await baseP;
    const mid = 30_000_001;
    const inserted = Buffer.concat([original.subarray(0, mid), pseudoRandomBytes('insertion', 1000), original.subarray(mid)]);
    const ref = await writeBlob(store, inserted);
    const sets = await chunkSets(store, ref);
    expect(newOnes(sets.data, base.sets.data)).toBeLessThanOrEqual(3);
    expect(newOnes(sets.index, base.sets.index)).toBeLessThanOrEqual(2 * sets.depth);
    // Everything after the insertion point is shared again.
    expect(sets.data.size - newOnes(sets.data, base.sets.data)).toBeGreaterThan(base.sets.data.size - 4);
  });

  it('deleting a range in the middle re-syncs too', async () => {
    const base = await baseP;
    const cut = Buffer.concat([original.subarray(0, 40_000_000), original.subarray(40_050_000)]);
    const ref = await writeBlob(store, cut);
    const sets = await chunkSets(store, ref);
    expect(newOnes(sets.data, base.sets.data)).toBeLessThanOrEqual(2);
  });
});

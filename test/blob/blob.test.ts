import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlobRef } from '../../src/blob/blob-ref.js';
import { decodeBlobIndexNode } from '../../src/blob/blob-index.js';
import { CDC_MAX_SIZE, CDC_MIN_SIZE, cdcChunks } from '../../src/blob/fastcdc.js';
import { pseudoRandomBytes, pseudoRandomPieces } from '../../src/blob/pseudo-random.js';
import { blobChunkAddresses, readBlob, readBlobBytes, readBlobRange } from '../../src/blob/read-blob.js';
import { BlobWriter, writeBlob } from '../../src/blob/write-blob.js';
import { ProllyError } from '../../src/errors.js';
import type { Chunk, ChunkStore } from '../../src/store/chunk-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { asAsync, collect, splitAt, storeAddresses } from './helpers.js';

async function addressesOf(store: ChunkStore, ref: BlobRef): Promise<string[]> {
  const out: string[] = [];
  for await (const a of blobChunkAddresses(store, ref)) out.push(toHex(a));
  return out;
}

async function expectProllyError(p: Promise<unknown>, code: string, pattern: RegExp): Promise<ProllyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a rejection').toBeInstanceOf(ProllyError);
  expect((err as ProllyError).code).toBe(code);
  expect((err as Error).message).toMatch(pattern);
  return err as ProllyError;
}

describe('writeBlob / readBlob round trips', () => {
  const sizes: [string, number][] = [
    ['empty', 0],
    ['tiny', 1],
    ['just over inline', 1025],
    ['exactly min', CDC_MIN_SIZE],
    ['min + 1', CDC_MIN_SIZE + 1],
    ['exactly max', CDC_MAX_SIZE],
    ['max + 1', CDC_MAX_SIZE + 1],
    ['10 MiB', 10 << 20],
  ];
  for (const [name, n] of sizes) {
    it(`${name} (${n} bytes): one-shot, async-iterable and ReadableStream sources give the same ref and bytes`, async () => {
      const data = pseudoRandomBytes(`roundtrip-${n}`, n);
      const store = new MemoryStore();
      const ref = await writeBlob(store, data);
      expect(ref).toBeInstanceOf(BlobRef);
      expect(ref.length).toBe(n);
      const back = await readBlobBytes(store, ref);
      expect(Buffer.from(back).equals(data)).toBe(true);

      const pieces = splitAt(data, [1, 777, 70_000, 300_001, 5 << 20]);
      const viaIterable = await writeBlob(new MemoryStore(), asAsync(pieces));
      expect(toHex(viaIterable.address)).toBe(toHex(ref.address));
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (const p of pieces) c.enqueue(p);
          c.close();
        },
      });
      const viaStream = await writeBlob(new MemoryStore(), stream);
      expect(toHex(viaStream.address)).toBe(toHex(ref.address));
      expect(viaStream.length).toBe(n);

      // The store holds exactly the blob's chunks: data chunks by their raw-bytes address plus the index.
      const listed = await addressesOf(store, ref);
      expect(new Set(listed)).toEqual(await storeAddresses(store));
      expect(listed[0]).toBe(toHex(ref.address));
      for (const chunk of cdcChunks(data)) expect(listed).toContain(toHex(sha256(chunk)));
    });
  }

  it('the empty blob is the level-0 index node with no entries', async () => {
    const store = new MemoryStore();
    const ref = await writeBlob(store, new Uint8Array(0));
    expect(toHex((await store.get(ref.address))!)).toBe('420000');
    expect(toHex(ref.address)).toBe(toHex(sha256(fromHex('420000'))));
    expect(await collect(readBlob(store, ref))).toHaveLength(0);
  });

  it('accepts a Node Readable and a BlobWriter fed piece by piece with a reused buffer', async () => {
    const data = pseudoRandomBytes('node-readable', 3 << 20);
    const expected = await writeBlob(new MemoryStore(), data);
    const fromNode = await writeBlob(new MemoryStore(), Readable.from(splitAt(data, [100, 65536, 2 << 20]).map((b) => Buffer.from(b))));
    expect(toHex(fromNode.address)).toBe(toHex(expected.address));

    const store = new MemoryStore();
    const w = new BlobWriter(store);
    const buf = new Uint8Array(100_000);
    for (let o = 0; o < data.length; o += buf.length) {
      const n = Math.min(buf.length, data.length - o);
      buf.set(data.subarray(o, o + n));
      await w.write(buf.subarray(0, n));
      buf.fill(0x5a);
    }
    const ref = await w.finish();
    expect(toHex(ref.address)).toBe(toHex(expected.address));
    expect(Buffer.from(await readBlobBytes(store, ref)).equals(data)).toBe(true);
    await expect(w.write(new Uint8Array(1))).rejects.toThrow(/after finish/);
  });

  it('rejects a source that is not bytes, naming what it got', async () => {
    await expectProllyError(writeBlob(new MemoryStore(), 'text' as never), 'EINVAL', /got string/);
    await expectProllyError(writeBlob(new MemoryStore(), asAsync(['abc' as never])), 'EINVAL', /yielded string/);
  });

  it('batches puts through putMany and keeps batches near the requested size', async () => {
    const store = new MemoryStore();
    const batches: number[] = [];
    const putMany = store.putMany.bind(store);
    store.putMany = async (chunks: readonly Chunk[]) => {
      batches.push(chunks.reduce((s, c) => s + c.bytes.length, 0));
      return putMany(chunks);
    };
    const data = pseudoRandomBytes('batches', 6 << 20);
    await writeBlob(store, data, { batchBytes: 1 << 20 });
    expect(batches.length).toBeGreaterThanOrEqual(5);
    for (const b of batches.slice(0, -1)) {
      expect(b).toBeGreaterThanOrEqual(1 << 20);
      expect(b).toBeLessThan((1 << 20) + CDC_MAX_SIZE + 20_000);
    }
  });

  it('hands the store exact-size private copies, for one-shot and streamed sources', async () => {
    for (const streamed of [false, true]) {
      const store = new MemoryStore();
      const seen: Chunk[] = [];
      const putMany = store.putMany.bind(store);
      store.putMany = async (chunks: readonly Chunk[]) => {
        seen.push(...chunks);
        return putMany(chunks);
      };
      const data = pseudoRandomBytes('copies', 2 << 20);
      const ref = await writeBlob(store, streamed ? asAsync(splitAt(data, [1 << 20])) : data);
      data.fill(0); // the caller reuses its buffer afterwards
      expect(seen.length).toBeGreaterThan(10);
      for (const c of seen) {
        expect(c.bytes.byteOffset).toBe(0);
        expect(c.bytes.buffer.byteLength).toBe(c.bytes.length);
        expect(toHex(sha256(c.bytes))).toBe(toHex(c.address));
      }
      expect(Buffer.from(await readBlobBytes(store, ref)).equals(pseudoRandomBytes('copies', 2 << 20))).toBe(true);
    }
  });

  it('streams in bounded memory: it never reads far ahead of what the store has accepted', async () => {
    const total = 48 << 20;
    let produced = 0;
    let stored = 0;
    let maxLag = 0;
    const store = new MemoryStore();
    const putMany = store.putMany.bind(store);
    store.putMany = async (chunks: readonly Chunk[]) => {
      maxLag = Math.max(maxLag, produced - stored);
      await new Promise((r) => setTimeout(r, 2)); // a store slower than the chunker
      await putMany(chunks);
      stored += chunks.reduce((s, c) => s + c.bytes.length, 0);
    };
    async function* source(): AsyncIterable<Uint8Array> {
      for (const piece of pseudoRandomPieces('bounded', total, 1 << 20)) {
        produced += piece.length;
        yield piece;
      }
    }
    const ref = await writeBlob(store, source(), { batchBytes: 2 << 20 });
    expect(ref.length).toBe(total);
    expect(produced).toBe(total);
    // One batch in flight + one being filled + the chunker's carry-over (< MAX) + one piece.
    expect(maxLag).toBeLessThan(2 * (2 << 20) + 2 * CDC_MAX_SIZE + (1 << 20));
  });

  it('surfaces a failing putMany as the writeBlob rejection', async () => {
    const store = new MemoryStore();
    store.putMany = async () => {
      throw new Error('disk full');
    };
    await expect(writeBlob(store, pseudoRandomBytes('fail', 1 << 20))).rejects.toThrow('disk full');
  });
});

describe('dedup', () => {
  it('stores a repeated chunk once within a blob and shared chunks once across blobs', async () => {
    const store = new MemoryStore();
    // Zeros cut into identical max-size chunks: 40 chunks, one distinct data chunk.
    const zeros = new Uint8Array(CDC_MAX_SIZE * 40);
    const z = await writeBlob(store, zeros);
    const zeroChunks = (await addressesOf(store, z)).length;
    expect(store.size).toBe(zeroChunks);
    expect(zeroChunks).toBeLessThanOrEqual(3); // one data chunk + index node(s)
    expect(Buffer.from(await readBlobBytes(store, z)).equals(zeros)).toBe(true);

    const data = pseudoRandomBytes('dedup', 4 << 20);
    const a = await writeBlob(store, data);
    const afterA = store.size;
    const putsAfterA = store.stats.puts;
    const again = await writeBlob(store, data);
    expect(toHex(again.address)).toBe(toHex(a.address));
    expect(store.size).toBe(afterA);
    expect(store.stats.puts).toBe(putsAfterA);

    // A blob that appends to `data` shares all but the last chunk or two.
    const longer = Buffer.concat([data, pseudoRandomBytes('dedup-tail', 500_000)]);
    const b = await writeBlob(store, longer);
    const bChunks = await addressesOf(store, b);
    const newChunks = store.size - afterA;
    expect(newChunks).toBeLessThan(bChunks.length / 3);
    expect(Buffer.from(await readBlobBytes(store, b)).equals(longer)).toBe(true);
  });
});

describe('readBlobRange', () => {
  const data = pseudoRandomBytes('range', 5 << 20);
  const store = new MemoryStore();
  const refP = writeBlob(store, data);

  it('returns exactly bytes [start, end) for arbitrary ranges (property)', async () => {
    const ref = await refP;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: data.length }), fc.integer({ min: 0, max: 400_000 }), async (start, span) => {
        const end = Math.min(data.length, start + span);
        const got = await collect(readBlobRange(store, ref, start, end));
        expect(Buffer.from(got).equals(data.subarray(start, end))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('fetches only the chunks that overlap the range', async () => {
    const ref = await refP;
    const before = store.stats.gets;
    const got = await collect(readBlobRange(store, ref, 3_000_000, 3_000_010));
    expect(Buffer.from(got).equals(data.subarray(3_000_000, 3_000_010))).toBe(true);
    // root + (at most a level-0 node, if the root is above it) + one or two data chunks
    expect(store.stats.gets - before).toBeLessThanOrEqual(4);
  });

  it('rejects ranges outside the blob', async () => {
    const ref = await refP;
    expect(() => readBlobRange(store, ref, -1, 5)).toThrow(/range \[-1, 5\)/);
    expect(() => readBlobRange(store, ref, 10, 5)).toThrow(ProllyError);
    expect(() => readBlobRange(store, ref, 0, data.length + 1)).toThrow(/not within/);
  });

  it('streams with prefetch and tolerates the consumer stopping early', async () => {
    const ref = await refP;
    let n = 0;
    for await (const part of readBlob(store, ref, { prefetchChunks: 2 })) {
      expect(part.length).toBeGreaterThan(0);
      if (++n === 3) break;
    }
    expect(n).toBe(3);
  });
});

describe('damaged stores', () => {
  async function fresh(): Promise<{ store: MemoryStore; ref: BlobRef; data: Uint8Array }> {
    const store = new MemoryStore('damaged');
    const data = pseudoRandomBytes('damaged', 6 << 20);
    return { store, data, ref: await writeBlob(store, data) };
  }

  it('a missing data chunk gives ECHUNKMISSING naming the blob and the chunk', async () => {
    const { store, ref, data } = await fresh();
    const victim = sha256([...cdcChunks(data)][20]!);
    store.delete(victim);
    const err = await expectProllyError(readBlobBytes(store, ref), 'ECHUNKMISSING', new RegExp(`blob ${toHex(ref.address)}: data chunk ${toHex(victim)} is missing from damaged`));
    expect(err.data).toMatchObject({ blob: toHex(ref.address), address: toHex(victim), kind: 'data' });
    // blobChunkAddresses still lists it (it reads only the index): push uses this to find what is absent.
    expect(await addressesOf(store, ref)).toContain(toHex(victim));
  });

  it('a missing index node gives ECHUNKMISSING from read and from blobChunkAddresses', async () => {
    const { store, ref } = await fresh();
    const root = decodeBlobIndexNode((await store.get(ref.address))!);
    expect(root.level).toBeGreaterThan(0); // 6 MiB ≈ 85 chunks: more than one level-0 node
    const child = root.entries[1]!.address;
    store.delete(child);
    await expectProllyError(readBlobBytes(store, ref), 'ECHUNKMISSING', new RegExp(`index chunk ${toHex(child)}`));
    await expectProllyError(addressesOf(store, ref), 'ECHUNKMISSING', new RegExp(toHex(child)));
    store.delete(ref.address);
    await expectProllyError(collect(readBlobRange(store, ref, 0, 0)), 'ECHUNKMISSING', new RegExp(`index chunk ${toHex(ref.address)}`));
  });

  it('a data chunk whose length disagrees with the index gives ECHUNKCORRUPT', async () => {
    const { store, ref, data } = await fresh();
    const victim = sha256([...cdcChunks(data)][5]!);
    store.corrupt(victim, (b) => b.subarray(0, b.length - 1));
    await expectProllyError(readBlobBytes(store, ref), 'ECHUNKCORRUPT', new RegExp(`data chunk ${toHex(victim)} has \\d+ bytes, its index entry says`));
  });

  it('a reference whose length disagrees with the root, or whose root is not an index node, is refused', async () => {
    const { store, ref } = await fresh();
    await expectProllyError(readBlobBytes(store, new BlobRef(ref.address, ref.length + 1)), 'EBADENCODING', /covers \d+ bytes, the reference says/);
    const notIndex = new Uint8Array([1, 0, 0]);
    const address = sha256(notIndex);
    await store.put({ address, bytes: notIndex });
    await expectProllyError(readBlobBytes(store, new BlobRef(address, 0)), 'EBADENCODING', /first byte is 0x01/);
  });
});

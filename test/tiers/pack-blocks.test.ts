/**
 * Pack version 2: chunks compressed in zstd blocks. Format (layout, determinism, damage), manifest
 * segments with block entries, PackStore reads and writes over a directory backend, and the remote
 * tier that uses it. Data is seeded, so every run packs the same bytes.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { DirectoryBackend } from '../../src/store/backends/directory-backend.js';
import type { Chunk } from '../../src/store/chunk-store.js';
import { CompressingStore, STORED_ZSTD } from '../../src/store/compressing-store.js';
import { ManifestSegment, SEGMENT_ENTRY_BYTES_V2 } from '../../src/store/pack/manifest.js';
import {
  BLOCK_CODEC_ZSTD,
  PACK_ENTRY_BYTES_V2,
  PACK_FOOTER_BYTES,
  PACK_HEADER_BYTES,
  decodePack,
  encodePack,
  encodePackAsync,
  readPackChunks,
  type EncodedPack,
} from '../../src/store/pack/pack-format.js';
import { PackStore } from '../../src/store/pack/pack-store.js';
import { Tier } from '../../src/store/tiered/tier.js';
import { toHex } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { xorshift32 } from '../../src/util/prng.js';

const KiB = 1024;

/** Compressible bytes: JSON rows with a few random digits each (about 4:1 under zstd). */
function rows(seed: number, size: number): Uint8Array {
  const next = xorshift32(seed);
  const parts: string[] = [];
  let len = 0;
  for (let row = 0; len < size; row++) {
    const line = `{"id":${seed * 1000 + row},"user":"user-${next() % 5000}","score":${next() % 1000},"tag":"t${next() % 97}"}\n`;
    parts.push(line);
    len += line.length;
  }
  return new Uint8Array(Buffer.from(parts.join('')).subarray(0, size));
}

/** Bytes that do not compress. */
function noise(seed: number, size: number): Uint8Array {
  const next = xorshift32(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = next() & 0xff;
  return out;
}

function chunkOf(bytes: Uint8Array): Chunk {
  return { address: sha256(bytes), bytes };
}

/** 0xFF as first byte marks chunks that should stay as they are (like an already compressed stored form). */
const notMarked = (b: Uint8Array) => b[0] !== 0xff;

function mixed(): Chunk[] {
  const out: Chunk[] = [];
  for (let i = 0; i < 40; i++) out.push(chunkOf(rows(i + 1, 2000 + ((i * 997) % 2000))));
  for (let i = 0; i < 5; i++) {
    const b = noise(100 + i, 1500);
    b[0] = 0xff;
    out.splice(i * 8 + 3, 0, chunkOf(b));
  }
  out.push(chunkOf(new Uint8Array(0)));
  return out;
}

function totalBytes(chunks: readonly Chunk[]): number {
  return chunks.reduce((a, c) => a + c.bytes.length, 0);
}

function byAddress(chunks: readonly Chunk[]): Map<string, Chunk> {
  return new Map(chunks.map((c) => [toHex(c.address), c]));
}

describe('pack format version 2 (blocks)', () => {
  it('puts compressible chunks in zstd blocks and the rest as they are; every chunk reads back checked', async () => {
    const chunks = mixed();
    const pack = await encodePackAsync(chunks, { level: 3, blockBytes: 16 * KiB, compressible: notMarked });
    expect(pack.version).toBe(2);
    expect(pack.bytes[8]).toBe(2);
    expect(pack.bytes.length).toBe(pack.indexOffset + chunks.length * PACK_ENTRY_BYTES_V2 + PACK_FOOTER_BYTES);
    expect(pack.bytes.length).toBeLessThan(totalBytes(chunks) * 0.6);

    const { entries, version } = decodePack(pack.bytes, 'p');
    expect(version).toBe(2);
    expect(entries.map((e) => toHex(e.address))).toEqual(chunks.map((c) => toHex(c.address)).sort());
    const original = byAddress(chunks);
    const blocks = new Set<number>();
    for (const e of entries) {
      const c = original.get(toHex(e.address))!;
      expect(toHex(e.checksum)).toBe(toHex(sha256(c.bytes)));
      expect(e.offset).toBeGreaterThanOrEqual(PACK_HEADER_BYTES);
      expect(e.offset + e.length).toBeLessThanOrEqual(pack.indexOffset);
      if (c.bytes.length > 0 && notMarked(c.bytes)) {
        expect(e.within).toBeDefined();
        expect(e.within!.length).toBe(c.bytes.length);
        expect(pack.bytes[e.offset]).toBe(BLOCK_CODEC_ZSTD);
        blocks.add(e.offset);
      } else {
        expect(e.within).toBeUndefined();
        expect(toHex(pack.bytes.subarray(e.offset, e.offset + e.length))).toBe(toHex(c.bytes));
      }
    }
    // ~120 KB of rows in 16 KiB blocks.
    expect(blocks.size).toBeGreaterThanOrEqual(6);
    expect(blocks.size).toBeLessThanOrEqual(9);

    const read = await readPackChunks(pack.bytes, entries, 'p');
    read.forEach((bytes, i) => expect(toHex(bytes)).toBe(toHex(original.get(toHex(entries[i]!.address))!.bytes)));
  });

  it('is deterministic although blocks compress on other threads', async () => {
    const chunks = mixed();
    const opts = { level: 3, blockBytes: 8 * KiB, compressible: notMarked };
    const names = await Promise.all([1, 2, 3].map(async () => toHex((await encodePackAsync(chunks.map((c) => ({ ...c })), opts)).hash)));
    expect(new Set(names).size).toBe(1);
    expect(toHex((await encodePackAsync([...chunks].reverse(), opts)).hash)).not.toBe(names[0]);
  });

  it('is version 1, byte for byte what encodePack writes, when no chunk is compressible', async () => {
    const chunks = Array.from({ length: 12 }, (_, i) => {
      const b = noise(i + 1, 900);
      b[0] = 0xff;
      return chunkOf(b);
    });
    const v2 = await encodePackAsync(chunks, { level: 3, compressible: notMarked });
    const v1 = encodePack(chunks);
    expect(v2.version).toBe(1);
    expect(toHex(v2.hash)).toBe(toHex(v1.hash));
  });

  it('stores the chunks of blocks zstd cannot shrink as they are (and then, with no block left, writes version 1)', async () => {
    const chunks = Array.from({ length: 30 }, (_, i) => chunkOf(noise(200 + i, 1000 + i * 10)));
    const pack = await encodePackAsync(chunks, { level: 3, blockBytes: 4 * KiB });
    expect(pack.version).toBe(1);
    expect(toHex(pack.hash)).toBe(toHex(encodePack(chunks).hash));
    // Mixed with compressible ones: only the rows end up in blocks.
    const rowsChunks = Array.from({ length: 30 }, (_, i) => chunkOf(rows(300 + i, 3000)));
    const both = await encodePackAsync([...chunks, ...rowsChunks], { level: 3, blockBytes: 4 * KiB });
    const rowKeys = new Set(rowsChunks.map((c) => toHex(c.address)));
    const entries = decodePack(both.bytes, 'p').entries;
    for (const e of entries) if (rowKeys.has(toHex(e.address))) expect(e.within).toBeDefined();
    // Noise shares a block with rows only at the boundary between the two runs.
    expect(entries.filter((e) => !rowKeys.has(toHex(e.address)) && e.within).length).toBeLessThanOrEqual(4);
  });

  it('catches damage in a block: unknown codec, a frame that does not decode, an entry outside the data area', async () => {
    const chunks = mixed();
    const pack = await encodePackAsync(chunks, { level: 3, blockBytes: 16 * KiB, compressible: notMarked });
    const { entries } = decodePack(pack.bytes, 'p');
    const inBlock = entries.find((e) => e.within)!;

    const badCodec = Uint8Array.from(pack.bytes);
    badCodec[inBlock.offset] = 7;
    await expect(readPackChunks(badCodec, [inBlock], 'p')).rejects.toThrow(/unknown block codec 7/);

    const badFrame = Uint8Array.from(pack.bytes);
    for (let i = 1; i < 9; i++) badFrame[inBlock.offset + i]! ^= 0x5a; // the zstd magic and frame header
    const err = await readPackChunks(badFrame, [inBlock], 'p').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('ECHUNKCORRUPT');

    // A block whose range runs into the index.
    const badEntry = Uint8Array.from(pack.bytes);
    const view = new DataView(badEntry.buffer);
    const k = entries.indexOf(inBlock);
    view.setUint32(pack.indexOffset + k * PACK_ENTRY_BYTES_V2 + 76, pack.indexOffset);
    expect(() => decodePack(badEntry, 'packs/x.pack')).toThrow(/outside the data area/);
  });
});

describe('manifest segments with block entries', () => {
  function segmentOf(pack: EncodedPack) {
    return ManifestSegment.fromPacks([
      { info: { hash: pack.hash, size: pack.bytes.length, indexOffset: pack.indexOffset, chunkCount: pack.entries.length }, entries: pack.entries },
    ]);
  }

  it('encode as version 2 (84-byte entries), round-trip, and locate chunks inside blocks', async () => {
    const chunks = mixed();
    const pack = await encodePackAsync(chunks, { level: 3, blockBytes: 16 * KiB, compressible: notMarked });
    const seg = segmentOf(pack);
    const bytes = seg.encode();
    expect(bytes[8]).toBe(2);
    expect(bytes.length).toBe(20 + 1024 + 48 + chunks.length * SEGMENT_ENTRY_BYTES_V2);
    const again = ManifestSegment.decode(bytes, 's');
    expect(toHex(again.encode())).toBe(toHex(bytes));
    const fromIndex = ManifestSegment.fromIndexes([
      {
        info: { hash: pack.hash, size: pack.bytes.length, indexOffset: pack.indexOffset, chunkCount: pack.entries.length },
        index: pack.bytes.subarray(pack.indexOffset, pack.bytes.length - PACK_FOOTER_BYTES),
        version: 2,
      },
    ]);
    expect(toHex(fromIndex.encode())).toBe(toHex(bytes));
    for (const e of pack.entries) {
      const loc = again.find(e.address)!;
      expect({ offset: loc.offset, length: loc.length, within: loc.within }).toEqual({ offset: e.offset, length: e.length, within: e.within });
    }
  });

  it('a union with version 1 segments keeps both kinds of entry; without block entries it encodes as version 1', async () => {
    const plain = encodePack([chunkOf(rows(7, 300)), chunkOf(rows(8, 300))]);
    const blocked = await encodePackAsync([chunkOf(rows(9, 3000)), chunkOf(rows(10, 3000))], { level: 1 });
    const a = segmentOf(plain);
    const b = segmentOf(blocked);
    expect(a.encode()[8]).toBe(1);
    const union = ManifestSegment.merge(ManifestSegment.decode(a.encode(), 'a'), ManifestSegment.decode(b.encode(), 'b'));
    expect(union.count).toBe(4);
    expect(union.encode()[8]).toBe(2);
    expect(ManifestSegment.decode(union.encode(), 'u').find(plain.entries[0]!.address)!.within).toBeUndefined();
    expect(ManifestSegment.decode(union.encode(), 'u').find(blocked.entries[0]!.address)!.within).toBeDefined();
    expect(toHex(ManifestSegment.merge(b, a).encode())).toBe(toHex(union.encode()));
    expect(ManifestSegment.merge(a, segmentOf(encodePack([chunkOf(rows(11, 50))]))).encode()[8]).toBe(1);
  });
});

describe('PackStore with block compression', () => {
  const dirs: string[] = [];
  const stores: PackStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function dir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'prolly-packblocks-'));
    dirs.push(d);
    return d;
  }
  function open(root: string, opts: Partial<ConstructorParameters<typeof PackStore>[0]> = {}): PackStore {
    const s = new PackStore({ backend: new DirectoryBackend({ root }), blocks: { level: 3, blockBytes: 32 * KiB }, ...opts });
    stores.push(s);
    return s;
  }
  const dataset = () => Array.from({ length: 300 }, (_, i) => chunkOf(rows(1000 + i, 2500 + ((i * 131) % 1500))));

  it('uploads compressed blocks; a cold read is one LIST, one segment GET and one ranged GET of the block', async () => {
    const root = await dir();
    const chunks = dataset();
    const writer = open(root);
    await writer.putMany(chunks);
    // Readable before and after the flush.
    expect(toHex((await writer.get(chunks[5]!.address))!)).toBe(toHex(chunks[5]!.bytes));
    await writer.flush();
    expect(writer.stats.packsWritten).toBe(1);
    const packs = await readdir(join(root, 'packs'));
    const packBytes = await readFile(join(root, 'packs', packs[0]!));
    expect(packBytes[8]).toBe(2);
    expect(packBytes.length).toBeLessThan(totalBytes(chunks) / 2);

    const backend = new DirectoryBackend({ root });
    const cold = new PackStore({ backend });
    stores.push(cold);
    const s0 = { ...backend.stats };
    expect(toHex((await cold.get(chunks[150]!.address))!)).toBe(toHex(chunks[150]!.bytes));
    const loc = (await cold.locate(chunks[150]!.address))!;
    expect(loc.within).toBeDefined();
    expect({ lists: backend.stats.lists - s0.lists, gets: backend.stats.gets - s0.gets }).toEqual({ lists: 1, gets: 2 });
    // Neighbours in one block: one more ranged GET, of that block only.
    const s1 = { ...backend.stats };
    const run = chunks.slice(150, 153);
    const got = await cold.getMany(run.map((c) => c.address));
    got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(run[i]!.bytes)));
    expect(backend.stats.gets - s1.gets).toBe(1);
    const locs = await Promise.all(run.map((c) => cold.locate(c.address)));
    const span = Math.max(...locs.map((l) => l!.offset + l!.length)) - Math.min(...locs.map((l) => l!.offset));
    expect(backend.stats.bytesDown - s1.bytesDown).toBe(span); // the block(s) holding them, nothing else
    // Everything reads back.
    const all = await cold.getMany(chunks.map((c) => c.address));
    expect(all.every((g, i) => g && toHex(g) === toHex(chunks[i]!.bytes))).toBe(true);
  });

  it('seals packs by compressed size, the same way every run: two stores given the same chunks write the same packs', async () => {
    const chunks = dataset();
    const target = 64 * KiB;
    const names: string[][] = [];
    for (const _ of [1, 2]) {
      const root = await dir();
      const s = open(root, { targetPackBytes: target, blocks: { level: 3, blockBytes: 4 * KiB }, uploadConcurrency: 3 });
      for (let i = 0; i < chunks.length; i += 37) await s.putMany(chunks.slice(i, i + 37));
      await s.flush();
      names.push((await readdir(join(root, 'packs'))).sort());
    }
    expect(names[0]).toEqual(names[1]);
    // Counted at input size there would be 16 packs; compressed, the ~1 MB of rows fit far fewer.
    const inputPacks = Math.ceil(totalBytes(chunks) / target);
    expect(names[0]!.length).toBeGreaterThan(1);
    expect(names[0]!.length).toBeLessThan(inputPacks / 2);
  });

  it('a damaged block fails reads of its chunks with ECHUNKCORRUPT naming the chunk; other blocks still read', async () => {
    const root = await dir();
    const chunks = dataset();
    const writer = open(root);
    await writer.putMany(chunks);
    await writer.flush();
    const victim = (await writer.locate(chunks[10]!.address))!;
    const [packName] = await readdir(join(root, 'packs'));
    const file = join(root, 'packs', packName!);
    const bytes = await readFile(file);
    for (let i = 1; i < 9; i++) bytes[victim.offset + i]! ^= 0x33;
    await writeFile(file, bytes);

    const cold = new PackStore({ backend: new DirectoryBackend({ root }) });
    stores.push(cold);
    const err = await cold.get(chunks[10]!.address).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('ECHUNKCORRUPT');
    expect((err as ProllyError).message).toContain(toHex(chunks[10]!.address));
    // Chunks of every other block are intact.
    let checked = 0;
    for (const c of chunks) {
      if ((await cold.locate(c.address))!.offset === victim.offset) continue;
      expect(toHex((await cold.get(c.address))!)).toBe(toHex(c.bytes));
      checked++;
    }
    expect(checked).toBeGreaterThan(chunks.length / 2);
  });
});

describe('PackStore reusing upload buffers', () => {
  it('builds later packs in the buffers of uploaded ones without damaging any pack', async () => {
    const root = await mkdtemp(join(tmpdir(), 'prolly-packreuse-'));
    try {
      const chunks = Array.from({ length: 400 }, (_, i) => chunkOf(i % 2 ? noise(300 + i, 2000 + (i % 7) * 300) : rows(300 + i, 2500)));
      const store = new PackStore({ backend: new DirectoryBackend({ root }), targetPackBytes: 64 * KiB, uploadConcurrency: 1, reuseBuffers: true });
      for (let i = 0; i < chunks.length; i += 50) await store.putMany(chunks.slice(i, i + 50));
      await store.flush();
      expect(store.stats.packsWritten).toBeGreaterThan(8);
      // Every pack still hashes to its name and holds exactly its chunks.
      for (const name of await readdir(join(root, 'packs'))) {
        const bytes = await readFile(join(root, 'packs', name));
        expect(`${toHex(sha256(bytes))}.pack`).toBe(name);
        const { entries } = decodePack(bytes, name);
        await readPackChunks(bytes, entries, name); // throws on any checksum mismatch
      }
      const cold = new PackStore({ backend: new DirectoryBackend({ root }) });
      const got = await cold.getMany(chunks.map((c) => c.address));
      expect(got.every((g, i) => g && toHex(g) === toHex(chunks[i]!.bytes))).toBe(true);
      await store.close();
      await cold.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('remote tier with [compression] zstd', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('writes block-compressed packs, keeps per-chunk-compressed stored forms as they are, and reads older per-chunk packs', async () => {
    const root = await mkdtemp(join(tmpdir(), 'prolly-tierblocks-'));
    dirs.push(root);
    const ctx = { workTree: root, compression: { type: 'zstd' as const, level: 3, local: false } };
    const canonical = Array.from({ length: 60 }, (_, i) => chunkOf(rows(5000 + i, 3000)));
    // What a compressed local store holds: header byte 1 + one zstd frame per chunk.
    const perChunk = new CompressingStore({ inner: new PackStore({ backend: new DirectoryBackend({ root: join(root, 'unused') }) }), level: 3 });
    const precompressed = Array.from({ length: 20 }, (_, i) => chunkOf(rows(6000 + i, 3000)));
    const storedForms = await Promise.all(precompressed.map(async (c) => ({ address: c.address, bytes: await perChunk.encode(c.bytes) })));
    expect(storedForms.every((s) => s.bytes[0] === STORED_ZSTD)).toBe(true);

    const tier = new Tier({ name: 'share', type: 'local', path: join(root, 'remote') }, ctx);
    const layers = await tier.open();
    await tier.store.putMany(canonical);
    await layers.storedForm!.putMany(storedForms);
    await tier.close();

    const packs = await readdir(join(root, 'remote', 'packs'));
    expect(packs).toHaveLength(1);
    const { entries } = decodePack(await readFile(join(root, 'remote', 'packs', packs[0]!)), packs[0]!);
    const blockEntries = entries.filter((e) => e.within);
    expect(blockEntries).toHaveLength(canonical.length);
    const precompressedKeys = new Set(precompressed.map((c) => toHex(c.address)));
    for (const e of entries) if (precompressedKeys.has(toHex(e.address))) expect(e.within).toBeUndefined();

    // Version 1 packs of per-chunk zstd stored forms, as tiers wrote them before blocks.
    const old = new CompressingStore({ inner: new PackStore({ backend: new DirectoryBackend({ root: join(root, 'remote') }) }), level: 3 });
    const legacy = Array.from({ length: 10 }, (_, i) => chunkOf(rows(7000 + i, 2000)));
    await old.putMany(legacy);
    await old.close();

    const reader = new Tier({ name: 'share', type: 'local', path: join(root, 'remote') }, ctx);
    const all = [...canonical, ...precompressed, ...legacy];
    const got = await reader.store.getMany(all.map((c) => c.address));
    expect(got.every((g, i) => g && toHex(g) === toHex(all[i]!.bytes))).toBe(true);
    await reader.close();
  });
});

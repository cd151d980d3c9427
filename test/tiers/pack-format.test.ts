import * as dagCbor from '@ipld/dag-cbor';
import { randomBytes } from 'node:crypto';
import { CID } from 'multiformats/cid';
import { describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { encodeCarHeader, encodeCarV1 } from '../../src/store/backends/car.js';
import { cidOfAddress } from '../../src/store/backends/ipfs-store.js';
import { ManifestSegment, segmentObjectName } from '../../src/store/pack/manifest.js';
import {
  PACK_ENTRY_BYTES,
  PACK_FOOTER_BYTES,
  PACK_HEADER_BYTES,
  decodePack,
  encodePack,
  packObjectName,
} from '../../src/store/pack/pack-format.js';
import { concatBytes, toHex } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

function chunk(n: number) {
  const bytes = new Uint8Array(randomBytes(n));
  return { address: sha256(bytes), bytes };
}

function segmentOf(chunks: ReturnType<typeof chunk>[]) {
  const pack = encodePack(chunks);
  return {
    pack,
    seg: ManifestSegment.fromPacks([
      { info: { hash: pack.hash, size: pack.bytes.length, indexOffset: pack.indexOffset, chunkCount: pack.entries.length }, entries: pack.entries },
    ]),
  };
}

describe('pack format', () => {
  it('lays chunks out in put order after a 12-byte header, with a sorted index and footer', () => {
    const chunks = [chunk(10), chunk(0), chunk(300), chunk(7)];
    const pack = encodePack([...chunks, chunks[0]!]); // duplicate dropped
    const dataBytes = 10 + 0 + 300 + 7;
    expect(pack.bytes.length).toBe(PACK_HEADER_BYTES + dataBytes + 4 * PACK_ENTRY_BYTES + PACK_FOOTER_BYTES);
    expect(Buffer.from(pack.bytes.subarray(0, 8)).toString('latin1')).toBe('PRLYPACK');
    expect(pack.bytes[8]).toBe(1);
    expect(toHex(pack.hash)).toBe(toHex(sha256(pack.bytes)));
    expect(packObjectName(pack.hash)).toBe(`packs/${toHex(pack.hash)}.pack`);
    // Data area is the chunks back to back in the order given.
    expect(toHex(pack.bytes.subarray(PACK_HEADER_BYTES, PACK_HEADER_BYTES + dataBytes))).toBe(
      toHex(concatBytes(chunks.map((c) => c.bytes))),
    );
    const { entries } = decodePack(pack.bytes, 'p');
    expect(entries.map((e) => toHex(e.address))).toEqual(chunks.map((c) => toHex(c.address)).sort());
    for (const e of entries) {
      const c = chunks.find((x) => toHex(x.address) === toHex(e.address))!;
      expect(toHex(pack.bytes.subarray(e.offset, e.offset + e.length))).toBe(toHex(c.bytes));
      expect(toHex(e.checksum)).toBe(toHex(sha256(c.bytes)));
    }
  });

  it('is deterministic: the same chunks in the same order give the same pack name', () => {
    const chunks = [chunk(100), chunk(200)];
    expect(toHex(encodePack(chunks).hash)).toBe(toHex(encodePack(chunks.map((c) => ({ ...c }))).hash));
    expect(toHex(encodePack(chunks).hash)).not.toBe(toHex(encodePack([...chunks].reverse()).hash));
  });

  it('rejects damaged packs: bad magic, footer that does not fit, chunk outside the data area', () => {
    const pack = encodePack([chunk(50), chunk(60)]);
    const badMagic = Uint8Array.from(pack.bytes);
    badMagic[0] = 0x51;
    expect(() => decodePack(badMagic, 'p')).toThrow(/bad magic/);
    const badFooter = Uint8Array.from(pack.bytes);
    badFooter[badFooter.length - PACK_FOOTER_BYTES + 3]! ^= 1; // indexOffset
    expect(() => decodePack(badFooter, 'p')).toThrow(/does not fit/);
    const badEntry = Uint8Array.from(pack.bytes);
    const lengthField = pack.indexOffset + 68;
    new DataView(badEntry.buffer).setUint32(lengthField, 1_000_000);
    expect(() => decodePack(badEntry, 'p')).toThrow(/outside the data area/);
    try {
      decodePack(badEntry, 'packs/x.pack');
    } catch (e) {
      expect(e).toBeInstanceOf(ProllyError);
      expect((e as ProllyError).code).toBe('EBADENCODING');
    }
  });
});

describe('manifest segments', () => {
  it('round-trip through bytes and find every chunk', () => {
    const chunks = Array.from({ length: 300 }, () => chunk(20));
    const { pack, seg } = segmentOf(chunks);
    const bytes = seg.encode();
    const again = ManifestSegment.decode(bytes, 's');
    expect(again.count).toBe(300);
    expect(toHex(again.encode())).toBe(toHex(bytes));
    for (const c of chunks) {
      const loc = again.find(c.address)!;
      expect(toHex(loc.pack.hash)).toBe(toHex(pack.hash));
      expect(toHex(pack.bytes.subarray(loc.offset, loc.offset + loc.length))).toBe(toHex(c.bytes));
      expect(toHex(loc.checksum)).toBe(toHex(sha256(c.bytes)));
    }
    expect(again.find(chunk(5).address)).toBeUndefined();
    expect(segmentObjectName(seg.hash())).toBe(`manifest/${toHex(sha256(bytes))}.seg`);
  });

  it('merge is a union independent of order, and a duplicate chunk resolves to the smaller pack hash', () => {
    const shared = chunk(33);
    const a = segmentOf([chunk(10), shared, chunk(11)]);
    const b = segmentOf([shared, chunk(12)]);
    const c = segmentOf([chunk(13)]);
    const ab_c = ManifestSegment.merge(ManifestSegment.merge(a.seg, b.seg), c.seg);
    const c_ba = ManifestSegment.merge(c.seg, ManifestSegment.merge(b.seg, a.seg));
    expect(toHex(ab_c.encode())).toBe(toHex(c_ba.encode()));
    expect(ab_c.count).toBe(3 + 2 + 1 - 1);
    expect(ab_c.packs.length).toBe(3);
    const winner = [a.pack.hash, b.pack.hash].map(toHex).sort()[0];
    expect(toHex(ab_c.find(shared.address)!.pack.hash)).toBe(winner);
    // Merging a segment with itself changes nothing.
    expect(toHex(ManifestSegment.merge(ab_c, ab_c).encode())).toBe(toHex(ab_c.encode()));
  });

  it('decode rejects truncation, unsorted entries and a wrong fanout', () => {
    const { seg } = segmentOf([chunk(1), chunk(2), chunk(3)]);
    const bytes = seg.encode();
    expect(() => ManifestSegment.decode(bytes.subarray(0, bytes.length - 1), 's')).toThrow(/do not match/);
    const swapped = Uint8Array.from(bytes);
    const start = bytes.length - 3 * 76;
    const first = swapped.slice(start, start + 76);
    swapped.copyWithin(start, start + 76, start + 152);
    swapped.set(first, start + 76);
    expect(() => ManifestSegment.decode(swapped, 's')).toThrow(/not sorted/);
    const badFanout = Uint8Array.from(bytes);
    badFanout[20 + 255 * 4 + 3]! ^= 1;
    expect(() => ManifestSegment.decode(badFanout, 's')).toThrow(/fanout/);
  });
});

describe('CAR encoding', () => {
  it('header bytes equal @ipld/dag-cbor encoding of { roots, version: 1 }', () => {
    for (const n of [0, 1, 23, 24, 500, 300]) {
      const cids = Array.from({ length: n }, () => cidOfAddress(chunk(8).address));
      const ours = encodeCarHeader(cids.map((c) => c.bytes));
      const theirs = dagCbor.encode({ roots: cids, version: 1 });
      expect(toHex(ours)).toBe(toHex(theirs));
    }
  });

  it('a CAR of raw blocks parses back (varint frames, CIDs, bytes)', () => {
    const blocks = [chunk(5), chunk(200)];
    const cids = blocks.map((b) => cidOfAddress(b.address));
    const car = concatBytes(encodeCarV1({ roots: [cids[0]!.bytes], blocks: blocks.map((b, i) => ({ cid: cids[i]!.bytes, bytes: b.bytes })) }));
    let p = 0;
    const readVarint = () => {
      let v = 0;
      let s = 1;
      for (;;) {
        const b = car[p++]!;
        v += (b & 0x7f) * s;
        if (!(b & 0x80)) return v;
        s *= 128;
      }
    };
    const headerLen = readVarint();
    const header = dagCbor.decode(car.subarray(p, p + headerLen)) as { roots: CID[]; version: number };
    p += headerLen;
    expect(header.version).toBe(1);
    expect(header.roots.map(String)).toEqual([cids[0]!.toString()]);
    for (let i = 0; i < blocks.length; i++) {
      const len = readVarint();
      const cid = CID.decodeFirst(car.subarray(p))[0];
      expect(cid.toString()).toBe(cids[i]!.toString());
      expect(toHex(cid.multihash.digest)).toBe(toHex(blocks[i]!.address));
      expect(toHex(car.subarray(p + cid.bytes.length, p + len))).toBe(toHex(blocks[i]!.bytes));
      p += len;
    }
    expect(p).toBe(car.length);
    expect(cids[0]!.toString().startsWith('bafkrei')).toBe(true);
  });
});

/**
 * scanNode: the length / blob check push runs over every leaf it sends, without decoding it. Its
 * varint reading must accept and reject exactly what the strict decoder (util/varint) does.
 */
import { describe, expect, it } from 'vitest';
import { BlobRef } from '../../src/blob/blob-ref.js';
import { nodeLength, scanNode } from '../../src/store/remote/batch-decode.js';
import { encodeInternalPayload, encodeLeafPayload, encodeNode } from '../../src/tree/node.js';
import { concatBytes, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { writeVarint } from '../../src/util/varint.js';

function entry(key: Uint8Array, payload: Uint8Array): Uint8Array {
  const k = new Uint8Array(9);
  const n = writeVarint(k, 0, key.length);
  return concatBytes([k.subarray(0, n), key, payload]);
}

function leaf(values: (Uint8Array | BlobRef)[]): Uint8Array {
  return encodeNode(0, values.length, concatBytes(values.map((v, i) => entry(utf8(`key-${i}`), encodeLeafPayload(v)))));
}

describe('scanNode', () => {
  it('measures leaves and internal nodes, and tells leaves holding blob references', () => {
    const plain = leaf([utf8('a'), new Uint8Array(300).fill(7), utf8('')]);
    const withBlob = leaf([utf8('x'), new BlobRef(sha256(utf8('blob')), 5_000_000)]);
    const internal = encodeNode(1, 2, concatBytes([entry(utf8('k1'), encodeInternalPayload(sha256(plain), 3)), entry(utf8('k2'), encodeInternalPayload(sha256(withBlob), 200))]));
    expect(scanNode(plain, 0)).toEqual({ length: plain.length, hasBlob: false });
    expect(scanNode(withBlob, 0)).toEqual({ length: withBlob.length, hasBlob: true });
    expect(scanNode(internal, 0)).toEqual({ length: internal.length, hasBlob: false });
    // Back to back, as in a batch decompressed in one call.
    const joined = concatBytes([plain, withBlob, internal]);
    expect(nodeLength(joined, 0)).toBe(plain.length);
    expect(nodeLength(joined, plain.length)).toBe(withBlob.length);
    expect(nodeLength(joined, plain.length + withBlob.length)).toBe(internal.length);
  });

  it('rejects what the strict varint decoder rejects: truncation, non-minimal forms, unknown value tags', () => {
    const good = leaf([utf8('abc')]);
    expect(nodeLength(good.subarray(0, good.length - 1), 0)).toBe(-1); // value cut short
    // Entry count 1 written as the non-minimal two-byte form 0x81 0x00.
    const nonMinimal = concatBytes([good.subarray(0, 2), Uint8Array.of(0x81, 0x00), good.subarray(3)]);
    expect(nodeLength(nonMinimal, 0)).toBe(-1);
    const badTag = Uint8Array.from(good);
    badTag[2 + 1 + 1 + 5] = 9; // the value tag after count, key length and "key-0"
    expect(scanNode(badTag, 0).length).toBe(-1);
    // Nine continuation bytes: longer than any varint.
    expect(nodeLength(concatBytes([Uint8Array.of(1, 0), new Uint8Array(9).fill(0x80)]), 0)).toBe(-1);
  });
});

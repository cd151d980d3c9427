/**
 * Minimal CARv1 writer (https://ipld.io/specs/transport/car/carv1/) for batch uploads to an IPFS
 * node with `dag/import`: a varint-length-prefixed dag-cbor header `{ roots, version: 1 }`, then
 * each block as varint(len(cid) + len(bytes)) | cid | bytes. Listing every block as a root makes
 * `dag/import --pin-roots` pin each of them, so one request stores and pins a whole batch.
 * Written by hand (a few lines of CBOR) rather than pulling in a CBOR codec.
 */
import { concatBytes } from '../../util/bytes.js';
import { varintLength, writeVarint } from '../../util/varint.js';

/** A block: its binary CID and bytes. */
export interface CarBlock {
  cid: Uint8Array;
  bytes: Uint8Array;
}

/**
 * The CAR as a list of byte pieces (header, then per block its prefix and bytes), ready to stream
 * without copying block bytes.
 *
 * @example
 * const pieces = encodeCarV1({ roots: [cid], blocks: [{ cid, bytes }] });
 * for await (const r of ipfs.dag.import([pieces], { pinRoots: true })) …
 */
export function encodeCarV1(opts: { roots: readonly Uint8Array[]; blocks: readonly CarBlock[] }): Uint8Array[] {
  const header = encodeCarHeader(opts.roots);
  const pieces: Uint8Array[] = [uvarint(header.length), header];
  for (const b of opts.blocks) {
    pieces.push(concatBytes([uvarint(b.cid.length + b.bytes.length), b.cid]), b.bytes);
  }
  return pieces;
}

/**
 * dag-cbor bytes of `{ roots: [CID…], version: 1 }` (keys in dag-cbor order: shorter first).
 * @example encodeCarHeader([]) // a2 65 'roots' 80 67 'version' 01
 */
export function encodeCarHeader(roots: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [cborHead(5, 2), cborHead(3, 5), ascii('roots'), cborHead(4, roots.length)];
  for (const cid of roots) {
    // A CID in dag-cbor is tag 42 over a byte string of 0x00 (identity multibase) + binary CID.
    parts.push(Uint8Array.of(0xd8, 42), cborHead(2, cid.length + 1), Uint8Array.of(0), cid);
  }
  parts.push(cborHead(3, 7), ascii('version'), cborHead(0, 1));
  return concatBytes(parts);
}

function cborHead(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  return Uint8Array.of(m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Unsigned LEB128 (CAR's varint). */
function uvarint(n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n));
  writeVarint(out, 0, n);
  return out;
}

/**
 * Decompressing many stored tree nodes at once. Each call into the zstd binding costs tens of
 * microseconds of overhead — more than decompressing a 4 KiB node — so a push that must look into
 * every node would spend most of its time there. zstd decodes concatenated frames as the
 * concatenation of their contents, and tree nodes are self-delimiting (docs/FORMAT.md: version,
 * level, entry count, then length-prefixed entries), so one call decodes a whole batch and the
 * output is split by parsing node lengths; a split that does not account for every byte, or an
 * internal node whose SHA-256 is not its address, sends the batch back to one-by-one decoding.
 */
import { createRequire } from 'node:module';
import { equalBytes } from '../../util/bytes.js';
import { ADDRESS_BYTES, sha256 } from '../../util/hash.js';
import { STORED_RAW, STORED_ZSTD } from '../compressing-store.js';

interface ZstdBinding {
  decompress(data: Buffer): Promise<Buffer>;
}

let zstd: ZstdBinding | undefined;
function binding(): ZstdBinding {
  if (!zstd) {
    const require = createRequire(import.meta.url);
    try {
      zstd = require('@mongodb-js/zstd/bindings.js') as ZstdBinding;
    } catch {
      zstd = require('@mongodb-js/zstd') as ZstdBinding;
    }
  }
  return zstd;
}

/**
 * Byte length of the tree node starting at `o` in `buf`, or -1 when it does not parse.
 * @example nodeLength(concatenatedNodes, 0) // length of the first node
 * Leaf values: tag 0 + varint length + bytes, or tag 1 + 32-byte address + varint length;
 * internal entries: 32-byte child address + varint count.
 */
export function nodeLength(buf: Uint8Array, o: number): number {
  return scanNode(buf, o).length;
}

/**
 * Length of the tree node at `o` (-1 when it does not parse) and whether it is a leaf holding a
 * blob reference — what a push needs to know about a leaf, without decoding it.
 * @example const { length, hasBlob } = scanNode(bytes, 0)
 */
export function scanNode(buf: Uint8Array, o: number): { length: number; hasBlob: boolean } {
  // Runs over every entry of every leaf a push sends: no allocation per varint (see varintAt).
  const bad = { length: -1, hasBlob: false };
  let hasBlob = false;
  const start = o;
  if (o + 3 > buf.length) return bad;
  const level = buf[o + 1]!;
  if (!varintAt(buf, o + 2)) return bad;
  const n = vValue;
  o = vNext;
  for (let i = 0; i < n; i++) {
    if (!varintAt(buf, o)) return bad;
    o = vNext + vValue;
    if (o >= buf.length) return bad;
    if (level === 0) {
      const tag = buf[o];
      if (tag === 0) {
        if (!varintAt(buf, o + 1)) return bad;
        o = vNext + vValue;
      } else if (tag === 1) {
        hasBlob = true;
        if (!varintAt(buf, o + 1 + ADDRESS_BYTES)) return bad;
        o = vNext;
      } else return bad;
    } else {
      if (!varintAt(buf, o + ADDRESS_BYTES)) return bad;
      o = vNext;
    }
    if (o > buf.length) return bad;
  }
  return { length: o - start, hasBlob };
}

/** Result of the last successful varintAt (module scratch: scanNode is synchronous). */
let vValue = 0;
let vNext = 0;

/** Read a varint at `o` into vValue / vNext; false where readVarint would throw (truncated, non-minimal, too long). */
function varintAt(buf: Uint8Array, o: number): boolean {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (o + i >= buf.length) return false;
    const b = buf[o + i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if ((b === 0 && i > 0) || !Number.isSafeInteger(value)) return false;
      vValue = value;
      vNext = o + i + 1;
      return true;
    }
    scale *= 128;
  }
  return false;
}

/**
 * Canonical bytes of stored-form tree nodes (one zstd call for the batch where possible).
 * `decodeOne` decodes a single stored chunk (the compression layer's decode) for the leftovers.
 *
 * @example const nodes = await decodeStoredNodes(addresses, stored, (a, s) => compressing.decode(a, s));
 */
export async function decodeStoredNodes(
  addresses: readonly Uint8Array[],
  stored: readonly Uint8Array[],
  decodeOne: (address: Uint8Array, stored: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array[]> {
  const out: (Uint8Array | undefined)[] = new Array(addresses.length);
  const framed: number[] = [];
  for (let i = 0; i < stored.length; i++) {
    const s = stored[i]!;
    if (s[0] === STORED_RAW) out[i] = s.subarray(1);
    else if (s[0] === STORED_ZSTD) framed.push(i);
  }
  if (framed.length > 1) {
    let total = 0;
    for (const i of framed) total += stored[i]!.length - 1;
    const joined = Buffer.allocUnsafe(total);
    let p = 0;
    for (const i of framed) {
      const s = stored[i]!;
      joined.set(s.subarray(1), p);
      p += s.length - 1;
    }
    let whole: Buffer | undefined;
    try {
      whole = await binding().decompress(joined);
    } catch {
      whole = undefined; // a bad frame: decode one by one below, which names the chunk
    }
    if (whole) {
      // Split by node lengths. Internal nodes are hash-checked (they steer the walk); for leaves a
      // split that parses node by node and ends exactly at the end of the output is trusted (every
      // reader of the remote checks leaf hashes anyway). Anything off: decode one by one.
      const pieces: Uint8Array[] = [];
      let o = 0;
      let ok = true;
      for (const i of framed) {
        const len = nodeLength(whole, o);
        const piece = len < 0 ? undefined : whole.subarray(o, o + len);
        if (!piece || (piece[1] !== 0 && !equalBytes(sha256(piece), addresses[i]!))) {
          ok = false;
          break;
        }
        pieces.push(piece);
        o += len;
      }
      if (ok && o === whole.length) framed.forEach((i, k) => (out[i] = pieces[k]));
    }
  }
  const left: Promise<void>[] = [];
  for (let i = 0; i < out.length; i++) {
    if (out[i] === undefined) left.push(decodeOne(addresses[i]!, stored[i]!).then((b) => void (out[i] = b)));
  }
  await Promise.all(left);
  return out as Uint8Array[];
}

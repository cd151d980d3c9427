/**
 * Manifest segments: which packs exist and where every chunk lives. Each flush writes one
 * immutable segment named by the SHA-256 of its bytes (`manifest/<hex>.seg`); the manifest is the
 * union of every segment listed under `manifest/`. Two writers therefore never overwrite each
 * other, and compaction (write the union, then delete the parts) never loses an entry, because
 * the union of what remains is unchanged at every step. Byte layout (docs/FORMAT.md):
 *
 *   "PRLYMSEG" | version u8 = 1 | 3 zero bytes | packCount u32 | entryCount u32
 *   fanout: 256 × u32   (fanout[i] = entries whose address starts with a byte ≤ i)
 *   packs:  packCount × (hash[32] | size u64 | indexOffset u32 | chunkCount u32)   sorted by hash
 *   entries: entryCount × (address[32] | checksum[32] | pack u32 | offset u32 | length u32)   sorted by address, unique
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { ADDRESS_BYTES, sha256 } from '../../util/hash.js';
import { PACK_HEADER_BYTES, type PackEntry } from './pack-format.js';

export const SEGMENT_MAGIC = 'PRLYMSEG';
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 20;
export const SEGMENT_FANOUT_BYTES = 256 * 4;
export const SEGMENT_PACK_BYTES = 48;
export const SEGMENT_ENTRY_BYTES = 76;
/** Object-name prefix under which segments live. */
export const MANIFEST_PREFIX = 'manifest/';

/** A pack as the manifest describes it. */
export interface PackInfo {
  /** SHA-256 of the pack bytes; the pack is stored as `packs/<hex>.pack`. */
  hash: Uint8Array;
  size: number;
  indexOffset: number;
  chunkCount: number;
}

/** Where one chunk lives. */
export interface ChunkLocation {
  address: Uint8Array;
  /** SHA-256 of the stored bytes. */
  checksum: Uint8Array;
  pack: PackInfo;
  offset: number;
  length: number;
}

/**
 * Object name of a segment.
 * @example segmentObjectName(hash) // 'manifest/9c1e….seg'
 */
export function segmentObjectName(hash: Uint8Array): string {
  return `${MANIFEST_PREFIX}${toHex(hash)}.seg`;
}

/** The hex hash in a segment object name, or undefined if the name is not a segment. */
export function segmentHashOfName(name: string): string | undefined {
  const m = /^manifest\/([0-9a-f]{64})\.seg$/.exec(name);
  return m ? m[1] : undefined;
}

/**
 * An immutable, sorted table of chunk locations over a set of packs: one segment as stored, or the
 * in-memory union of many.
 *
 * @example
 * const seg = ManifestSegment.fromPacks([{ info, entries }]);
 * await backend.put(segmentObjectName(seg.hash()), seg.encode());
 * seg.find(address); // ChunkLocation | undefined
 */
export class ManifestSegment {
  /** Packs sorted by hash. */
  readonly packs: readonly PackInfo[];
  /** `count` entries of SEGMENT_ENTRY_BYTES, sorted by address. */
  private readonly entries: Buffer;
  readonly count: number;
  private readonly fanout: Uint32Array;
  private encoded: Uint8Array | undefined;

  private constructor(packs: readonly PackInfo[], entries: Buffer, count: number, fanout?: Uint32Array) {
    this.packs = packs;
    this.entries = entries;
    this.count = count;
    this.fanout = fanout ?? buildFanout(entries, count);
  }

  /** The empty manifest. */
  static empty(): ManifestSegment {
    return new ManifestSegment([], Buffer.alloc(0), 0);
  }

  /**
   * A segment describing freshly written packs.
   * @example ManifestSegment.fromPacks([{ info: { hash, size, indexOffset, chunkCount }, entries }])
   */
  static fromPacks(packs: readonly { info: PackInfo; entries: readonly PackEntry[] }[]): ManifestSegment {
    let result = ManifestSegment.empty();
    for (const p of packs) {
      const buf = Buffer.alloc(p.entries.length * SEGMENT_ENTRY_BYTES);
      let o = 0;
      for (const e of p.entries) {
        buf.set(e.address, o);
        buf.set(e.checksum, o + 32);
        buf.writeUInt32BE(0, o + 64);
        buf.writeUInt32BE(e.offset, o + 68);
        buf.writeUInt32BE(e.length, o + 72);
        o += SEGMENT_ENTRY_BYTES;
      }
      // PackEntry lists from encodePack/decodePackIndex are already sorted and unique.
      result = ManifestSegment.merge(result, new ManifestSegment([p.info], buf, p.entries.length));
    }
    return result;
  }

  /**
   * Union of two segments. When both hold an address, the entry in the pack with the smaller
   * hash wins, so the result is the same whatever order segments are merged in.
   * @example const all = ManifestSegment.merge(a, b);
   */
  static merge(a: ManifestSegment, b: ManifestSegment): ManifestSegment {
    if (b.count === 0 && b.packs.length === 0) return a;
    if (a.count === 0 && a.packs.length === 0) return b;
    // Union of the pack tables, sorted by hash, with ordinal remaps for both sides.
    const packs: PackInfo[] = [];
    const remapA = new Uint32Array(a.packs.length);
    const remapB = new Uint32Array(b.packs.length);
    let i = 0;
    let j = 0;
    while (i < a.packs.length || j < b.packs.length) {
      const pa = a.packs[i];
      const pb = b.packs[j];
      const c = pa && pb ? Buffer.compare(pa.hash, pb.hash) : pa ? -1 : 1;
      if (c <= 0) {
        remapA[i++] = packs.length;
        if (c === 0) remapB[j++] = packs.length;
        packs.push(pa!);
      } else {
        remapB[j++] = packs.length;
        packs.push(pb!);
      }
    }
    const out = Buffer.alloc((a.count + b.count) * SEGMENT_ENTRY_BYTES);
    let n = 0;
    i = 0;
    j = 0;
    const copy = (src: ManifestSegment, k: number, remap: Uint32Array) => {
      const s = k * SEGMENT_ENTRY_BYTES;
      const d = n * SEGMENT_ENTRY_BYTES;
      src.entries.copy(out, d, s, s + SEGMENT_ENTRY_BYTES);
      out.writeUInt32BE(remap[src.entries.readUInt32BE(s + 64)]!, d + 64);
      n++;
    };
    while (i < a.count || j < b.count) {
      if (j >= b.count) copy(a, i++, remapA);
      else if (i >= a.count) copy(b, j++, remapB);
      else {
        const sa = i * SEGMENT_ENTRY_BYTES;
        const sb = j * SEGMENT_ENTRY_BYTES;
        const c = a.entries.compare(b.entries, sb, sb + 32, sa, sa + 32);
        if (c < 0) copy(a, i++, remapA);
        else if (c > 0) copy(b, j++, remapB);
        else {
          const pa = remapA[a.entries.readUInt32BE(sa + 64)]!;
          const pb = remapB[b.entries.readUInt32BE(sb + 64)]!;
          if (pa <= pb) copy(a, i, remapA);
          else copy(b, j, remapB);
          i++;
          j++;
        }
      }
    }
    return new ManifestSegment(packs, out.subarray(0, n * SEGMENT_ENTRY_BYTES), n);
  }

  /**
   * Decode and validate stored segment bytes; `name` is used in error messages.
   * @example ManifestSegment.decode(bytes, 'manifest/9c1e….seg')
   */
  static decode(bytes: Uint8Array, name: string): ManifestSegment {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < SEGMENT_HEADER_BYTES + SEGMENT_FANOUT_BYTES || buf.toString('latin1', 0, 8) !== SEGMENT_MAGIC) {
      throw bad(name, 'not a manifest segment (bad magic)');
    }
    if (buf[8] !== SEGMENT_VERSION) throw bad(name, `unsupported segment version ${buf[8]}`);
    const packCount = buf.readUInt32BE(12);
    const count = buf.readUInt32BE(16);
    const packsStart = SEGMENT_HEADER_BYTES + SEGMENT_FANOUT_BYTES;
    const entriesStart = packsStart + packCount * SEGMENT_PACK_BYTES;
    if (buf.length !== entriesStart + count * SEGMENT_ENTRY_BYTES) {
      throw bad(name, `${buf.length} bytes do not match ${packCount} packs and ${count} entries`);
    }
    const packs: PackInfo[] = [];
    for (let k = 0, o = packsStart; k < packCount; k++, o += SEGMENT_PACK_BYTES) {
      const size = Number(buf.readBigUInt64BE(o + 32));
      const info: PackInfo = {
        hash: Uint8Array.from(buf.subarray(o, o + 32)),
        size,
        indexOffset: buf.readUInt32BE(o + 40),
        chunkCount: buf.readUInt32BE(o + 44),
      };
      if (k > 0 && Buffer.compare(packs[k - 1]!.hash, info.hash) >= 0) throw bad(name, 'pack table is not sorted and unique');
      if (info.indexOffset < PACK_HEADER_BYTES || info.indexOffset > size) throw bad(name, `pack ${toHex(info.hash)} has a bad index offset`);
      packs.push(info);
    }
    const entries = Buffer.from(buf.subarray(entriesStart));
    for (let k = 0, o = 0; k < count; k++, o += SEGMENT_ENTRY_BYTES) {
      if (k > 0 && entries.compare(entries, o - SEGMENT_ENTRY_BYTES, o - SEGMENT_ENTRY_BYTES + 32, o, o + 32) <= 0) {
        throw bad(name, 'entries are not sorted and unique');
      }
      const pack = packs[entries.readUInt32BE(o + 64)];
      const offset = entries.readUInt32BE(o + 68);
      const length = entries.readUInt32BE(o + 72);
      if (!pack) throw bad(name, `entry ${k} names pack ${entries.readUInt32BE(o + 64)} of ${packCount}`);
      if (offset < PACK_HEADER_BYTES || offset + length > pack.indexOffset) {
        throw bad(name, `chunk ${entries.toString('hex', o, o + 32)} lies outside the data area of pack ${toHex(pack.hash)}`);
      }
    }
    const fanout = new Uint32Array(256);
    for (let k = 0; k < 256; k++) fanout[k] = buf.readUInt32BE(SEGMENT_HEADER_BYTES + k * 4);
    const expected = buildFanout(entries, count);
    for (let k = 0; k < 256; k++) if (fanout[k] !== expected[k]) throw bad(name, `fanout[${k}] does not match the entries`);
    const seg = new ManifestSegment(packs, entries, count, fanout);
    seg.encoded = bytes;
    return seg;
  }

  /** Canonical bytes: the same set of packs and entries always encodes the same. */
  encode(): Uint8Array {
    if (this.encoded) return this.encoded;
    const packsStart = SEGMENT_HEADER_BYTES + SEGMENT_FANOUT_BYTES;
    const entriesStart = packsStart + this.packs.length * SEGMENT_PACK_BYTES;
    const out = Buffer.alloc(entriesStart + this.count * SEGMENT_ENTRY_BYTES);
    out.write(SEGMENT_MAGIC, 0, 'latin1');
    out[8] = SEGMENT_VERSION;
    out.writeUInt32BE(this.packs.length, 12);
    out.writeUInt32BE(this.count, 16);
    for (let k = 0; k < 256; k++) out.writeUInt32BE(this.fanout[k]!, SEGMENT_HEADER_BYTES + k * 4);
    let o = packsStart;
    for (const p of this.packs) {
      out.set(p.hash, o);
      out.writeBigUInt64BE(BigInt(p.size), o + 32);
      out.writeUInt32BE(p.indexOffset, o + 40);
      out.writeUInt32BE(p.chunkCount, o + 44);
      o += SEGMENT_PACK_BYTES;
    }
    this.entries.copy(out, entriesStart, 0, this.count * SEGMENT_ENTRY_BYTES);
    this.encoded = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    return this.encoded;
  }

  /** SHA-256 of the encoded segment (its object name). */
  hash(): Uint8Array {
    return sha256(this.encode());
  }

  /** Index of `address` in the sorted entries, or -1. Uses the fanout to narrow the search. */
  indexOf(address: Uint8Array): number {
    if (address.length !== ADDRESS_BYTES || this.count === 0) return -1;
    const first = address[0]!;
    let lo = first === 0 ? 0 : this.fanout[first - 1]!;
    let hi = this.fanout[first]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = mid * SEGMENT_ENTRY_BYTES;
      const c = Buffer.compare(this.entries.subarray(s, s + 32), address);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  has(address: Uint8Array): boolean {
    return this.indexOf(address) >= 0;
  }

  /** Location of `address`, or undefined. */
  find(address: Uint8Array): ChunkLocation | undefined {
    const k = this.indexOf(address);
    return k < 0 ? undefined : this.at(k);
  }

  /** The k-th entry in address order. */
  at(k: number): ChunkLocation {
    const s = k * SEGMENT_ENTRY_BYTES;
    return {
      address: Uint8Array.from(this.entries.subarray(s, s + 32)),
      checksum: Uint8Array.from(this.entries.subarray(s + 32, s + 64)),
      pack: this.packs[this.entries.readUInt32BE(s + 64)]!,
      offset: this.entries.readUInt32BE(s + 68),
      length: this.entries.readUInt32BE(s + 72),
    };
  }

  /** Every address in order. */
  *addresses(): Generator<Uint8Array> {
    for (let k = 0; k < this.count; k++) {
      const s = k * SEGMENT_ENTRY_BYTES;
      yield Uint8Array.from(this.entries.subarray(s, s + 32));
    }
  }
}

function buildFanout(entries: Buffer, count: number): Uint32Array {
  const fanout = new Uint32Array(256);
  for (let k = 0; k < count; k++) fanout[entries[k * SEGMENT_ENTRY_BYTES]!]!++;
  for (let k = 1; k < 256; k++) fanout[k]! += fanout[k - 1]!;
  return fanout;
}

function bad(name: string, what: string): ProllyError {
  return new ProllyError(ErrorCodes.BAD_ENCODING, `${name}: ${what}`, { object: name });
}

/**
 * Manifest segments: which packs exist and where every chunk lives. Each flush writes one
 * immutable segment named by the SHA-256 of its bytes (`manifest/<hex>.seg`); the manifest is the
 * union of every segment listed under `manifest/`. Two writers therefore never overwrite each
 * other, and compaction (write the union, then delete the parts) never loses an entry, because
 * the union of what remains is unchanged at every step. Byte layout (docs/FORMAT.md):
 *
 *   "PRLYMSEG" | version u8 (1 or 2) | 3 zero bytes | packCount u32 | entryCount u32
 *   fanout: 256 × u32   (fanout[i] = entries whose address starts with a byte ≤ i)
 *   packs:  packCount × (hash[32] | size u64 | indexOffset u32 | chunkCount u32)   sorted by hash
 *   entries, v1: entryCount × (address[32] | checksum[32] | pack u32 | offset u32 | length u32)
 *   entries, v2: … | blockOffset u32 | blockLength u32   (chunks inside compressed pack blocks)
 *   entries sorted by address, unique. Version 2 is written only when some entry is in a block.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { ADDRESS_BYTES, sha256 } from '../../util/hash.js';
import { PACK_ENTRY_BYTES, PACK_ENTRY_BYTES_V2, PACK_HEADER_BYTES, PACK_VERSION_BLOCKS, type PackEntry } from './pack-format.js';

export const SEGMENT_MAGIC = 'PRLYMSEG';
/** Version of segments whose entries are all whole chunks in packs. */
export const SEGMENT_VERSION = 1;
/** Version of segments with entries inside compressed pack blocks. */
export const SEGMENT_VERSION_BLOCKS = 2;
export const SEGMENT_HEADER_BYTES = 20;
export const SEGMENT_FANOUT_BYTES = 256 * 4;
export const SEGMENT_PACK_BYTES = 48;
/** Entry bytes in a version 1 segment. */
export const SEGMENT_ENTRY_BYTES = 76;
/** Entry bytes in a version 2 segment (and in memory, for either version). */
export const SEGMENT_ENTRY_BYTES_V2 = 84;
/** Object-name prefix under which segments live. */
export const MANIFEST_PREFIX = 'manifest/';

const ROW = SEGMENT_ENTRY_BYTES_V2;

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
  /** SHA-256 of the stored bytes (decoded bytes, for a chunk in a block). */
  checksum: Uint8Array;
  pack: PackInfo;
  /** The bytes to fetch from the pack: the chunk itself, or the compressed block holding it. */
  offset: number;
  length: number;
  /** For a chunk in a block: its place in the block's decoded bytes. */
  within?: { offset: number; length: number };
}

/** A pack's sorted index entries, as a pack stores them (for building a segment without decoding). */
export interface PackIndex {
  info: PackInfo;
  /** The pack's index region: entries of 72 (version 1) or 80 (version 2) bytes, sorted by address. */
  index: Uint8Array;
  version: number;
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
 * in-memory union of many. In memory every entry is a version 2 row (84 bytes; block fields zero
 * for whole chunks), whichever version it was read from.
 *
 * @example
 * const seg = ManifestSegment.fromPacks([{ info, entries }]);
 * await backend.put(segmentObjectName(seg.hash()), seg.encode());
 * seg.find(address); // ChunkLocation | undefined
 */
export class ManifestSegment {
  /** Packs sorted by hash. */
  readonly packs: readonly PackInfo[];
  /** `count` rows of SEGMENT_ENTRY_BYTES_V2, sorted by address. */
  private readonly entries: Buffer;
  readonly count: number;
  private readonly fanout: Uint32Array;
  /** Entries inside compressed blocks (the segment encodes as version 2 when there are any). */
  readonly blockEntries: number;
  private encoded: Uint8Array | undefined;

  private constructor(packs: readonly PackInfo[], entries: Buffer, count: number, fanout?: Uint32Array) {
    this.packs = packs;
    this.entries = entries;
    this.count = count;
    this.fanout = fanout ?? buildFanout(entries, count);
    let blocks = 0;
    for (let k = 0, o = 80; k < count; k++, o += ROW) if (entries.readUInt32BE(o) !== 0) blocks++;
    this.blockEntries = blocks;
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
    return ManifestSegment.fromIndexes(
      packs.map((p) => {
        const index = Buffer.alloc(p.entries.length * PACK_ENTRY_BYTES_V2);
        let o = 0;
        for (const e of p.entries) {
          index.set(e.address, o);
          index.set(e.checksum, o + 32);
          index.writeUInt32BE(e.within ? e.within.offset : e.offset, o + 64);
          index.writeUInt32BE(e.within ? e.within.length : e.length, o + 68);
          index.writeUInt32BE(e.within ? e.offset : 0, o + 72);
          index.writeUInt32BE(e.within ? e.length : 0, o + 76);
          o += PACK_ENTRY_BYTES_V2;
        }
        return { info: p.info, index, version: PACK_VERSION_BLOCKS };
      }),
    );
  }

  /**
   * A segment describing packs from their index regions (as PackBuilder or a pack object holds
   * them), merged in one pass. When packs share an address the one with the smaller hash wins.
   * @example ManifestSegment.fromIndexes([{ info, index: built.index, version: built.version }])
   */
  static fromIndexes(packs: readonly PackIndex[]): ManifestSegment {
    const order = packs.map((_, i) => i).sort((x, y) => Buffer.compare(packs[x]!.info.hash, packs[y]!.info.hash));
    const infos: PackInfo[] = [];
    const runs: { index: Buffer; size: number; n: number; pos: number; ordinal: number }[] = [];
    let total = 0;
    for (const i of order) {
      const p = packs[i]!;
      if (infos.length > 0 && Buffer.compare(infos[infos.length - 1]!.hash, p.info.hash) === 0) continue; // same pack twice
      const size = p.version === PACK_VERSION_BLOCKS ? PACK_ENTRY_BYTES_V2 : PACK_ENTRY_BYTES;
      const n = Math.floor(p.index.length / size);
      const index = Buffer.from(p.index.buffer, p.index.byteOffset, p.index.byteLength);
      runs.push({ index, size, n, pos: 0, ordinal: infos.length });
      infos.push(p.info);
      total += n;
    }
    const out = Buffer.alloc(total * ROW);
    let count = 0;
    for (;;) {
      // The run whose next address is smallest (earlier runs have smaller pack hashes, so they win ties).
      let best = -1;
      for (let r = 0; r < runs.length; r++) {
        const run = runs[r]!;
        if (run.pos >= run.n) continue;
        if (best < 0) {
          best = r;
          continue;
        }
        const b = runs[best]!;
        if (compare32(run.index, run.pos * run.size, b.index, b.pos * b.size) < 0) best = r;
      }
      if (best < 0) break;
      const run = runs[best]!;
      const s = run.pos * run.size;
      const d = count * ROW;
      const src = run.index;
      // Byte loops: Buffer#copy makes a view per call, which adds up over a push's entries.
      for (let j = 0; j < 64; j++) out[d + j] = src[s + j]!;
      out.writeUInt32BE(run.ordinal, d + 64);
      for (let j = 64; j < run.size; j++) out[d + 4 + j] = src[s + j]!;
      count++;
      // Skip this address in every run (duplicates across packs; the winner was copied).
      for (let r = 0; r < runs.length; r++) {
        const other = runs[r]!;
        while (other.pos < other.n && compare32(other.index, other.pos * other.size, out, d) === 0) other.pos++;
      }
    }
    return new ManifestSegment(infos, out.subarray(0, count * ROW), count);
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
    const out = Buffer.alloc((a.count + b.count) * ROW);
    let n = 0;
    i = 0;
    j = 0;
    const copy = (src: ManifestSegment, k: number, remap: Uint32Array) => {
      const s = k * ROW;
      const d = n * ROW;
      src.entries.copy(out, d, s, s + ROW);
      out.writeUInt32BE(remap[src.entries.readUInt32BE(s + 64)]!, d + 64);
      n++;
    };
    while (i < a.count || j < b.count) {
      if (j >= b.count) copy(a, i++, remapA);
      else if (i >= a.count) copy(b, j++, remapB);
      else {
        const sa = i * ROW;
        const sb = j * ROW;
        const c = compare32(a.entries, sa, b.entries, sb);
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
    return new ManifestSegment(packs, out.subarray(0, n * ROW), n);
  }

  /**
   * Decode and validate stored segment bytes (version 1 or 2); `name` is used in error messages.
   * @example ManifestSegment.decode(bytes, 'manifest/9c1e….seg')
   */
  static decode(bytes: Uint8Array, name: string): ManifestSegment {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < SEGMENT_HEADER_BYTES + SEGMENT_FANOUT_BYTES || buf.toString('latin1', 0, 8) !== SEGMENT_MAGIC) {
      throw bad(name, 'not a manifest segment (bad magic)');
    }
    const version = buf[8];
    if (version !== SEGMENT_VERSION && version !== SEGMENT_VERSION_BLOCKS) throw bad(name, `unsupported segment version ${version}`);
    const stored = version === SEGMENT_VERSION ? SEGMENT_ENTRY_BYTES : SEGMENT_ENTRY_BYTES_V2;
    const packCount = buf.readUInt32BE(12);
    const count = buf.readUInt32BE(16);
    const packsStart = SEGMENT_HEADER_BYTES + SEGMENT_FANOUT_BYTES;
    const entriesStart = packsStart + packCount * SEGMENT_PACK_BYTES;
    if (buf.length !== entriesStart + count * stored) {
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
    let entries: Buffer;
    if (version === SEGMENT_VERSION_BLOCKS) entries = Buffer.from(buf.subarray(entriesStart));
    else {
      entries = Buffer.alloc(count * ROW);
      for (let k = 0; k < count; k++) buf.copy(entries, k * ROW, entriesStart + k * stored, entriesStart + (k + 1) * stored);
    }
    for (let k = 0, o = 0; k < count; k++, o += ROW) {
      if (k > 0 && compare32(entries, o - ROW, entries, o) >= 0) throw bad(name, 'entries are not sorted and unique');
      const pack = packs[entries.readUInt32BE(o + 64)];
      const offset = entries.readUInt32BE(o + 68);
      const length = entries.readUInt32BE(o + 72);
      const blockOffset = entries.readUInt32BE(o + 76);
      const blockLength = entries.readUInt32BE(o + 80);
      if (!pack) throw bad(name, `entry ${k} names pack ${entries.readUInt32BE(o + 64)} of ${packCount}`);
      const [start, len] = blockLength > 0 ? [blockOffset, blockLength] : [offset, length];
      if (blockLength === 0 && blockOffset !== 0) throw bad(name, `chunk ${entries.toString('hex', o, o + 32)} has a block offset but no block`);
      if (start < PACK_HEADER_BYTES || start + len > pack.indexOffset) {
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

  /**
   * Canonical bytes: the same set of packs and entries always encodes the same (version 1 when no
   * entry lies in a block, so stores without block compression stay readable by older clients).
   */
  encode(): Uint8Array {
    if (this.encoded) return this.encoded;
    const version = this.blockEntries > 0 ? SEGMENT_VERSION_BLOCKS : SEGMENT_VERSION;
    const stored = version === SEGMENT_VERSION ? SEGMENT_ENTRY_BYTES : SEGMENT_ENTRY_BYTES_V2;
    const packsStart = SEGMENT_HEADER_BYTES + SEGMENT_FANOUT_BYTES;
    const entriesStart = packsStart + this.packs.length * SEGMENT_PACK_BYTES;
    const out = Buffer.alloc(entriesStart + this.count * stored);
    out.write(SEGMENT_MAGIC, 0, 'latin1');
    out[8] = version;
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
    if (stored === ROW) this.entries.copy(out, entriesStart, 0, this.count * ROW);
    else for (let k = 0; k < this.count; k++) this.entries.copy(out, entriesStart + k * stored, k * ROW, k * ROW + stored);
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
    const e = this.entries;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = mid * ROW;
      let c = 0;
      for (let k = 1; k < ADDRESS_BYTES; k++) {
        c = e[s + k]! - address[k]!;
        if (c !== 0) break;
      }
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
    const s = k * ROW;
    const e = this.entries;
    const loc: ChunkLocation = {
      address: Uint8Array.from(e.subarray(s, s + 32)),
      checksum: Uint8Array.from(e.subarray(s + 32, s + 64)),
      pack: this.packs[e.readUInt32BE(s + 64)]!,
      offset: e.readUInt32BE(s + 68),
      length: e.readUInt32BE(s + 72),
    };
    const blockLength = e.readUInt32BE(s + 80);
    if (blockLength > 0) {
      loc.within = { offset: loc.offset, length: loc.length };
      loc.offset = e.readUInt32BE(s + 76);
      loc.length = blockLength;
    }
    return loc;
  }

  /** Every address in order. */
  *addresses(): Generator<Uint8Array> {
    for (let k = 0; k < this.count; k++) {
      const s = k * ROW;
      yield Uint8Array.from(this.entries.subarray(s, s + 32));
    }
  }
}

/** Compare the 32-byte addresses at `ao` in `a` and `bo` in `b`. */
function compare32(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let k = 0; k < ADDRESS_BYTES; k++) {
    const d = a[ao + k]! - b[bo + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

function buildFanout(entries: Buffer, count: number): Uint32Array {
  const fanout = new Uint32Array(256);
  for (let k = 0; k < count; k++) fanout[entries[k * ROW]!]!++;
  for (let k = 1; k < 256; k++) fanout[k]! += fanout[k - 1]!;
  return fanout;
}

function bad(name: string, what: string): ProllyError {
  return new ProllyError(ErrorCodes.BAD_ENCODING, `${name}: ${what}`, { object: name });
}

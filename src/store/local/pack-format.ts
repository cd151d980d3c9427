/**
 * Byte layout of the local store's files (docs/FORMAT.md, "Stored chunk encoding and the local
 * store"): pack files are a header then CRC-protected chunk records appended in write order; an
 * index file lists a pack's records sorted by address, with a 256-way fan-out table so a lookup
 * can read one small slice of the file instead of parsing all of it.
 */
import { readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { ADDRESS_BYTES } from '../../util/hash.js';

/** "PRLYPACK": first 8 bytes of every pack file. */
export const PACK_MAGIC = Buffer.from('PRLYPACK', 'latin1');
/** Pack header: magic, u32 version, u32 reserved. */
export const PACK_HEADER_BYTES = 16;
export const PACK_VERSION = 1;

/** Record kind byte of a chunk record. */
export const RECORD_KIND_CHUNK = 0x01;
/** kind (1) + length (4) + address (32). */
export const RECORD_HEADER_BYTES = 1 + 4 + ADDRESS_BYTES;
/** crc32 after the payload. */
export const RECORD_TRAILER_BYTES = 4;
/** Bytes a record adds around its payload. */
export const RECORD_OVERHEAD = RECORD_HEADER_BYTES + RECORD_TRAILER_BYTES;
/** Largest payload a record can hold (u32 length; Buffers cannot be larger anyway). */
export const MAX_RECORD_PAYLOAD = 0xffff_ffff - RECORD_OVERHEAD;

/** "PRLYIDX1": first 8 bytes of every index file. */
export const INDEX_MAGIC = Buffer.from('PRLYIDX1', 'latin1');
/** magic 8, flags 4, count 4, covered 8, reserved 4, header crc 4. */
export const INDEX_HEADER_BYTES = 32;
export const INDEX_FANOUT_BYTES = 256 * 4;
/** Addresses table starts here. */
export const INDEX_TABLE_START = INDEX_HEADER_BYTES + INDEX_FANOUT_BYTES;
/** Each location: u64 payload offset + u32 payload length. */
export const INDEX_LOCATION_BYTES = 12;
/** Index flag: the pack is sealed; the index covers the whole file, which never grows again. */
export const INDEX_FLAG_SEALED = 1;

/** Where a chunk's payload lies in its pack. */
export interface ChunkLocation {
  /** Byte offset of the payload (not the record) in the pack file. */
  offset: number;
  length: number;
}

/** One index entry. `key` is the address as a latin1 string (one char per byte; sorts like the bytes). */
export interface IndexEntry extends ChunkLocation {
  key: string;
}

/**
 * Pack file header bytes.
 * @example writeSync(fd, encodePackHeader())
 */
export function encodePackHeader(): Buffer {
  const b = Buffer.alloc(PACK_HEADER_BYTES);
  PACK_MAGIC.copy(b, 0);
  b.writeUInt32LE(PACK_VERSION, 8);
  return b;
}

/**
 * Throws EBADENCODING (naming `file`) unless `header` is a version-1 pack header.
 * @example checkPackHeader(first16Bytes, '/s/00000001.pack')
 */
export function checkPackHeader(header: Uint8Array, file: string): void {
  const b = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  if (b.length < PACK_HEADER_BYTES || !b.subarray(0, 8).equals(PACK_MAGIC)) {
    throw new ProllyError(ErrorCodes.BAD_ENCODING, `not a git-prolly pack file (bad magic): ${file}`, { file });
  }
  const version = b.readUInt32LE(8);
  if (version !== PACK_VERSION) {
    throw new ProllyError(ErrorCodes.BAD_ENCODING, `unsupported pack version ${version} in ${file}`, { file, version });
  }
}

/**
 * Write one chunk record into `out` at `pos`; returns the position after it.
 * Layout: kind u8 | payload length u32 LE | address 32 | payload | crc32 u32 LE of everything before.
 * @example const end = writeRecord(buf, 0, address, bytes)
 */
export function writeRecord(out: Buffer, pos: number, address: Uint8Array, payload: Uint8Array): number {
  const start = pos;
  out[pos] = RECORD_KIND_CHUNK;
  out.writeUInt32LE(payload.length, pos + 1);
  out.set(address, pos + 5);
  out.set(payload, pos + RECORD_HEADER_BYTES);
  pos += RECORD_HEADER_BYTES + payload.length;
  out.writeUInt32LE(crc32(out.subarray(start, pos)), pos);
  return pos + RECORD_TRAILER_BYTES;
}

/** Result of {@link scanRecords}. */
export interface ScanResult {
  entries: IndexEntry[];
  /** Offset just past the last valid record: where a writer truncates a torn tail. */
  validEnd: number;
  /** True when bytes after validEnd do not form a valid record (a torn or corrupt tail). */
  torn: boolean;
}

/**
 * Read records from `start` to `end` of an open pack file, checking each record's CRC, and stop at
 * the first one that is incomplete or does not check out.
 * @example const { entries, validEnd } = scanRecords(fd, PACK_HEADER_BYTES, fstatSync(fd).size)
 */
export function scanRecords(fd: number, start: number, end: number): ScanResult {
  const entries: IndexEntry[] = [];
  let buf = Buffer.allocUnsafe(Math.min(Math.max(end - start, 0), 1 << 20) || 1);
  let bufStart = start; // file offset of buf[0]
  let bufLen = 0;
  let pos = start;
  const fill = (need: number): boolean => {
    // Make [pos, pos + need) available in buf; false when the file ends first.
    if (pos + need > end) return false;
    if (pos >= bufStart && pos + need <= bufStart + bufLen) return true;
    if (need > buf.length) buf = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
    const want = Math.min(buf.length, end - pos);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, buf, got, want - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    bufStart = pos;
    bufLen = got;
    return got >= need;
  };
  while (pos < end) {
    if (!fill(RECORD_HEADER_BYTES)) break;
    let o = pos - bufStart;
    if (buf[o] !== RECORD_KIND_CHUNK) break;
    const length = buf.readUInt32LE(o + 1);
    const total = RECORD_OVERHEAD + length;
    if (!fill(total)) break;
    o = pos - bufStart;
    const bodyEnd = o + RECORD_HEADER_BYTES + length;
    if (crc32(buf.subarray(o, bodyEnd)) !== buf.readUInt32LE(bodyEnd)) break;
    entries.push({ key: buf.toString('latin1', o + 5, o + 5 + ADDRESS_BYTES), offset: pos + RECORD_HEADER_BYTES, length });
    pos += total;
  }
  return { entries, validEnd: pos, torn: pos < end };
}

/**
 * Encode an index file for `entries` (any order; sorted here). `covered` is the pack length the
 * index describes; `sealed` marks a pack that will never grow.
 * @example writeFileAtomicSync(idxPath, encodeIndex({ entries, covered: packLength, sealed: true }))
 */
export function encodeIndex(options: { entries: IndexEntry[]; covered: number; sealed: boolean }): Buffer {
  const entries = options.entries.slice().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const count = entries.length;
  const locStart = INDEX_TABLE_START + count * ADDRESS_BYTES;
  const size = locStart + count * INDEX_LOCATION_BYTES + 4;
  const b = Buffer.alloc(size);
  INDEX_MAGIC.copy(b, 0);
  b.writeUInt32LE(options.sealed ? INDEX_FLAG_SEALED : 0, 8);
  b.writeUInt32LE(count, 12);
  writeU64(b, 16, options.covered);
  const fanout = new Uint32Array(256);
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    if (i > 0 && e.key === entries[i - 1]!.key) {
      throw new ProllyError(ErrorCodes.BAD_ENCODING, `duplicate address ${Buffer.from(e.key, 'latin1').toString('hex')} in pack index`);
    }
    fanout[e.key.charCodeAt(0)]!++;
    b.write(e.key, INDEX_TABLE_START + i * ADDRESS_BYTES, ADDRESS_BYTES, 'latin1');
    const lo = locStart + i * INDEX_LOCATION_BYTES;
    writeU64(b, lo, e.offset);
    b.writeUInt32LE(e.length, lo + 8);
  }
  let running = 0;
  for (let i = 0; i < 256; i++) {
    running += fanout[i]!;
    b.writeUInt32LE(running, INDEX_HEADER_BYTES + i * 4);
  }
  b.writeUInt32LE(headerCrc(b), 28);
  b.writeUInt32LE(crc32(b.subarray(0, size - 4)), size - 4);
  return b;
}

/** Parsed fixed part of an index file. */
export interface IndexHeader {
  sealed: boolean;
  count: number;
  covered: number;
  /** fanout[b] = number of entries whose first address byte is ≤ b. */
  fanout: Uint32Array;
  /** Expected total file size. */
  fileSize: number;
}

/**
 * Parse and check the header + fan-out (the first {@link INDEX_TABLE_START} bytes) of an index file.
 * Returns undefined when they are not a valid index (bad magic, bad CRC, inconsistent fan-out).
 * @example const h = parseIndexHeader(first1056Bytes)
 */
export function parseIndexHeader(b: Buffer): IndexHeader | undefined {
  if (b.length < INDEX_TABLE_START || !b.subarray(0, 8).equals(INDEX_MAGIC)) return undefined;
  if (headerCrc(b) !== b.readUInt32LE(28)) return undefined;
  const count = b.readUInt32LE(12);
  const covered = readU64(b, 16);
  if (covered === undefined) return undefined;
  const fanout = new Uint32Array(256);
  let prev = 0;
  for (let i = 0; i < 256; i++) {
    const v = b.readUInt32LE(INDEX_HEADER_BYTES + i * 4);
    if (v < prev) return undefined;
    fanout[i] = prev = v;
  }
  if (prev !== count) return undefined;
  return {
    sealed: (b.readUInt32LE(8) & INDEX_FLAG_SEALED) !== 0,
    count,
    covered,
    fanout,
    fileSize: INDEX_TABLE_START + count * (ADDRESS_BYTES + INDEX_LOCATION_BYTES) + 4,
  };
}

/** crc32 of the header (bytes 0..28) followed by the fan-out table. */
function headerCrc(b: Buffer): number {
  return crc32(b.subarray(INDEX_HEADER_BYTES, INDEX_TABLE_START), crc32(b.subarray(0, 28)));
}

/**
 * Write a u64 LE (value must be < 2^48, which any pack offset is).
 * @example writeU64(buf, 16, packLength)
 */
export function writeU64(b: Buffer, at: number, v: number): void {
  b.writeUIntLE(v, at, 6);
  b.writeUInt16LE(0, at + 6);
}

/**
 * Read a u64 LE written by {@link writeU64}; undefined when it does not fit in 48 bits.
 * @example readU64(buf, 16) // packLength
 */
export function readU64(b: Buffer, at: number): number | undefined {
  if (b.readUInt16LE(at + 6) !== 0) return undefined;
  return b.readUIntLE(at, 6);
}

/**
 * Latin1 string key of an address: one char per byte, so JS string order equals byte order and
 * Map lookups avoid hex encoding.
 * @example addressKey(new Uint8Array([0x41, 0x42])) // 'AB'
 */
export function addressKey(address: Uint8Array): string {
  return Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString('latin1');
}

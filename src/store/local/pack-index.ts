/**
 * Read side of a pack index file. Opening reads only the 1 KiB header + fan-out; a lookup reads the
 * one fan-out bucket of addresses it needs (≈ count/256 entries) and one location with positional
 * reads, so a cold point read in a fresh process costs a few small preads. An index that gets many
 * lookups is read whole (and its CRC checked) to answer from memory from then on.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { ADDRESS_BYTES } from '../../util/hash.js';
import {
  INDEX_LOCATION_BYTES,
  INDEX_TABLE_START,
  parseIndexHeader,
  readU64,
  type ChunkLocation,
  type IndexEntry,
  type IndexHeader,
} from './pack-format.js';

/** Lookups answered with positional reads before the whole index is loaded into memory. */
const PARTIAL_LOOKUPS = 16;

/**
 * Thrown (internally) when an index's tables fail their CRC; the store then rebuilds from the pack.
 * @example try { idx.find(a) } catch (e) { if (e instanceof IndexCorruptError) rebuild() }
 */
export class IndexCorruptError extends Error {
  constructor(readonly path: string) {
    super(`pack index ${path} fails its checksum`);
  }
}

/**
 * An open, validated index file.
 * @example const idx = PackIndex.open('/s/00000001.idx'); idx?.find(addressBuffer)
 */
export class PackIndex {
  readonly path: string;
  readonly header: IndexHeader;
  private fd: number | undefined;
  private full: Buffer | undefined;
  private lookups = 0;
  private readonly locStart: number;

  private constructor(path: string, fd: number, header: IndexHeader) {
    this.path = path;
    this.fd = fd;
    this.header = header;
    this.locStart = INDEX_TABLE_START + header.count * ADDRESS_BYTES;
  }

  /**
   * Open `path`; undefined when it is missing, or its header is invalid or disagrees with its size.
   * @example PackIndex.open(join(dir, '00000001.idx'))
   */
  static open(path: string): PackIndex | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const head = Buffer.allocUnsafe(INDEX_TABLE_START);
      const n = readFully(fd, head, 0);
      const header = n === INDEX_TABLE_START ? parseIndexHeader(head) : undefined;
      if (header && fstatSync(fd).size === header.fileSize) return new PackIndex(path, fd, header);
    } catch {
      /* unreadable: treat as invalid */
    }
    closeSync(fd);
    return undefined;
  }

  /** Number of entries. */
  get count(): number {
    return this.header.count;
  }

  /**
   * Location of `address` (32 bytes), or undefined. Throws IndexCorruptError if loading the
   * whole index finds it corrupt.
   */
  find(address: Uint8Array): ChunkLocation | undefined {
    const b = address[0]!;
    const lo = b === 0 ? 0 : this.header.fanout[b - 1]!;
    const hi = this.header.fanout[b]!;
    if (lo === hi) return undefined;
    if (this.full === undefined && ++this.lookups > PARTIAL_LOOKUPS) this.loadFull();
    if (this.full !== undefined) {
      const i = search(this.full, INDEX_TABLE_START, address, lo, hi);
      return i < 0 ? undefined : this.location(this.full, this.locStart + i * INDEX_LOCATION_BYTES);
    }
    const bucket = Buffer.allocUnsafe((hi - lo) * ADDRESS_BYTES);
    readFully(this.fd!, bucket, INDEX_TABLE_START + lo * ADDRESS_BYTES);
    const j = search(bucket, 0, address, 0, hi - lo);
    if (j < 0) return undefined;
    const loc = Buffer.allocUnsafe(INDEX_LOCATION_BYTES);
    readFully(this.fd!, loc, this.locStart + (lo + j) * INDEX_LOCATION_BYTES);
    return this.location(loc, 0);
  }

  /** Every entry, in address order (loads the whole index). */
  *entries(): Generator<IndexEntry> {
    this.loadFull();
    const full = this.full!;
    for (let i = 0; i < this.header.count; i++) {
      const at = INDEX_TABLE_START + i * ADDRESS_BYTES;
      const loc = this.location(full, this.locStart + i * INDEX_LOCATION_BYTES);
      yield { key: full.toString('latin1', at, at + ADDRESS_BYTES), ...loc };
    }
  }

  /** Every address as a fresh Uint8Array, in address order (loads the whole index). */
  *addresses(): Generator<Uint8Array> {
    this.loadFull();
    const full = this.full!;
    for (let i = 0; i < this.header.count; i++) {
      const at = INDEX_TABLE_START + i * ADDRESS_BYTES;
      yield Uint8Array.prototype.slice.call(full, at, at + ADDRESS_BYTES);
    }
  }

  /** Read the whole file and check its CRC (no-op if already loaded). */
  loadFull(): void {
    if (this.full !== undefined) return;
    const buf = Buffer.allocUnsafe(this.header.fileSize);
    const n = readFully(this.fd!, buf, 0);
    const end = this.header.fileSize - 4;
    if (n !== this.header.fileSize || crc32(buf.subarray(0, end)) !== buf.readUInt32LE(end)) {
      throw new IndexCorruptError(this.path);
    }
    this.full = buf;
    // Everything is in memory now; the descriptor is no longer needed.
    closeSync(this.fd!);
    this.fd = undefined;
  }

  /** True once the whole index is in memory. */
  get loaded(): boolean {
    return this.full !== undefined;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.full = undefined;
  }

  private location(b: Buffer, at: number): ChunkLocation {
    const offset = readU64(b, at);
    if (offset === undefined) throw new IndexCorruptError(this.path);
    return { offset, length: b.readUInt32LE(at + 8) };
  }
}

/** Binary search for `address` among 32-byte keys b[base + i*32] for i in [lo, hi); index or -1. */
function search(b: Uint8Array, base: number, address: Uint8Array, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareAddressAt(b, base + mid * ADDRESS_BYTES, address);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/**
 * Compare the 32 bytes at b[at] with `address`. A JS loop: addresses differ within the first
 * bytes, and Buffer#compare with offsets costs ~100 ns of argument checking per call.
 */
function compareAddressAt(b: Uint8Array, at: number, address: Uint8Array): number {
  for (let i = 0; i < ADDRESS_BYTES; i++) {
    const d = b[at + i]! - address[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Positional read that retries short reads; returns bytes read (less only at end of file).
 * @example readFully(fd, new Uint8Array(4096), offset) // 4096
 */
export function readFully(fd: number, buf: Uint8Array, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Building a pack incrementally (see PackBuilder), version 1 or 2 (docs/FORMAT.md, "Packs and
 * remote manifests").
 */
import { hash as nodeHash } from 'node:crypto';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { ADDRESS_BYTES } from '../../util/hash.js';
import { asBuffer, zstdBinding } from '../zstd.js';
import {
  BLOCK_CODEC_RAW,
  BLOCK_CODEC_ZSTD,
  BLOCK_LAG,
  DEFAULT_BLOCK_BYTES,
  PACK_ENTRY_BYTES,
  PACK_ENTRY_BYTES_V2,
  PACK_FOOTER_BYTES,
  PACK_FOOTER_MAGIC,
  PACK_HEADER_BYTES,
  PACK_MAGIC,
  PACK_MAX_BYTES,
  PACK_VERSION,
  PACK_VERSION_BLOCKS,
  packEntryBytes,
  type BuiltPack,
  type PackBlockOptions,
} from './pack-layout.js';

const FOOTER_MAGIC_BYTES = Buffer.from(PACK_FOOTER_MAGIC, 'latin1');
const MAGIC_BYTES = Buffer.from(PACK_MAGIC, 'latin1');

interface Block {
  /** Decoded bytes: [start, end) of the builder's staging buffer. */
  start: number;
  end: number;
  /** Codec byte + payload, once compressed. */
  stored: Uint8Array | undefined;
  done: Promise<void>;
  error: unknown;
}

/**
 * Builds one pack incrementally: each chunk is copied once into the pack being built (or into the
 * staging area of the block being filled), with its checksum; `seal` writes the index and footer.
 * Without block options the result is a version 1 pack laid out exactly as `encodePack` lays it
 * out; with them, compressible chunks go into zstd blocks and the pack is version 2 (version 1
 * still, when no chunk was compressible). Callers must not add an address twice.
 *
 * @example
 * const b = new PackBuilder();
 * b.add(address, bytes);
 * const built = await b.seal();
 */
export class PackBuilder {
  /** Chunks added. */
  count = 0;
  private readonly blockOpts: { level: number; blockBytes: number; compressible: (bytes: Uint8Array, address: Uint8Array) => boolean } | undefined;
  /** Chunks stored as they are, from PACK_HEADER_BYTES on (for a version 1 pack this is the pack). */
  private raw: Uint8Array;
  private rawEnd = PACK_HEADER_BYTES;
  /** Decoded bytes of compressible chunks, cut into blocks. */
  private staged: Uint8Array = new Uint8Array(0);
  private stagedEnd = 0;
  private blockStart = 0;
  private readonly blocks: Block[] = [];
  /** Leading blocks counted at their stored size in `storedEstimate` (see BLOCK_LAG). */
  private known = 0;
  private knownStoredBytes = 0;
  private addrs: Uint8Array;
  private sums: Uint8Array;
  /** Offset of each chunk in `raw` or in `staged`. */
  private offs: Uint32Array;
  private lens: Uint32Array;
  /** Block of each chunk, or -1 for chunks stored as they are. */
  private blockOf: Int32Array;
  private sealed = false;
  /** After sealing: where each chunk lies in the pack (see PackEntry). */
  private finalOff: Uint32Array | undefined;
  private blockPos: Uint32Array | undefined;
  private blockLen: Uint32Array | undefined;

  constructor(opts: { blocks?: PackBlockOptions; initialBytes?: number; initialEntries?: number; buffer?: Uint8Array } = {}) {
    const b = opts.blocks;
    this.blockOpts = b
      ? { level: b.level, blockBytes: Math.max(1, b.blockBytes ?? DEFAULT_BLOCK_BYTES), compressible: b.compressible ?? (() => true) }
      : undefined;
    // Pages of untouched capacity are never faulted in, so room for a whole pack costs little.
    const rawBytes = PACK_HEADER_BYTES + Math.max(0, opts.initialBytes ?? 64 * 1024);
    this.raw = opts.buffer && opts.buffer.length >= rawBytes ? opts.buffer : allocBytes(rawBytes);
    if (b) this.staged = allocBytes(Math.max(b.blockBytes ?? DEFAULT_BLOCK_BYTES, opts.initialBytes ?? 0) + 1024);
    const n = Math.max(16, opts.initialEntries ?? 256);
    this.addrs = new Uint8Array(n * ADDRESS_BYTES);
    this.sums = new Uint8Array(n * 32);
    this.offs = new Uint32Array(n);
    this.lens = new Uint32Array(n);
    this.blockOf = new Int32Array(n);
  }

  /**
   * Add a chunk (its bytes are copied). Returns a promise when the caller must wait before adding
   * more or reading `storedEstimate` (a block BLOCK_LAG places back is still compressing).
   */
  add(address: Uint8Array, bytes: Uint8Array, checksum?: Uint8Array): Promise<void> | undefined {
    if (this.sealed) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'pack is already sealed', {});
    if (address.length !== ADDRESS_BYTES) {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `chunk address must be ${ADDRESS_BYTES} bytes, got ${address.length}`, {});
    }
    if (this.count === this.lens.length) this.growEntries();
    const i = this.count++;
    this.addrs.set(address, i * ADDRESS_BYTES);
    this.sums.set(checksum ?? nodeHash('sha256', bytes, 'buffer'), i * 32);
    const len = bytes.length;
    this.lens[i] = len;
    const b = this.blockOpts;
    if (b && len > 0 && b.compressible(bytes, address)) {
      if (this.stagedEnd + len > this.staged.length) this.staged = grow(this.staged, this.stagedEnd, this.stagedEnd + len);
      this.staged.set(bytes, this.stagedEnd);
      this.offs[i] = this.stagedEnd;
      this.stagedEnd += len;
      this.blockOf[i] = this.blocks.length;
      if (this.stagedEnd - this.blockStart >= b.blockBytes) return this.closeBlock();
    } else {
      if (this.rawEnd + len > this.raw.length) this.raw = grow(this.raw, this.rawEnd, this.rawEnd + len);
      this.raw.set(bytes, this.rawEnd);
      this.offs[i] = this.rawEnd;
      this.rawEnd += len;
      this.blockOf[i] = -1;
    }
    return undefined;
  }

  /**
   * Bytes the chunk data will take in the pack, as far as can be known deterministically: chunks
   * stored as they are at their size, blocks at least BLOCK_LAG places back at their stored size,
   * and later ones (and the open block) at their input size times the ratio those achieved.
   */
  get storedEstimate(): number {
    const unknownFrom = this.known < this.blocks.length ? this.blocks[this.known]!.start : this.blockStart;
    // Blocks still compressing (and the open one) are assumed to shrink like the known ones did.
    const ratio = this.known > 0 ? this.knownStoredBytes / unknownFrom : 1;
    return this.rawEnd - PACK_HEADER_BYTES + this.knownStoredBytes + (this.stagedEnd - unknownFrom) * ratio;
  }

  /** The bytes of chunk `i` as added (a view; valid until `release`). */
  chunk(i: number): Uint8Array {
    const off = this.offs[i]!;
    const len = this.lens[i]!;
    return this.blockOf[i]! >= 0 ? this.staged.subarray(off, off + len) : this.raw.subarray(off, off + len);
  }

  /** Address of chunk `i` (a view). */
  address(i: number): Uint8Array {
    return this.addrs.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
  }

  /** Where chunk `i` lies in the sealed pack (see PackEntry). */
  location(i: number): { checksum: Uint8Array; offset: number; length: number; within?: { offset: number; length: number } } {
    if (!this.finalOff) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'pack is not sealed yet', {});
    const checksum = this.sums.slice(i * 32, i * 32 + 32);
    const bl = this.blockLen![i]!;
    if (bl === 0) return { checksum, offset: this.finalOff[i]!, length: this.lens[i]! };
    return { checksum, offset: this.blockPos![i]!, length: bl, within: { offset: this.finalOff[i]!, length: this.lens[i]! } };
  }

  /**
   * Drop the chunk bytes (after the pack is uploaded); addresses and locations stay. Returns the
   * buffer the pack was built in, for a caller that knows nothing else holds the pack bytes.
   */
  release(): Uint8Array {
    const buffer = this.raw;
    this.raw = new Uint8Array(0);
    this.staged = new Uint8Array(0);
    for (const b of this.blocks) b.stored = undefined;
    return buffer;
  }

  /**
   * Write the index and footer. Without blocks this is synchronous work (the returned promise is
   * already settled); with blocks it waits for their compression.
   */
  async seal(): Promise<BuiltPack> {
    if (this.blockOpts && this.stagedEnd > this.blockStart) void this.closeBlock(false);
    if (this.blocks.length === 0) return this.sealPlain();
    await Promise.all(this.blocks.map((b) => b.done));
    const failed = this.blocks.find((b) => b.error !== undefined);
    if (failed) throw failed.error;
    this.unblockIncompressible();
    return this.blocks.length === 0 ? this.sealPlain() : this.sealBlocks();
  }

  /**
   * Chunks of blocks that zstd could not shrink by a tenth are stored as they are instead (a pack
   * with no compressed block left is a version 1 pack, with no per-entry block fields to pay for).
   */
  private unblockIncompressible(): void {
    const renumber = new Int32Array(this.blocks.length);
    const kept: Block[] = [];
    this.blocks.forEach((b, k) => {
      renumber[k] = b.stored![0] === BLOCK_CODEC_RAW ? -1 : kept.length;
      if (renumber[k]! >= 0) kept.push(b);
    });
    if (kept.length === this.blocks.length) return;
    for (let i = 0; i < this.count; i++) {
      const k = this.blockOf[i]!;
      if (k < 0) continue;
      if (renumber[k]! >= 0) {
        this.blockOf[i] = renumber[k]!;
        continue;
      }
      const len = this.lens[i]!;
      if (this.rawEnd + len > this.raw.length) this.raw = grow(this.raw, this.rawEnd, this.rawEnd + len);
      this.raw.set(this.staged.subarray(this.offs[i]!, this.offs[i]! + len), this.rawEnd);
      this.offs[i] = this.rawEnd;
      this.rawEnd += len;
      this.blockOf[i] = -1;
    }
    this.blocks.splice(0, this.blocks.length, ...kept);
  }

  /**
   * Seal a pack built without block options (synchronously).
   * @example const built = new PackBuilder().sealPlain();
   */
  sealPlain(): BuiltPack {
    if (this.blocks.length > 0 || this.stagedEnd > this.blockStart) {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'a pack with blocks must be sealed with seal()', {});
    }
    this.sealed = true;
    const n = this.count;
    const indexOffset = this.rawEnd;
    const total = indexOffset + n * PACK_ENTRY_BYTES + PACK_FOOTER_BYTES;
    checkSize(total);
    if (total > this.raw.length) this.raw = grow(this.raw, this.rawEnd, total, true);
    const out = this.raw;
    this.finalOff = this.offs;
    this.blockPos = new Uint32Array(0);
    this.blockLen = new Uint32Array(n);
    writeHeader(out, PACK_VERSION);
    this.writeIndex(out, indexOffset, PACK_VERSION);
    return { bytes: out.subarray(0, total), indexOffset, entryCount: n, version: PACK_VERSION, index: out.slice(indexOffset, indexOffset + n * PACK_ENTRY_BYTES) };
  }

  private sealBlocks(): BuiltPack {
    this.sealed = true;
    const n = this.count;
    let blocksBytes = 0;
    for (const b of this.blocks) blocksBytes += b.stored!.length;
    // Chunks stored as they are stay where they were added (the raw area becomes the pack, no
    // copy); the blocks follow them.
    const indexOffset = this.rawEnd + blocksBytes;
    const total = indexOffset + n * PACK_ENTRY_BYTES_V2 + PACK_FOOTER_BYTES;
    checkSize(total);
    if (total > this.raw.length) this.raw = grow(this.raw, this.rawEnd, total, true);
    const out = this.raw;
    writeHeader(out, PACK_VERSION_BLOCKS);
    const at = new Uint32Array(this.blocks.length);
    let p = this.rawEnd;
    this.blocks.forEach((b, k) => {
      at[k] = p;
      out.set(b.stored!, p);
      p += b.stored!.length;
    });
    const finalOff = new Uint32Array(n);
    const blockPos = new Uint32Array(n);
    const blockLen = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const k = this.blockOf[i]!;
      if (k < 0) finalOff[i] = this.offs[i]!;
      else {
        const b = this.blocks[k]!;
        finalOff[i] = this.offs[i]! - b.start;
        blockPos[i] = at[k]!;
        blockLen[i] = b.stored!.length;
      }
    }
    this.finalOff = finalOff;
    this.blockPos = blockPos;
    this.blockLen = blockLen;
    this.writeIndex(out, indexOffset, PACK_VERSION_BLOCKS);
    return {
      bytes: out.subarray(0, total),
      indexOffset,
      entryCount: n,
      version: PACK_VERSION_BLOCKS,
      index: out.slice(indexOffset, indexOffset + n * PACK_ENTRY_BYTES_V2),
    };
  }

  /** Sorted index + footer at `indexOffset` of `out`. */
  private writeIndex(out: Uint8Array, indexOffset: number, version: number): void {
    const n = this.count;
    const order = this.sortedOrder();
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const size = packEntryBytes(version);
    let p = indexOffset;
    const addrs = this.addrs;
    const sums = this.sums;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      // Byte loops: a subarray per entry would allocate twice per chunk.
      const ao = i * ADDRESS_BYTES;
      for (let j = 0; j < 32; j++) out[p + j] = addrs[ao + j]!;
      for (let j = 0; j < 32; j++) out[p + 32 + j] = sums[ao + j]!;
      view.setUint32(p + 64, this.finalOff![i]!);
      view.setUint32(p + 68, this.lens[i]!);
      if (version === PACK_VERSION_BLOCKS) {
        view.setUint32(p + 72, this.blockPos![i] ?? 0);
        view.setUint32(p + 76, this.blockLen![i]!);
      }
      p += size;
    }
    view.setUint32(p, indexOffset);
    view.setUint32(p + 4, n);
    out.set(FOOTER_MAGIC_BYTES, p + 8);
  }

  /** Chunk numbers in address order; a repeated address is a caller bug. */
  private sortedOrder(): Uint32Array {
    const n = this.count;
    const a = this.addrs;
    const key = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * ADDRESS_BYTES;
      // First 6 bytes as a number: ties (and so full comparisons) are rare.
      key[i] = ((a[o]! << 16) | (a[o + 1]! << 8) | a[o + 2]!) * 16777216 + ((a[o + 3]! << 16) | (a[o + 4]! << 8) | a[o + 5]!);
    }
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    // Small-integer results: a double returned from the comparator would be boxed on every call.
    order.sort((x, y) => (key[x]! < key[y]! ? -1 : key[x]! > key[y]! ? 1 : compareAt(a, x, y)));
    for (let k = 1; k < n; k++) {
      if (compareAt(a, order[k - 1]!, order[k]!) === 0) {
        throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `chunk ${toHex(this.address(order[k]!))} was added to one pack twice`, {});
      }
    }
    return order;
  }

  private closeBlock(wait = true): Promise<void> | undefined {
    const b = this.blockOpts!;
    const block: Block = { start: this.blockStart, end: this.stagedEnd, stored: undefined, done: Promise.resolve(), error: undefined };
    const decoded = this.staged.subarray(block.start, block.end);
    block.done = zstdBinding()
      .compress(asBuffer(decoded), b.level)
      .then(
        (frame) => {
          // A block must save a tenth to be worth a decompression on every read of its chunks.
          block.stored = frame.length + 1 <= decoded.length * 0.9 ? withCodec(BLOCK_CODEC_ZSTD, frame) : withCodec(BLOCK_CODEC_RAW, decoded);
        },
        (e: unknown) => {
          block.error = new ProllyError(ErrorCodes.BACKEND, `zstd could not compress a pack block: ${(e as Error).message}`, {}, { cause: e });
        },
      );
    this.blocks.push(block);
    this.blockStart = this.stagedEnd;
    if (!wait) return undefined;
    const target = this.blocks.length - BLOCK_LAG;
    if (target <= this.known) return undefined;
    return this.advanceKnown(target);
  }

  private async advanceKnown(target: number): Promise<void> {
    while (this.known < target) {
      const b = this.blocks[this.known]!;
      await b.done;
      if (b.error !== undefined) throw b.error;
      this.knownStoredBytes += b.stored!.length;
      this.known++;
    }
  }

  private growEntries(): void {
    const n = this.lens.length * 2;
    const addrs = new Uint8Array(n * ADDRESS_BYTES);
    addrs.set(this.addrs);
    const sums = new Uint8Array(n * 32);
    sums.set(this.sums);
    const offs = new Uint32Array(n);
    offs.set(this.offs);
    const lens = new Uint32Array(n);
    lens.set(this.lens);
    const blockOf = new Int32Array(n);
    blockOf.set(this.blockOf);
    this.addrs = addrs;
    this.sums = sums;
    this.offs = offs;
    this.lens = lens;
    this.blockOf = blockOf;
  }
}

function compareAt(a: Uint8Array, x: number, y: number): number {
  const ox = x * ADDRESS_BYTES;
  const oy = y * ADDRESS_BYTES;
  for (let k = 0; k < ADDRESS_BYTES; k++) {
    const d = a[ox + k]! - a[oy + k]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function writeHeader(out: Uint8Array, version: number): void {
  out.set(MAGIC_BYTES, 0);
  out[8] = version;
  out[9] = 0;
  out[10] = 0;
  out[11] = 0;
}

function withCodec(codec: number, payload: Uint8Array): Uint8Array {
  const out = allocBytes(1 + payload.length);
  out[0] = codec;
  out.set(payload, 1);
  return out;
}

function checkSize(total: number): void {
  if (total > PACK_MAX_BYTES) {
    throw new ProllyError(ErrorCodes.CHUNK_TOO_LARGE, `pack of ${total} bytes exceeds the ${PACK_MAX_BYTES}-byte pack limit`, { bytes: total });
  }
}

/** Uninitialised memory (every byte of a pack is written before it is used). */
function allocBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** A larger buffer holding at least `need` bytes (`exact`: exactly `need`), with the first `used` of `buf`. */
function grow(buf: Uint8Array, used: number, need: number, exact = false): Uint8Array {
  const out = allocBytes(exact ? need : Math.max(need, Math.ceil(buf.length * 1.5)));
  out.set(buf.subarray(0, used));
  return out;
}

/**
 * How an object is cut into stripes and shards. An object of `size` bytes is read as stripes of k
 * blocks: stripe s holds object bytes [s·k·B, (s+1)·k·B), block j of it goes to data shard j at
 * shard offset s·B. The last stripe uses a smaller block (⌈rest / k⌉ rounded up to 8) so padding is
 * at most 8·k bytes, whatever the object size. Each stripe is erasure-coded on its own, which keeps
 * the coder in cache and lets a ranged read (or a degraded one) touch only the stripes it needs.
 */
import { invalidArgument } from '../../errors.js';

/** Default block size: 64 KiB per shard per stripe. */
export const DEFAULT_BLOCK_SIZE = 64 * 1024;

export interface StripeLayout {
  size: number;
  k: number;
  /** Block size of every stripe but the last. */
  blockSize: number;
  stripes: number;
  /** Block size of the last stripe (equal to blockSize when the object fills it). */
  lastBlockSize: number;
  /** Bytes of every shard. */
  shardLength: number;
}

/**
 * @example stripeLayout(1_000_000, 10, 65536) // { stripes: 2, lastBlockSize: 34464, shardLength: 100000, … }
 */
export function stripeLayout(size: number, k: number, blockSize: number = DEFAULT_BLOCK_SIZE): StripeLayout {
  if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`object size must be a non-negative integer, got ${size}`);
  if (blockSize <= 0 || blockSize % 8 !== 0) throw invalidArgument(`block size must be a positive multiple of 8, got ${blockSize}`);
  const full = Math.floor(size / (k * blockSize));
  const rest = size - full * k * blockSize;
  const lastBlockSize = rest === 0 ? blockSize : Math.ceil(Math.ceil(rest / k) / 8) * 8;
  const stripes = full + (rest > 0 ? 1 : 0);
  const shardLength = rest > 0 ? full * blockSize + lastBlockSize : full * blockSize;
  return { size, k, blockSize, stripes, lastBlockSize: stripes === 0 ? 0 : lastBlockSize, shardLength };
}

/** Block size of stripe `s`. */
export function blockSizeOf(layout: StripeLayout, s: number): number {
  return s === layout.stripes - 1 ? layout.lastBlockSize : layout.blockSize;
}

/** Offset of stripe `s` in the object. */
export function stripeStart(layout: StripeLayout, s: number): number {
  return s * layout.k * layout.blockSize;
}

/** Offset of stripe `s`'s block in every shard. */
export function shardOffset(layout: StripeLayout, s: number): number {
  return s * layout.blockSize;
}

/**
 * The k data blocks of stripe `s`, back to back and zero-padded (what the coder takes).
 * @example const stripe = stripeData(bytes, layout, 0);
 */
export function stripeData(bytes: Uint8Array, layout: StripeLayout, s: number): Uint8Array {
  const b = blockSizeOf(layout, s);
  const start = stripeStart(layout, s);
  const end = Math.min(bytes.length, start + layout.k * b);
  if (end - start === layout.k * b) return bytes.subarray(start, end);
  const padded = new Uint8Array(layout.k * b);
  padded.set(bytes.subarray(start, end));
  return padded;
}

/**
 * Which data blocks a byte range of the object touches: for each stripe, the shards and the byte
 * span inside each block.
 */
export interface BlockPiece {
  stripe: number;
  shard: number;
  /** Offset inside the block. */
  from: number;
  to: number;
  /** Where these bytes go in the caller's output. */
  outOffset: number;
}

/**
 * @example piecesOfRange(layout, 100, 200) // [{ stripe: 0, shard: 0, from: 100, to: 200, outOffset: 0 }]
 */
export function piecesOfRange(layout: StripeLayout, start: number, end: number): BlockPiece[] {
  const pieces: BlockPiece[] = [];
  let x = start;
  while (x < end) {
    const s = Math.floor(x / (layout.k * layout.blockSize));
    const b = blockSizeOf(layout, s);
    const inStripe = x - stripeStart(layout, s);
    const shard = Math.floor(inStripe / b);
    const from = inStripe - shard * b;
    const to = Math.min(b, from + (end - x));
    pieces.push({ stripe: s, shard, from, to, outOffset: x - start });
    x += to - from;
  }
  return pieces;
}

/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016) with normalized chunking, as frozen in
 * docs/FORMAT.md ("Blobs"). A boundary depends only on the bytes of the chunk being cut, so an edit
 * moves at most the boundaries next to it and the rest of a large value keeps its chunk addresses.
 *
 * Speed matters here (every byte of every blob passes through `fastCdcCut`): the loop is kept in
 * int32 arithmetic on typed arrays, unrolled by two, and the first CDC_MIN_SIZE bytes of each chunk
 * are skipped without hashing, as FastCDC prescribes.
 */
import { invalidArgument } from '../errors.js';
import { GEAR_TABLE_I32 } from './gear.js';

/**
 * No chunk except a blob's last is this short or shorter: the first MIN bytes are never cut in.
 * @example chunk.length > CDC_MIN_SIZE || isLastChunk
 */
export const CDC_MIN_SIZE = 16 * 1024;
/** Normalization point: before it the harder mask applies, after it the easier one. @example offset < CDC_AVG_SIZE ? CDC_MASK_S : CDC_MASK_L */
export const CDC_AVG_SIZE = 64 * 1024;
/**
 * Hard upper bound on a data chunk's length (well under IPFS's 1 MiB block limit).
 * @example chunk.length <= CDC_MAX_SIZE // always
 */
export const CDC_MAX_SIZE = 256 * 1024;
/** 18 one-bits (the top 18 of 32): used for chunk offsets below CDC_AVG_SIZE. @example (h & CDC_MASK_S) === 0 // cut */
export const CDC_MASK_S = 0xffffc000;
/** 14 one-bits (the top 14 of 32): used from CDC_AVG_SIZE up to CDC_MAX_SIZE. @example (h & CDC_MASK_L) === 0 // cut */
export const CDC_MASK_L = 0xfffc0000;

// Signed views of the masks for int32 `&` in the hot loop.
const MASK_S = CDC_MASK_S | 0;
const MASK_L = CDC_MASK_L | 0;

/**
 * Length of the chunk that starts at `buf[start]`, given the bytes `buf[start..end)`.
 * The answer is final only when `end - start >= CDC_MAX_SIZE` or `end` is the end of the whole input;
 * callers that stream must otherwise wait for more bytes (FastCdcChunker does this).
 *
 * @example
 * let pos = 0;
 * while (pos < data.length) pos += fastCdcCut(data, pos, data.length);
 */
export function fastCdcCut(buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n <= CDC_MIN_SIZE) return n;
  const limit = start + (n < CDC_MAX_SIZE ? n : CDC_MAX_SIZE);
  const normal = start + (n < CDC_AVG_SIZE ? n : CDC_AVG_SIZE);
  const g = GEAR_TABLE_I32;
  let h = 0;
  let i = start + CDC_MIN_SIZE;
  // Two bytes per iteration halves the loop overhead; each byte still gets its own boundary test.
  const normal2 = normal - 1;
  for (; i < normal2; i += 2) {
    h = ((h << 1) + g[buf[i]!]!) | 0;
    if ((h & MASK_S) === 0) return i + 1 - start;
    h = ((h << 1) + g[buf[i + 1]!]!) | 0;
    if ((h & MASK_S) === 0) return i + 2 - start;
  }
  if (i < normal) {
    h = ((h << 1) + g[buf[i]!]!) | 0;
    if ((h & MASK_S) === 0) return i + 1 - start;
    i++;
  }
  const limit2 = limit - 1;
  for (; i < limit2; i += 2) {
    h = ((h << 1) + g[buf[i]!]!) | 0;
    if ((h & MASK_L) === 0) return i + 1 - start;
    h = ((h << 1) + g[buf[i + 1]!]!) | 0;
    if ((h & MASK_L) === 0) return i + 2 - start;
  }
  if (i < limit) {
    h = ((h << 1) + g[buf[i]!]!) | 0;
    if ((h & MASK_L) === 0) return i + 1 - start;
  }
  return limit - start;
}

/**
 * Split a whole in-memory value into its data chunks. Yields views into `data` (no copies), so the
 * caller must not change `data` while it still uses them.
 *
 * @example
 * const lengths = [...cdcChunks(bytes)].map((c) => c.length);
 */
export function* cdcChunks(data: Uint8Array): Generator<Uint8Array> {
  let pos = 0;
  while (pos < data.length) {
    const len = fastCdcCut(data, pos, data.length);
    yield data.subarray(pos, pos + len);
    pos += len;
  }
}

/** Streaming input is copied into a block of this size and scanned there. */
const BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * Streaming FastCDC: feed the input in pieces of any size, get the same chunks as `cdcChunks` on the
 * concatenation. Memory stays bounded (a few MiB) whatever the input size.
 *
 * Pieces are copied in (the caller may reuse its buffers at once), and every returned chunk is a
 * fresh exact-size Uint8Array that the chunker never touches again.
 *
 * @example
 * const chunker = new FastCdcChunker();
 * for await (const piece of stream) for (const chunk of chunker.push(piece)) handle(chunk);
 * for (const chunk of chunker.finish()) handle(chunk);
 */
export class FastCdcChunker {
  private readonly block = new Uint8Array(BLOCK_BYTES);
  /** First byte of `block` not yet emitted in a chunk. */
  private start = 0;
  /** Bytes of `block` filled so far. */
  private end = 0;
  private finished = false;
  private pushed = 0;

  /** Total bytes pushed so far. */
  get bytesIn(): number {
    return this.pushed;
  }

  /** Add the next piece of input; returns the chunks that are now certain. */
  push(piece: Uint8Array): Uint8Array[] {
    if (this.finished) throw invalidArgument('FastCdcChunker.push after finish()');
    const out: Uint8Array[] = [];
    let p = 0;
    while (p < piece.length) {
      if (this.end === this.block.length) this.renewBlock(out);
      const n = Math.min(piece.length - p, this.block.length - this.end);
      this.block.set(piece.subarray(p, p + n), this.end);
      this.end += n;
      p += n;
    }
    this.pushed += piece.length;
    this.cutFull(out);
    return out;
  }

  /** Signal the end of input; returns the remaining chunks (the last one may be short). */
  finish(): Uint8Array[] {
    if (this.finished) throw invalidArgument('FastCdcChunker.finish called twice');
    this.finished = true;
    const out: Uint8Array[] = [];
    while (this.start < this.end) {
      const len = fastCdcCut(this.block, this.start, this.end);
      out.push(this.block.slice(this.start, this.start + len));
      this.start += len;
    }
    return out;
  }

  /** Emit every chunk whose boundary is already decided: one needs CDC_MAX_SIZE bytes in view. */
  private cutFull(out: Uint8Array[]): void {
    const block = this.block;
    while (this.end - this.start >= CDC_MAX_SIZE) {
      const len = fastCdcCut(block, this.start, this.end);
      out.push(block.slice(this.start, this.start + len));
      this.start += len;
    }
  }

  /** The block is full: cut what can be cut, then move the (< MAX) tail to the block's front. */
  private renewBlock(out: Uint8Array[]): void {
    this.cutFull(out);
    this.block.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }
}

/**
 * Unsigned LEB128 varints, as used throughout docs/FORMAT.md. Decoding is strict: a value must be
 * in its shortest encoding and fit in 2^53 - 1, so every number has exactly one byte form.
 */
import { ErrorCodes, ProllyError } from '../errors.js';

/** Bytes needed to encode `n`. @example varintLength(300) // 2 */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * Write `n` at `buf[offset]`; returns the offset after it.
 * @example const b = new Uint8Array(2); writeVarint(b, 0, 300) // 2, b = [0xac, 0x02]
 */
export function writeVarint(buf: Uint8Array, offset: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`);
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** A decoded varint and the offset just past it. */
export interface VarintRead {
  value: number;
  next: number;
}

/**
 * Read a varint at `buf[offset]`. Throws EBADENCODING on truncation, over-long or non-minimal forms.
 * @example readVarint(new Uint8Array([0xac, 0x02]), 0) // { value: 300, next: 2 }
 */
export function readVarint(buf: Uint8Array, offset: number): VarintRead {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (offset + i >= buf.length) throw bad('truncated varint', offset);
    const b = buf[offset + i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw bad('non-minimal varint', offset);
      if (!Number.isSafeInteger(value)) throw bad('varint exceeds 2^53-1', offset);
      return { value, next: offset + i + 1 };
    }
    scale *= 128;
  }
  throw bad('varint longer than 8 bytes', offset);
}

function bad(what: string, offset: number): ProllyError {
  return new ProllyError(ErrorCodes.BAD_ENCODING, `${what} at byte ${offset}`, { offset });
}

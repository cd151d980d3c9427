/**
 * Byte helpers shared by every layer. `Uint8Array` in and out; Buffers are accepted anywhere
 * a Uint8Array is, since Buffer is a subclass.
 */

/** Node's Buffer when present (the engine runs without it too, e.g. proof checks in a browser). */
const NodeBuffer: typeof Buffer | undefined = (globalThis as { Buffer?: typeof Buffer }).Buffer;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Lower-case hex of bytes.
 * @example toHex(new Uint8Array([1, 255])) // '01ff'
 */
export function toHex(bytes: Uint8Array): string {
  // Native for addresses and longer (half the time of the loop for 32 bytes, and no string garbage).
  if (bytes.length >= 16 && NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/**
 * Bytes of a hex string; throws on odd length or a non-hex character.
 * @example fromHex('01ff') // Uint8Array [1, 255]
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`not a hex string: ${JSON.stringify(hex.length > 80 ? hex.slice(0, 80) + '…' : hex)}`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/**
 * Compare `a[aStart, aEnd)` with `b[bStart, bEnd)` lexicographically (unsigned bytes, a proper prefix
 * first). A plain loop: for the short keys on every tree search path it beats a call into native
 * Buffer.compare, whose argument checks cost more than comparing 16 bytes.
 * @example compareRange(utf8('xab'), 1, 3, utf8('ab'), 0, 2) // 0
 */
export function compareRange(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = aLen < bLen ? aLen : bLen;
  if (n > 64) {
    const c = Buffer.compare(a.subarray(aStart, aStart + n), b.subarray(bStart, bStart + n));
    return c !== 0 ? c : aLen - bLen;
  }
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

/**
 * Lexicographic byte comparison: negative, zero or positive like `Array.prototype.sort` wants.
 * @example compareBytes(utf8('a'), utf8('b')) < 0
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareRange(a, 0, a.length, b, 0, b.length);
}

/** True when both arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareRange(a, 0, a.length, b, 0, b.length) === 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string. @example utf8('k') // Uint8Array [107] */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** String of UTF-8 bytes. @example fromUtf8(utf8('k')) // 'k' */
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Concatenate byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Byte helpers shared by every layer. `Uint8Array` in and out; Buffers are accepted anywhere
 * a Uint8Array is, since Buffer is a subclass.
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Lower-case hex of bytes.
 * @example toHex(new Uint8Array([1, 255])) // '01ff'
 */
export function toHex(bytes: Uint8Array): string {
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
 * Lexicographic byte comparison: negative, zero or positive like `Array.prototype.sort` wants.
 * Uses Buffer.compare (native memcmp) — this sits on every tree search path.
 * @example compareBytes(utf8('a'), utf8('b')) < 0
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** True when both arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
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

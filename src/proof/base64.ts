/**
 * Strict base64 (RFC 4648 §4: standard alphabet, `=` padding) for the bytes a proof carries. Pure, no
 * Buffer or atob, so the verifier runs in browsers. Only the canonical form is accepted — length a
 * multiple of 4, padding exactly where needed, unused bits zero, no whitespace — so every byte string
 * has exactly one spelling in a proof.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? VALUES[c]! : -1;
}

/**
 * Bytes of a canonical base64 string, or undefined when it is not one.
 * @example base64ToBytes('AQID') // Uint8Array [1, 2, 3]
 */
export function base64ToBytes(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  const full = text.length - (pad ? 4 : 0);
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    const d = sextet(text, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (pad) {
    const a = sextet(text, full);
    const b = sextet(text, full + 1);
    if ((a | b) < 0) return undefined;
    if (pad === 2) {
      if ((b & 0x0f) !== 0) return undefined;
      out[o++] = (a << 2) | (b >> 4);
    } else {
      const c = sextet(text, full + 2);
      if (c < 0 || (c & 0x03) !== 0) return undefined;
      out[o++] = (a << 2) | (b >> 4);
      out[o++] = ((b & 0x0f) << 4) | (c >> 2);
    }
  }
  return out;
}

/**
 * Canonical base64 of bytes.
 * @example bytesToBase64(new Uint8Array([1, 2, 3])) // 'AQID'
 */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    s += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + '=';
  }
  return s;
}

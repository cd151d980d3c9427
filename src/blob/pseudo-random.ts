/**
 * Reproducible pseudo-random bytes for test vectors, tests and benchmarks — the generator that
 * docs/FORMAT.md names for the FastCDC boundary vectors, so a third party can regenerate the input:
 * the AES-128-CTR keystream with key = first 16 bytes of SHA-256(UTF-8 seed) and an all-zero initial
 * counter block (equivalently: `openssl enc -aes-128-ctr -K <key hex> -iv 00…00 < /dev/zero`).
 * Native AES runs at GB/s, so even 256 MiB of input costs a fraction of a second.
 */
import { createCipheriv } from 'node:crypto';
import { sha256 } from '../util/hash.js';
import { utf8 } from '../util/bytes.js';

/**
 * `length` pseudo-random bytes determined by `seed`. The output for a longer length extends the
 * output for a shorter one (it is a keystream prefix).
 *
 * @example
 * pseudoRandomBytes('git-prolly cdc vector', 8 << 20) // same 8 MiB on every machine
 */
export function pseudoRandomBytes(seed: string, length: number): Uint8Array {
  const key = sha256(utf8(seed)).subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, new Uint8Array(16));
  const out = new Uint8Array(length);
  const step = 16 * 1024 * 1024;
  const zeros = new Uint8Array(Math.min(step, length));
  for (let o = 0; o < length; o += step) {
    const n = Math.min(step, length - o);
    out.set(cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n)), o);
  }
  return out;
}

/**
 * The same keystream as `pseudoRandomBytes`, produced piece by piece (for streaming tests and
 * benchmarks that must not hold the whole input).
 *
 * @example
 * for (const piece of pseudoRandomPieces('seed', 64 << 20, 1 << 20)) chunker.push(piece);
 */
export function* pseudoRandomPieces(seed: string, length: number, pieceBytes: number): Generator<Uint8Array> {
  const key = sha256(utf8(seed)).subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, new Uint8Array(16));
  const zeros = new Uint8Array(Math.min(pieceBytes, length));
  for (let o = 0; o < length; o += pieceBytes) {
    const n = Math.min(pieceBytes, length - o);
    const b = cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n));
    yield new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
}

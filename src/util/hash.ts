/**
 * Chunk addressing: SHA-256 of the chunk's canonical (uncompressed, unencrypted) bytes.
 * node:crypto is used when present (native, ~1.5 GB/s); @noble/hashes is the fallback so the
 * pure modules (proof verification) also run in browsers.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { createHash } from 'node:crypto';

/** Length in bytes of every chunk address. */
export const ADDRESS_BYTES = 32;

/**
 * SHA-256 digest of `data`.
 * @example toHex(sha256(utf8('abc'))) // 'ba7816bf…'
 */
export function sha256(data: Uint8Array): Uint8Array {
  const h = createHash('sha256').update(data).digest();
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

/** Pure-JS SHA-256 (no node:crypto), for environments without it. */
export function sha256Portable(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

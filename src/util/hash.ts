/**
 * Chunk addressing: SHA-256 of the chunk's canonical (uncompressed, unencrypted) bytes.
 * node:crypto (native, ~1.5 GB/s). The pure modules that must also run in browsers (proof
 * verification) use @noble/hashes themselves; it is not loaded here, where its start-up work would
 * slow every command.
 */
import * as nodeCrypto from 'node:crypto';

/** Length in bytes of every chunk address. */
export const ADDRESS_BYTES = 32;

/**
 * SHA-256 digest of `data`.
 * @example toHex(sha256(utf8('abc'))) // 'ba7816bf…'
 */
export function sha256(data: Uint8Array): Uint8Array {
  if (oneShot) {
    // Hex out, then bytes from Node's shared small-buffer pool: a Buffer result would be a fresh
    // ArrayBuffer per digest, and allocating those (not hashing) dominated hashing tree nodes.
    const b = Buffer.from(oneShot('sha256', data, 'hex'), 'hex');
    return new Uint8Array(b.buffer, b.byteOffset, ADDRESS_BYTES);
  }
  const h = nodeCrypto.createHash('sha256').update(data).digest();
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

/** crypto.hash (Node ≥ 20.12): one native call instead of a Hash object per digest. Older Node falls back. */
const oneShot: ((algorithm: string, data: Uint8Array, encoding: 'hex') => string) | undefined =
  typeof (nodeCrypto as { hash?: unknown }).hash === 'function' ? (nodeCrypto.hash as (a: string, d: Uint8Array, e: 'hex') => string) : undefined;

/**
 * The native zstd binding, loaded once. Calls run on libuv's thread pool, so several can be in
 * flight while the main thread works; each call costs tens of microseconds of overhead, which is
 * why callers batch (pack blocks, batched node decoding) instead of calling per small chunk.
 */
import { createRequire } from 'node:module';

export interface ZstdBinding {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

let zstd: ZstdBinding | undefined;

/**
 * The binding. @mongodb-js/zstd 1.2.2's exported `compress(data, level)` drops the level before
 * calling its binding (always level 3), so we call the binding module it wraps, which honours it;
 * the wrapper is the fallback should that file ever move.
 * @example const frame = await zstdBinding().compress(Buffer.from(bytes), 3);
 */
export function zstdBinding(): ZstdBinding {
  if (zstd) return zstd;
  const require = createRequire(import.meta.url);
  try {
    zstd = require('@mongodb-js/zstd/bindings.js') as ZstdBinding;
  } catch {
    zstd = require('@mongodb-js/zstd') as ZstdBinding;
  }
  return zstd;
}

/**
 * A Buffer view of `bytes` (no copy), as the binding wants.
 * @example await zstdBinding().compress(asBuffer(bytes), 1)
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Systematic Reed-Solomon erasure code over GF(2^8) (Cauchy bit-matrix code, XOR only) through the
 * native addon @ronomon/reed-solomon, which runs on libuv's thread pool. "Systematic": the k data
 * shards are the data itself, so a healthy read never decodes anything.
 *
 * The addon's parity depends on the shard size it is called with (it cuts shards into packets), so
 * a stripe must always be encoded and reconstructed with the same size: the erasure layer encodes
 * each stripe on its own and records the block sizes.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';

interface NativeReedSolomon {
  MAX_K: number;
  MAX_M: number;
  create(k: number, m: number): unknown;
  encode(
    context: unknown,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error?: Error) => void,
  ): void;
}

let native: NativeReedSolomon | undefined;
function loadNative(): NativeReedSolomon {
  if (native) return native;
  try {
    native = createRequire(import.meta.url)('@ronomon/reed-solomon') as NativeReedSolomon;
  } catch (e) {
    throw new ProllyError(
      ErrorCodes.BACKEND,
      `erasure coding needs the native module @ronomon/reed-solomon, which did not load (${(e as Error).message}); reinstall with \`npm ci\` (it builds with node-gyp)`,
      {},
      { cause: e },
    );
  }
  return native;
}

/** Largest k and m the codec supports. */
export function reedSolomonLimits(): { maxDataShards: number; maxParityShards: number } {
  const rs = loadNative();
  return { maxDataShards: rs.MAX_K, maxParityShards: rs.MAX_M };
}

/**
 * A (k, m) code. Shards passed in are `blockSize` bytes each, `blockSize` a multiple of 8.
 *
 * @example
 * const rs = new ReedSolomon(10, 4);
 * const parity = await rs.encode(dataStripe, 65536);               // 4 × 65536 bytes
 * const shards = [...dataBlocks, ...parityBlocks]; shards[2] = undefined;
 * await rs.reconstruct(shards, 65536, [2]);                        // shards[2] is back
 */
export class ReedSolomon {
  readonly k: number;
  readonly m: number;
  private readonly context: unknown;

  constructor(k: number, m: number) {
    const rs = loadNative();
    if (!Number.isInteger(k) || k < 1 || k > rs.MAX_K) throw invalidArgument(`data_shards must be 1..${rs.MAX_K}, got ${k}`, { k });
    if (!Number.isInteger(m) || m < 1 || m > rs.MAX_M) throw invalidArgument(`parity_shards must be 1..${rs.MAX_M}, got ${m}`, { m });
    this.k = k;
    this.m = m;
    this.context = rs.create(k, m);
  }

  /**
   * Parity of one stripe: `data` holds the k data blocks back to back (k × blockSize bytes).
   * Returns the m parity blocks back to back.
   */
  async encode(data: Uint8Array, blockSize: number): Promise<Buffer> {
    this.checkSize(blockSize);
    if (data.length !== this.k * blockSize) throw invalidArgument(`stripe is ${data.length} bytes, expected ${this.k} × ${blockSize}`);
    // Every parity byte is written by the coder, so the buffer need not be zeroed first.
    const parity = Buffer.allocUnsafe(this.m * blockSize);
    let sources = 0;
    for (let i = 0; i < this.k; i++) sources |= 1 << i;
    let targets = 0;
    for (let i = this.k; i < this.k + this.m; i++) targets |= 1 << i;
    await this.run(sources, targets, toBuffer(data), parity, blockSize);
    return parity;
  }

  /**
   * Fill the shards listed in `wanted` from any k present ones. `shards` has k + m entries of
   * `blockSize` bytes (undefined = lost); the wanted entries are replaced by reconstructed blocks.
   * Throws EUNRECOVERABLE when fewer than k are present.
   */
  async reconstruct(shards: (Uint8Array | undefined)[], blockSize: number, wanted: readonly number[]): Promise<void> {
    this.checkSize(blockSize);
    const n = this.k + this.m;
    if (shards.length !== n) throw invalidArgument(`expected ${n} shards, got ${shards.length}`);
    const present: number[] = [];
    for (let i = 0; i < n; i++) if (shards[i] && !wanted.includes(i)) present.push(i);
    if (present.length < this.k) {
      throw new ProllyError(ErrorCodes.UNRECOVERABLE, `only ${present.length} of ${n} shards present, ${this.k} needed`, { present: present.length, needed: this.k });
    }
    if (wanted.length === 0) return;
    // Sources are copied in and targets written by the coder; other shards are never read.
    const data = Buffer.allocUnsafe(this.k * blockSize);
    const parity = Buffer.allocUnsafe(this.m * blockSize);
    let sources = 0;
    // Exactly k sources: data shards first, which makes decoding cheapest.
    for (const i of present.slice(0, this.k)) {
      sources |= 1 << i;
      const block = shards[i]!;
      if (block.length !== blockSize) throw invalidArgument(`shard ${i} is ${block.length} bytes, expected ${blockSize}`);
      if (i < this.k) data.set(block, i * blockSize);
      else parity.set(block, (i - this.k) * blockSize);
    }
    let targets = 0;
    for (const i of wanted) targets |= 1 << i;
    await this.run(sources, targets, data, parity, blockSize);
    for (const i of wanted) {
      shards[i] = i < this.k ? data.subarray(i * blockSize, (i + 1) * blockSize) : parity.subarray((i - this.k) * blockSize, (i - this.k + 1) * blockSize);
    }
  }

  private checkSize(blockSize: number): void {
    if (!Number.isInteger(blockSize) || blockSize <= 0 || blockSize % 8 !== 0) throw invalidArgument(`block size must be a positive multiple of 8, got ${blockSize}`);
  }

  private run(sources: number, targets: number, data: Buffer, parity: Buffer, blockSize: number): Promise<void> {
    const rs = loadNative();
    return new Promise((resolve, reject) =>
      rs.encode(this.context, sources, targets, data, 0, this.k * blockSize, parity, 0, this.m * blockSize, (err) => (err ? reject(err) : resolve())),
    );
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

import { ErrorCodes, ProllyError } from '../errors.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { sha256 } from '../util/hash.js';
import type { Chunk, ChunkStore } from './chunk-store.js';

/** Options for {@link VerifyingStore}. */
export interface VerifyingStoreOptions {
  /** The store whose reads are checked. */
  inner: ChunkStore;
  /** Also check that every put's bytes hash to its address (default true): catches caller bugs before they are stored. */
  verifyOnPut?: boolean;
  /** Name for error messages (default: the inner store's name, which says where bytes come from). */
  name?: string;
}

/**
 * Checks that every chunk read hashes (SHA-256) to its address, so bit rot, a buggy tier or a
 * tampering server is caught at the first read. A mismatch throws ProllyError ECHUNKCORRUPT whose
 * message and `data` name the chunk address (hex) and the store it came from.
 *
 * @example
 * const store = new VerifyingStore({ inner: await LocalStore.open({ dir }) });
 * await store.get(address); // bytes, or throws ECHUNKCORRUPT
 */
export class VerifyingStore implements ChunkStore {
  readonly name: string;
  readonly inner: ChunkStore;
  private readonly verifyOnPut: boolean;
  /** Chunks checked and found corrupt, for metrics. */
  readonly stats = { verified: 0, corrupt: 0 };

  constructor(options: VerifyingStoreOptions) {
    this.inner = options.inner;
    this.name = options.name ?? options.inner.name;
    this.verifyOnPut = options.verifyOnPut ?? true;
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    const bytes = await this.inner.get(address);
    if (bytes !== undefined) this.check(address, bytes, 'read');
    return bytes;
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const out = await this.inner.getMany(addresses);
    for (let i = 0; i < out.length; i++) {
      const bytes = out[i];
      if (bytes !== undefined) this.check(addresses[i]!, bytes, 'read');
    }
    return out;
  }

  has(address: Uint8Array): Promise<boolean> {
    return this.inner.has(address);
  }

  hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    return this.inner.hasMany(addresses);
  }

  async put(chunk: Chunk): Promise<void> {
    if (this.verifyOnPut) this.check(chunk.address, chunk.bytes, 'put');
    return this.inner.put(chunk);
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    if (this.verifyOnPut) for (const c of chunks) this.check(c.address, c.bytes, 'put');
    return this.inner.putMany(chunks);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  list(): AsyncIterable<Uint8Array> {
    return this.inner.list();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private check(address: Uint8Array, bytes: Uint8Array, phase: 'read' | 'put'): void {
    const actual = sha256(bytes);
    this.stats.verified++;
    if (equalBytes(actual, address)) return;
    this.stats.corrupt++;
    const hex = toHex(address);
    const message =
      phase === 'read'
        ? `chunk ${hex} read from ${this.inner.name} is corrupt: its ${bytes.length} bytes hash to ${toHex(actual)}`
        : `refusing to store chunk ${hex} in ${this.inner.name}: its ${bytes.length} bytes hash to ${toHex(actual)}`;
    throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, message, {
      address: hex,
      actual: toHex(actual),
      store: this.inner.name,
      phase,
    });
  }
}

import { ErrorCodes, ProllyError } from '../errors.js';
import { fromHex, toHex } from '../util/bytes.js';
import type { Chunk, ChunkStore } from './chunk-store.js';

/**
 * A ChunkStore held in a Map: for unit tests of the layers above storage, and for scratch trees.
 * Copies bytes on put so a caller reusing its buffer cannot change stored data.
 *
 * @example
 * const store = new MemoryStore();
 * await store.put({ address, bytes });
 * await store.get(address); // bytes
 */
export class MemoryStore implements ChunkStore {
  readonly name: string;
  private readonly chunks = new Map<string, Uint8Array>();
  private closed = false;
  /** Counters that tests use to assert how much I/O an operation did. */
  readonly stats = { gets: 0, puts: 0 };

  constructor(name = 'memory') {
    this.name = name;
  }

  /** Number of chunks stored. */
  get size(): number {
    return this.chunks.size;
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    this.check();
    this.stats.gets++;
    const bytes = this.chunks.get(toHex(address));
    // A copy, so a caller that changes what it got cannot change what is stored.
    return bytes && bytes.slice();
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.check();
    this.stats.gets += addresses.length;
    return addresses.map((a) => {
      const bytes = this.chunks.get(toHex(a));
      return bytes && bytes.slice();
    });
  }

  async has(address: Uint8Array): Promise<boolean> {
    this.check();
    return this.chunks.has(toHex(address));
  }

  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    this.check();
    return addresses.map((a) => this.chunks.has(toHex(a)));
  }

  async put(chunk: Chunk): Promise<void> {
    this.check();
    const key = toHex(chunk.address);
    if (!this.chunks.has(key)) {
      this.stats.puts++;
      this.chunks.set(key, new Uint8Array(chunk.bytes));
    }
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    for (const c of chunks) await this.put(c);
  }

  async flush(): Promise<void> {
    this.check();
  }

  async *list(): AsyncIterable<Uint8Array> {
    this.check();
    for (const k of [...this.chunks.keys()]) yield fromHex(k);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Test hook: overwrite stored bytes without changing the address (simulates bit rot). */
  corrupt(address: Uint8Array, mutate: (bytes: Uint8Array) => Uint8Array): void {
    const key = toHex(address);
    const cur = this.chunks.get(key);
    if (!cur) throw new Error(`no chunk ${key}`);
    this.chunks.set(key, mutate(Uint8Array.from(cur)));
  }

  /** Test hook: drop a chunk. */
  delete(address: Uint8Array): boolean {
    return this.chunks.delete(toHex(address));
  }

  private check(): void {
    if (this.closed) throw new ProllyError(ErrorCodes.CLOSED, `${this.name} store is closed`, { store: this.name });
  }
}

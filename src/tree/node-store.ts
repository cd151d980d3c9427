/**
 * NodeStore: the tree's manager over a ChunkStore. It owns the cache of decoded nodes (so warm reads
 * do no decoding or hashing), batches node writes into putMany calls, and counts reads so tests and
 * benchmarks can assert how much of a tree an operation touched.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import type { Chunk, ChunkStore } from '../store/chunk-store.js';
import { ByteLru } from '../store/lru.js';
import { toHex } from '../util/bytes.js';
import { EMPTY_NODE_BYTES, Node } from './node.js';
import { sha256 } from '../util/hash.js';

export interface NodeStoreOptions {
  /** Bytes of decoded nodes kept in memory (default 64 MiB). */
  cacheBytes?: number;
  /** Buffered node writes are handed to the chunk store once they reach this many bytes (default 4 MiB). */
  writeBatchBytes?: number;
}

/** Address and bytes of the empty tree's root (an empty leaf). */
export const EMPTY_ROOT: Chunk = { address: sha256(EMPTY_NODE_BYTES), bytes: EMPTY_NODE_BYTES };

/**
 * Decoded-node cache and write batching over a ChunkStore.
 * @example
 * const nodes = new NodeStore(new MemoryStore());
 * const tree = await ProllyTree.build(nodes, entries);
 * await nodes.flush();
 */
export class NodeStore {
  readonly chunks: ChunkStore;
  private readonly writeBatchBytes: number;
  /** Decoded nodes by address hex; charged their bytes plus a rough allowance for offsets and objects. */
  private readonly cache: ByteLru<string, Node>;
  private batch: Chunk[] = [];
  private batchBytes = 0;
  /** Chunks written but not yet handed to the chunk store, readable meanwhile. */
  private readonly unsaved = new Map<string, Uint8Array>();
  private inflight: Promise<void> = Promise.resolve();
  /** Counters: nodes fetched from the chunk store, cache hits, nodes written. */
  readonly stats = { nodeReads: 0, cacheHits: 0, nodeWrites: 0 };

  constructor(chunks: ChunkStore, options: NodeStoreOptions = {}) {
    this.chunks = chunks;
    this.cache = new ByteLru<string, Node>({ maxBytes: options.cacheBytes ?? 64 * 1024 * 1024, sizeOf: (n) => n.bytes.length * 1.1 + 256 });
    this.writeBatchBytes = options.writeBatchBytes ?? 4 * 1024 * 1024;
  }

  /** The decoded node if it is in memory, without I/O. */
  peek(hex: string): Node | undefined {
    const node = this.cache.get(hex);
    if (node) this.stats.cacheHits++;
    return node;
  }

  /** Load and decode the node at `address`; ECHUNKMISSING when no store has it. */
  async get(address: Uint8Array, hex: string = toHex(address)): Promise<Node> {
    const cached = this.peek(hex);
    if (cached) return cached;
    let bytes = this.unsaved.get(hex);
    if (!bytes) {
      this.stats.nodeReads++;
      bytes = await this.chunks.get(address);
      if (!bytes) {
        throw new ProllyError(ErrorCodes.CHUNK_MISSING, `tree node ${hex} is missing from ${this.chunks.name}`, { address: hex, store: this.chunks.name });
      }
    }
    const node = Node.decode(bytes, Uint8Array.from(address));
    this.remember(hex, node);
    return node;
  }

  /** Load many nodes with one getMany for those not in memory. */
  async getMany(addresses: readonly Uint8Array[]): Promise<Node[]> {
    const out: (Node | undefined)[] = new Array(addresses.length);
    const missing: number[] = [];
    for (let i = 0; i < addresses.length; i++) {
      const hex = toHex(addresses[i]!);
      const bytes = this.unsaved.get(hex);
      const node = this.peek(hex) ?? (bytes ? this.decodeAndRemember(hex, bytes, addresses[i]!) : undefined);
      if (node) out[i] = node;
      else missing.push(i);
    }
    if (missing.length > 0) {
      this.stats.nodeReads += missing.length;
      const got = await this.chunks.getMany(missing.map((i) => addresses[i]!));
      missing.forEach((i, j) => {
        const bytes = got[j];
        const hex = toHex(addresses[i]!);
        if (!bytes) throw new ProllyError(ErrorCodes.CHUNK_MISSING, `tree node ${hex} is missing from ${this.chunks.name}`, { address: hex, store: this.chunks.name });
        out[i] = this.decodeAndRemember(hex, bytes, addresses[i]!);
      });
    }
    return out as Node[];
  }

  /** Queue a freshly encoded node for writing. Call `drain()` now and then, and `flush()` at the end. */
  write(address: Uint8Array, bytes: Uint8Array): void {
    const hex = toHex(address);
    if (this.unsaved.has(hex) || this.cache.has(hex)) return;
    this.unsaved.set(hex, bytes);
    this.batch.push({ address, bytes });
    this.batchBytes += bytes.length;
    this.stats.nodeWrites++;
  }

  /** Hand the write batch to the chunk store once it is large enough (bounds memory during builds). */
  async drain(force = false): Promise<void> {
    if (this.batch.length === 0 || (!force && this.batchBytes < this.writeBatchBytes)) return;
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    // One putMany in flight at a time: the next batch is built while this one is written.
    await this.inflight;
    this.inflight = this.chunks.putMany(batch).then(() => {
      for (const c of batch) this.unsaved.delete(toHex(c.address));
    });
  }

  /** Write everything queued and make it durable. */
  async flush(): Promise<void> {
    await this.drain(true);
    await this.inflight;
    await this.chunks.flush();
  }

  private decodeAndRemember(hex: string, bytes: Uint8Array, address: Uint8Array): Node {
    const node = Node.decode(bytes, Uint8Array.from(address));
    this.remember(hex, node);
    return node;
  }

  private remember(hex: string, node: Node): void {
    this.cache.set(hex, node);
  }
}

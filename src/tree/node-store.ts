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

/**
 * Written node bytes are views into the chunker's shared slabs; a node decoded from them for the cache
 * gets its own copy, or the cache would keep whole slabs alive.
 */
function ownCopy(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * An evicted node leaves its parents' memos, so they do not keep it in memory past the cache's bound,
 * and drops its own memo of children (their back-references to it go too).
 */
function unlinkMemos(node: Node): void {
  const refs = node.memoRefs;
  if (refs !== undefined) {
    for (let j = 0; j < refs.length; j += 2) {
      const memo = refs[j] as (Node | undefined)[];
      const i = refs[j + 1] as number;
      if (memo[i] === node) memo[i] = undefined;
    }
    node.memoRefs = undefined;
  }
  const own = node.childMemo as (Node | undefined)[] | undefined;
  if (own !== undefined) {
    for (const child of own) {
      const back = child?.memoRefs;
      if (back === undefined) continue;
      const kept: unknown[] = [];
      for (let j = 0; j < back.length; j += 2) if (back[j] !== own) kept.push(back[j], back[j + 1]);
      child!.memoRefs = kept.length > 0 ? kept : undefined;
    }
    node.childMemo = undefined;
    node.memoOwner = undefined;
  }
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
  /** Cache keys of `batch`, so finishing a write does not hex the addresses again. */
  private batchKeys: string[] = [];
  private batchBytes = 0;
  /** Chunks written but not yet handed to the chunk store, readable meanwhile. */
  private readonly unsaved = new Map<string, Uint8Array>();
  private inflight: Promise<void> = Promise.resolve();
  /** Counters: nodes fetched from the chunk store, cache hits, nodes written. */
  readonly stats = { nodeReads: 0, cacheHits: 0, nodeWrites: 0 };

  constructor(chunks: ChunkStore, options: NodeStoreOptions = {}) {
    this.chunks = chunks;
    this.cache = new ByteLru<string, Node>({
      maxBytes: options.cacheBytes ?? 64 * 1024 * 1024,
      sizeOf: (n) => n.bytes.length * 1.1 + 256,
      // Reads through parents' memos (child()) bypass the LRU's own marks.
      usedSince: (n) => {
        const used = n.used;
        n.used = false;
        return used;
      },
      onEvict: (_hex, n) => unlinkMemos(n),
    });
    this.writeBatchBytes = options.writeBatchBytes ?? 4 * 1024 * 1024;
  }

  /** The decoded node if it is in memory, without I/O. */
  peek(hex: string): Node | undefined {
    const node = this.cache.get(hex);
    if (node) this.stats.cacheHits++;
    return node;
  }

  /**
   * Child i of `parent` if it is in memory, without I/O. The parent remembers the child (until the
   * cache evicts it), so the next visit skips hexing a key and the map lookup, and reaches the child
   * with one pointer load — on a warm point read, memory latency is most of the cost.
   * @example const child = nodes.child(parent, i) ?? (await nodes.get(parent.childAddress(i)));
   */
  child(parent: Node, i: number): Node | undefined {
    if (parent.memoOwner !== this) {
      // A node decoded by another NodeStore keeps that store's memo; look up by key here.
      if (parent.memoOwner !== undefined) return this.peek(parent.childHex(i));
      parent.memoOwner = this;
      parent.childMemo = new Array<undefined>(parent.size).fill(undefined);
    }
    const memo = parent.childMemo as (Node | undefined)[];
    const known = memo[i];
    if (known !== undefined) {
      known.used = true;
      this.stats.cacheHits++;
      return known;
    }
    const node = this.peek(parent.childHex(i));
    if (node === undefined) return undefined;
    memo[i] = node;
    (node.memoRefs ??= []).push(memo, i);
    return node;
  }

  /** Load and decode the node at `address`; ECHUNKMISSING when no store has it. */
  async get(address: Uint8Array, hex: string = toHex(address)): Promise<Node> {
    const cached = this.peek(hex);
    if (cached) return cached;
    let bytes = this.unsaved.get(hex);
    if (bytes) bytes = ownCopy(bytes);
    else {
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
      const node = this.peek(hex) ?? (bytes ? this.decodeAndRemember(hex, ownCopy(bytes), addresses[i]!) : undefined);
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
    this.batchKeys.push(hex);
    this.batchBytes += bytes.length;
    this.stats.nodeWrites++;
  }

  /** Hand the write batch to the chunk store once it is large enough (bounds memory during builds). */
  async drain(force = false): Promise<void> {
    if (this.batch.length === 0 || (!force && this.batchBytes < this.writeBatchBytes)) return;
    const batch = this.batch;
    const keys = this.batchKeys;
    this.batch = [];
    this.batchKeys = [];
    this.batchBytes = 0;
    // One putMany in flight at a time: the next batch is built while this one is written.
    await this.inflight;
    this.inflight = this.chunks.putMany(batch).then(() => {
      for (const k of keys) this.unsaved.delete(k);
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
    // Two loads of one node can race (both awaited the chunk store): keep the first, which memos may
    // already point at, so eviction unlinks everything it cached.
    if (!this.cache.has(hex)) this.cache.set(hex, node);
  }
}

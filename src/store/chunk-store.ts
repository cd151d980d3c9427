/**
 * The one interface every storage layer and tier implements. A chunk is an immutable byte string
 * named by its address: SHA-256 of its canonical bytes (see src/util/hash.ts). Layers (cache,
 * verification, compression, encryption, placement) wrap a ChunkStore and are ChunkStores.
 *
 * Contract (checked by test/store/conformance.ts against every implementation):
 * - `get` of an absent address resolves to `undefined`; it never throws for absence.
 * - `put` of an address already present is a no-op (chunks are immutable, so same address = same bytes).
 * - after `flush()` resolves, every chunk put before it survives a crash of the process.
 * - `getMany` / `hasMany` answer in the order of the addresses asked.
 * - `list()` yields every stored address once (order unspecified); used by gc and push.
 */
export interface Chunk {
  /** SHA-256 of `bytes` (32 bytes). */
  readonly address: Uint8Array;
  /** The chunk's canonical bytes. */
  readonly bytes: Uint8Array;
}

export interface ChunkStore {
  /** Human-readable identity for error messages, e.g. `local:/repo/.git/prolly/store`. */
  readonly name: string;
  get(address: Uint8Array): Promise<Uint8Array | undefined>;
  getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  has(address: Uint8Array): Promise<boolean>;
  hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]>;
  put(chunk: Chunk): Promise<void>;
  putMany(chunks: readonly Chunk[]): Promise<void>;
  /** Make every chunk put so far durable. */
  flush(): Promise<void>;
  /** Every stored address, once each. */
  list(): AsyncIterable<Uint8Array>;
  /** Flush and release files, sockets and locks. Further calls throw ECLOSED. */
  close(): Promise<void>;
}

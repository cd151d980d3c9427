/**
 * Push: upload every chunk reachable from some dataset roots that a destination lacks.
 *
 * The tree is walked depth-first and each chunk is emitted after everything it references
 * (post-order), so uploading can start at once and, at every moment, what the destination has
 * listed is closed under references. That is what makes a push
 * - incremental: a subtree whose root the destination has is skipped without being read;
 * - resumable: after a failure, the next push skips what was listed and re-seals the rest into the
 *   same packs (packs are named by content), which PackStore finds already uploaded;
 * - safe to interrupt: a checkpoint flush every `checkpointBytes` lists what went up so far.
 *
 * Fast path (`stored`): the local store already holds each chunk in the compression layer's stored
 * form, which is also what an object-store tier keeps in its packs; those bytes are copied as they
 * are (decompressed only to check them and to find child and blob references), so a push does not
 * recompress the dataset.
 */
import { BlobRef } from '../../blob/blob-ref.js';
import { blobChunkAddresses } from '../../blob/read-blob.js';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { Node, VALUE_BLOB } from '../../tree/node.js';
import { equalBytes, toHex } from '../../util/bytes.js';
import { sha256 } from '../../util/hash.js';
import type { ChunkStore } from '../chunk-store.js';
import { AddressMap } from '../pack/address-map.js';
import { decodeStoredNodes, scanNode } from './batch-decode.js';
import type { DatasetRoots } from './reachable.js';

/** Progress of a push. */
export interface PushProgress {
  /** Chunks looked at (on the destination already or not). */
  examined: number;
  /** Chunks sent so far. */
  chunks: number;
  /** Bytes handed to the destination so far (stored form where copied, canonical otherwise). */
  bytes: number;
}

/** Copying stored-form chunks from the local store to a tier that keeps the same form. */
export interface StoredCopy {
  /** Stored-form bytes from the local store (undefined where it lacks the chunk). */
  read(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /** The canonical bytes of a stored-form chunk (ECHUNKCORRUPT when it does not decode). */
  decode(address: Uint8Array, stored: Uint8Array): Promise<Uint8Array>;
  /** The destination's store below its compression layer (takes stored-form chunks). */
  target: ChunkStore;
}

/** Options of {@link pushChunks}. */
export interface PushChunksOptions {
  /** Source chunk store: the local store, reading through other tiers where it lacks a chunk. */
  chunks: ChunkStore;
  /** Where chunks go: a placement or one tier's store (canonical chunks). */
  target: ChunkStore;
  /** Copy stored-form bytes instead of recompressing (for a single object-store tier). */
  stored?: StoredCopy;
  /** Which addresses the destination has (default: `target.hasMany`). */
  has?: (addresses: readonly Uint8Array[]) => Promise<boolean[]>;
  roots: readonly DatasetRoots[];
  /** Chunks read and handed to the target per batch (default 256). */
  batchChunks?: number;
  /** List what was uploaded (flush) after about this many bytes (default 256 MiB). */
  checkpointBytes?: number;
  onProgress?: (p: PushProgress) => void;
}

/** What a push did. */
export interface PushResult extends PushProgress {
  /** Distinct dataset roots covered. */
  roots: number;
  /** Chunks found already on the destination (each skips its whole subtree). */
  present: number;
  ms: number;
}

/** Longest stretch of walking without letting the event loop poll sockets (see drain). */
const YIELD_EVERY_MS = 4;

/** Siblings whose children one prefetch reads (one decompression call for all of them). */
const PREFETCH_SIBLINGS = 4;

/** A chunk read for the push: canonical bytes (when needed), and the stored form when the fast path has it. */
interface Loaded {
  address: Uint8Array;
  /** Canonical bytes; undefined for blob chunks copied in stored form (nothing needs to look inside them). */
  bytes: Uint8Array | undefined;
  stored: Uint8Array | undefined;
}

/**
 * Upload what `target` lacks of `roots`, children before parents, then flush.
 *
 * @example
 * const r = await pushChunks({ chunks: store, target: placement, roots: [{ root }] });
 * console.log(`${r.chunks} chunks, ${r.bytes} bytes sent`);
 */
export async function pushChunks(opts: PushChunksOptions): Promise<PushResult> {
  const t0 = performance.now();
  const has = opts.has ?? ((a: readonly Uint8Array[]) => opts.target.hasMany(a));
  const batchChunks = Math.max(1, opts.batchChunks ?? 256);
  const checkpointBytes = opts.checkpointBytes ?? 256 * 1024 * 1024;
  /** Addresses looked at (value unused): a typed-array map, as a push marks every chunk once. */
  const seen = new AddressMap(4096);
  const progress: PushProgress = { examined: 0, chunks: 0, bytes: 0 };
  let present = 0;
  /** Pending puts, in order; runs of stored-form and canonical chunks go to their own stores. */
  let batch: Loaded[] = [];
  let sinceCheckpoint = 0;

  let lastYield = performance.now();
  const drain = async (): Promise<void> => {
    if (batch.length === 0) return;
    // Uploads make progress only when the event loop polls their sockets, and the walk itself
    // seldom waits on I/O (reads are synchronous, prefetched decompression is usually done): give
    // the loop a turn every few milliseconds so packs stream out while the next ones are built.
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await new Promise<void>((r) => setImmediate(r));
      lastYield = performance.now();
    }
    const b = batch;
    batch = [];
    for (let i = 0; i < b.length; ) {
      const asStored = b[i]!.stored !== undefined;
      let j = i;
      while (j < b.length && (b[j]!.stored !== undefined) === asStored) j++;
      const run = b.slice(i, j);
      if (asStored) await opts.stored!.target.putMany(run.map((c) => ({ address: c.address, bytes: c.stored! })));
      else await opts.target.putMany(run.map((c) => ({ address: c.address, bytes: c.bytes! })));
      i = j;
    }
    opts.onProgress?.({ ...progress });
  };
  const flush = async (): Promise<void> => {
    await drain();
    // The stored-form store is below the target's layers: flushing the target flushes it too.
    await opts.target.flush();
  };
  const checkpoint = async (): Promise<void> => {
    await flush();
    sinceCheckpoint = 0;
  };
  /** Queue `c`; a promise only when the batch or a checkpoint is due (most calls stay synchronous). */
  const send = (c: Loaded): Promise<void> | undefined => {
    batch.push(c);
    const size = (c.stored ?? c.bytes)!.length;
    progress.chunks++;
    progress.bytes += size;
    sinceCheckpoint += size;
    if (batch.length >= batchChunks) return sinceCheckpoint >= checkpointBytes ? checkpoint() : drain();
    if (sinceCheckpoint >= checkpointBytes) return checkpoint();
    return undefined;
  };
  /** The addresses among `addresses` not seen before and not on the destination (marks them seen). */
  const missing = async (addresses: readonly Uint8Array[]): Promise<Uint8Array[]> => {
    const fresh: Uint8Array[] = [];
    for (const a of addresses) {
      if (seen.has(a)) continue;
      seen.set(a, 0, 0);
      fresh.push(a);
    }
    if (fresh.length === 0) return fresh;
    progress.examined += fresh.length;
    const answers = await has(fresh);
    const out = fresh.filter((_, i) => !answers[i]);
    present += fresh.length - out.length;
    return out;
  };
  const absent = (address: Uint8Array) =>
    new ProllyError(ErrorCodes.CHUNK_MISSING, `chunk ${toHex(address)} is needed for the push but no local or remote store has it`, { address: toHex(address) });
  /**
   * Read chunks: stored form from the local store where possible (decompressed only when `inspect`:
   * tree nodes are looked into, blob chunks are not), else canonical through `chunks`.
   */
  const load = async (addresses: Uint8Array[], inspect: boolean): Promise<Loaded[]> => {
    const out: (Loaded | undefined)[] = new Array(addresses.length);
    const rest: number[] = [];
    if (opts.stored) {
      const stored = await opts.stored.read(addresses);
      const have: number[] = [];
      stored.forEach((s, i) => (s === undefined ? rest.push(i) : have.push(i)));
      // Local records are CRC-checked on read; decoded tree nodes are hash-checked too.
      const canonical = inspect
        ? await decodeStoredNodes(
            have.map((i) => addresses[i]!),
            have.map((i) => stored[i]!),
            (a, b) => opts.stored!.decode(a, b),
          )
        : undefined;
      have.forEach((i, k) => (out[i] = { address: addresses[i]!, bytes: canonical?.[k], stored: stored[i]! }));
    } else {
      for (let i = 0; i < addresses.length; i++) rest.push(i);
    }
    if (rest.length > 0) {
      rest.sort((a, b) => a - b);
      const got = await opts.chunks.getMany(rest.map((i) => addresses[i]!));
      rest.forEach((i, k) => {
        const bytes = got[k];
        if (!bytes) throw absent(addresses[i]!);
        out[i] = { address: addresses[i]!, bytes, stored: undefined };
      });
    }
    return out as Loaded[];
  };

  /**
   * Loads started ahead (see visit): while one internal node's children are sent, the children of
   * its next few siblings are read and decompressed on the thread pool, in one batch. `ahead` maps
   * an address to its job (first value; second = 1 once taken); the visit still decides with
   * `missing` what to send and takes from here what was read.
   */
  const ahead = new AddressMap(1024);
  let aheadJobs: (Promise<Map<string, Loaded>> | undefined)[] = [];
  let aheadOpen = 0;
  const prefetchChildren = (siblings: readonly Loaded[]): void => {
    const fresh: Uint8Array[] = [];
    for (const sibling of siblings) {
      let node: Node;
      try {
        node = Node.decode(sibling.bytes!, sibling.address);
      } catch {
        continue; // its own visit reports it
      }
      if (node.level === 0) continue;
      for (let i = 0; i < node.size; i++) {
        const a = node.childAddress(i);
        if (!seen.has(a) && ahead.find(a) < 0) fresh.push(a);
      }
    }
    if (fresh.length === 0) return;
    const job = (async () => {
      const answers = await has(fresh);
      const need = fresh.filter((_, i) => !answers[i]);
      const got = new Map<string, Loaded>();
      for (const l of need.length > 0 ? await load(need, true) : []) got.set(keyOf(l.address), l);
      return got;
    })();
    job.catch(() => undefined); // surfaces when (if) a visit takes from it
    const id = aheadJobs.push(job) - 1;
    for (const a of fresh) ahead.set(a, id, 0);
    aheadOpen += fresh.length;
  };
  /** `load` of tree nodes, taking what a prefetch already read. */
  const loadChildren = async (addresses: Uint8Array[]): Promise<Loaded[]> => {
    if (aheadOpen === 0) return load(addresses, true);
    const out: (Loaded | undefined)[] = new Array(addresses.length);
    const rest: number[] = [];
    for (let i = 0; i < addresses.length; i++) {
      const e = ahead.find(addresses[i]!);
      if (e >= 0 && ahead.second(e) === 0) {
        const job = aheadJobs[ahead.first(e)]!;
        ahead.set(addresses[i]!, ahead.first(e), 1);
        aheadOpen--;
        const got = await job;
        const k = keyOf(addresses[i]!);
        out[i] = got.get(k);
        got.delete(k);
      }
      if (!out[i]) rest.push(i);
    }
    if (aheadOpen === 0) {
      // Everything prefetched was taken or skipped: start the next round from empty tables.
      ahead.clear();
      aheadJobs = [];
    }
    if (rest.length > 0) {
      const got = await load(rest.map((i) => addresses[i]!), true);
      rest.forEach((i, j) => (out[i] = got[j]));
    }
    return out as Loaded[];
  };

  const pushBlob = async (ref: BlobRef): Promise<void> => {
    const rootHex = toHex(ref.address);
    const rest: Uint8Array[] = [];
    for await (const a of blobChunkAddresses(opts.chunks, ref)) if (toHex(a) !== rootHex) rest.push(a);
    // Index and data chunks first (in reverse listing order: deeper index nodes before their parents), the root last.
    const need = (await missing(rest)).reverse();
    for (let i = 0; i < need.length; i += batchChunks) for (const c of await load(need.slice(i, i + batchChunks), false)) await send(c);
    for (const c of await load([ref.address], false)) await send(c);
  };

  const visit = async (chunk: Loaded): Promise<void> => {
    // Leaves without blob references need no decoding at all: send them as they are.
    if (isPlainLeaf(chunk)) {
      await send(chunk);
      return;
    }
    const node = Node.decode(chunk.bytes!, chunk.address);
    if (node.level > 0) {
      // Internal nodes steer the walk: check them (leaves are checked by every reader of the remote).
      if (chunk.stored && !equalBytes(sha256(chunk.bytes!), chunk.address)) {
        throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `tree node ${toHex(chunk.address)} in the local store does not hash to its address; not pushing it`, { address: toHex(chunk.address) });
      }
      const children: Uint8Array[] = [];
      for (let i = 0; i < node.size; i++) children.push(node.childAddress(i));
      const need = await missing(children);
      for (let i = 0; i < need.length; i += batchChunks) {
        const loaded = await loadChildren(need.slice(i, i + batchChunks));
        // Children of siblings up to `aheadTo` are being read already (the first loads its own).
        let aheadTo = 0;
        for (let c = 0; c < loaded.length; c++) {
          if (node.level >= 2 && aheadTo < loaded.length - 1 && aheadTo - c < PREFETCH_SIBLINGS) {
            prefetchChildren(loaded.slice(aheadTo + 1, aheadTo + 1 + PREFETCH_SIBLINGS));
            aheadTo += PREFETCH_SIBLINGS;
          }
          const child = loaded[c]!;
          // Leaves without blob references (nearly all chunks): queued without an async call each.
          if (isPlainLeaf(child)) {
            const due = send(child);
            if (due) await due;
          } else await visit(child);
        }
      }
    } else {
      let blobs: BlobRef[] | undefined;
      for (let i = 0; i < node.size; i++) {
        if (node.payload(i)[0] !== VALUE_BLOB) continue;
        (blobs ??= []).push(node.value(i) as BlobRef);
      }
      if (blobs) {
        const roots = await missing(blobs.map((b) => b.address));
        const needed = new Set(roots.map(toHex));
        for (const b of blobs) if (needed.delete(toHex(b.address))) await pushBlob(b);
      }
    }
    await send(chunk);
  };

  const schemas = await missing(opts.roots.flatMap((r) => (r.schema ? [r.schema] : [])));
  for (const c of schemas.length ? await load(schemas, false) : []) await send(c);
  const roots = await missing(opts.roots.map((r) => r.root));
  for (const root of roots) for (const c of await load([root], true)) await visit(c);
  await flush();
  return { ...progress, roots: opts.roots.length, present, ms: Math.round(performance.now() - t0) };
}

/** A tree leaf holding no blob reference: nothing to push below it. */
function isPlainLeaf(chunk: Loaded): boolean {
  return chunk.bytes![1] === 0 && !scanNode(chunk.bytes!, 0).hasBlob;
}

/** Map key for an address: its bytes as a latin1 string (half the size of hex, and faster to make). */
function keyOf(address: Uint8Array): string {
  return Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString('latin1');
}

/**
 * A `has` for destinations where per-chunk questions are costly (an IPFS node): list everything the
 * destination has once, then answer from memory.
 * @example const has = await listedHas(ipfsStore); await pushChunks({ …, has });
 */
export async function listedHas(store: ChunkStore): Promise<(addresses: readonly Uint8Array[]) => Promise<boolean[]>> {
  const known = new Set<string>();
  for await (const a of store.list()) known.add(Buffer.from(a).toString('latin1'));
  return async (addresses) => addresses.map((a) => known.has(Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('latin1')));
}

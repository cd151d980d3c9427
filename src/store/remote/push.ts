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
 */
import { BlobRef } from '../../blob/blob-ref.js';
import { blobChunkAddresses } from '../../blob/read-blob.js';
import { ErrorCodes, ProllyError } from '../../errors.js';
import type { Node } from '../../tree/node.js';
import type { NodeStore } from '../../tree/node-store.js';
import { toHex } from '../../util/bytes.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';
import type { DatasetRoots } from './reachable.js';

/** Progress of a push. */
export interface PushProgress {
  /** Chunks looked at (on the destination already or not). */
  examined: number;
  /** Chunks sent so far. */
  chunks: number;
  /** Canonical bytes of the chunks sent so far. */
  bytes: number;
}

/** Options of {@link pushChunks}. */
export interface PushChunksOptions {
  /** Decoded nodes of the source (the local store, reading through other tiers if it lacks some). */
  nodes: NodeStore;
  /** Source chunk store (blob chunks and schemas are read from it). */
  chunks: ChunkStore;
  /** Where chunks go: a placement or one tier's store. */
  target: ChunkStore;
  /** Which addresses the destination has (default: `target.hasMany`). */
  has?: (addresses: readonly Uint8Array[]) => Promise<boolean[]>;
  roots: readonly DatasetRoots[];
  /** Chunks handed to the target per putMany (default 256). */
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

/**
 * Upload what `target` lacks of `roots`, children before parents, then flush.
 *
 * @example
 * const r = await pushChunks({ nodes, chunks: store, target: placement, roots: [{ root }] });
 * console.log(`${r.chunks} chunks, ${r.bytes} bytes sent`);
 */
export async function pushChunks(opts: PushChunksOptions): Promise<PushResult> {
  const t0 = performance.now();
  const has = opts.has ?? ((a: readonly Uint8Array[]) => opts.target.hasMany(a));
  const batchChunks = Math.max(1, opts.batchChunks ?? 256);
  const checkpointBytes = opts.checkpointBytes ?? 256 * 1024 * 1024;
  const seen = new Set<string>();
  const progress: PushProgress = { examined: 0, chunks: 0, bytes: 0 };
  let present = 0;
  let batch: Chunk[] = [];
  let sinceCheckpoint = 0;

  const send = async (chunk: Chunk): Promise<void> => {
    batch.push(chunk);
    progress.chunks++;
    progress.bytes += chunk.bytes.length;
    sinceCheckpoint += chunk.bytes.length;
    if (batch.length >= batchChunks) await drain();
    if (sinceCheckpoint >= checkpointBytes) {
      await drain();
      await opts.target.flush();
      sinceCheckpoint = 0;
    }
  };
  const drain = async (): Promise<void> => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    await opts.target.putMany(b);
    opts.onProgress?.({ ...progress });
  };
  /** The addresses among `addresses` not seen before and not on the destination (marks them seen). */
  const missing = async (addresses: readonly Uint8Array[]): Promise<Uint8Array[]> => {
    const fresh: Uint8Array[] = [];
    for (const a of addresses) {
      const k = toHex(a);
      if (seen.has(k)) continue;
      seen.add(k);
      fresh.push(a);
    }
    if (fresh.length === 0) return fresh;
    progress.examined += fresh.length;
    const answers = await has(fresh);
    const out = fresh.filter((_, i) => !answers[i]);
    present += fresh.length - out.length;
    return out;
  };
  const readChunks = async (addresses: Uint8Array[]): Promise<Chunk[]> => {
    const got = await opts.chunks.getMany(addresses);
    return addresses.map((address, i) => {
      const bytes = got[i];
      if (!bytes) {
        throw new ProllyError(ErrorCodes.CHUNK_MISSING, `chunk ${toHex(address)} is needed for the push but no local or remote store has it`, { address: toHex(address) });
      }
      return { address, bytes };
    });
  };

  const pushBlob = async (ref: BlobRef): Promise<void> => {
    const rootHex = toHex(ref.address);
    const rest: Uint8Array[] = [];
    for await (const a of blobChunkAddresses(opts.chunks, ref)) if (toHex(a) !== rootHex) rest.push(a);
    // Index and data chunks first (in reverse listing order: deeper index nodes before their parents), the root last.
    const need = (await missing(rest)).reverse();
    for (let i = 0; i < need.length; i += batchChunks) for (const c of await readChunks(need.slice(i, i + batchChunks))) await send(c);
    for (const c of await readChunks([ref.address])) await send(c);
  };

  const visit = async (node: Node): Promise<void> => {
    if (node.level > 0) {
      const children: Uint8Array[] = [];
      for (let i = 0; i < node.size; i++) children.push(node.childAddress(i));
      const need = await missing(children);
      for (let i = 0; i < need.length; i += batchChunks) {
        for (const child of await opts.nodes.getMany(need.slice(i, i + batchChunks))) await visit(child);
      }
    } else {
      const blobs: BlobRef[] = [];
      for (let i = 0; i < node.size; i++) {
        const v = node.value(i);
        if (v instanceof BlobRef) blobs.push(v);
      }
      if (blobs.length > 0) {
        const roots = await missing(blobs.map((b) => b.address));
        const needed = new Set(roots.map(toHex));
        for (const b of blobs) if (needed.delete(toHex(b.address))) await pushBlob(b);
      }
    }
    await send({ address: node.address, bytes: node.bytes });
  };

  const schemas = await missing(opts.roots.flatMap((r) => (r.schema ? [r.schema] : [])));
  for (const c of schemas.length ? await readChunks(schemas) : []) await send(c);
  const roots = await missing(opts.roots.map((r) => r.root));
  for (const root of roots) await visit(await opts.nodes.get(root));
  await drain();
  await opts.target.flush();
  return { ...progress, roots: opts.roots.length, present, ms: Math.round(performance.now() - t0) };
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

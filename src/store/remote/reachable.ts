/**
 * Which chunks a remote lacks: every chunk reachable from a set of dataset roots (tree nodes, blob
 * index and data chunks, table schemas), found breadth-first with one `hasMany` per level, skipping
 * each subtree whose root the remote already has.
 *
 * Skipping is sound because of the order push uploads in: children before parents (the plan is
 * uploaded in reverse), so a backend that lists a node also lists everything below it.
 */
import { BlobRef } from '../../blob/blob-ref.js';
import { blobChunkAddresses } from '../../blob/read-blob.js';
import type { NodeStore } from '../../tree/node-store.js';
import { toHex } from '../../util/bytes.js';
import type { ChunkStore } from '../chunk-store.js';

/** What a dataset version needs: its tree root and, for tables, its schema chunk. */
export interface DatasetRoots {
  root: Uint8Array;
  schema?: Uint8Array;
}

/** Options of {@link planMissing}. */
export interface PlanMissingOptions {
  /** Decoded tree nodes (reads through to remote tiers when the local store lacks a node). */
  nodes: NodeStore;
  /** Chunk store blob index nodes are read from. */
  chunks: ChunkStore;
  /** Dataset versions to cover. */
  roots: readonly DatasetRoots[];
  /** Which of these addresses the destination already has (answers in order). */
  has: (addresses: readonly Uint8Array[]) => Promise<boolean[]>;
  /** Addresses per has / read batch (default 2048). */
  batch?: number;
  /** Called as chunks are examined. */
  onProgress?: (p: { examined: number; missing: number }) => void;
}

/** The chunks to send, children before parents. */
export interface MissingPlan {
  /** Upload order: every chunk comes after all chunks it references. */
  addresses: Uint8Array[];
  /** Chunks looked at (present on the destination or not). */
  examined: number;
}

/**
 * Chunks reachable from `roots` that `has` says are missing, in an order safe to upload in.
 *
 * @example
 * const plan = await planMissing({ nodes, chunks: store, roots: [{ root }], has: (a) => remote.hasMany(a) });
 * for (const address of plan.addresses) …
 */
export async function planMissing(opts: PlanMissingOptions): Promise<MissingPlan> {
  const batch = Math.max(1, opts.batch ?? 2048);
  const seen = new Set<string>();
  /** Parents before children; reversed at the end. */
  const order: Uint8Array[] = [];
  let examined = 0;
  const progress = () => opts.onProgress?.({ examined, missing: order.length });

  const fresh = (addresses: Iterable<Uint8Array>): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (const a of addresses) {
      const k = toHex(a);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(a);
    }
    return out;
  };
  const missingOf = async (addresses: Uint8Array[]): Promise<Uint8Array[]> => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < addresses.length; i += batch) {
      const part = addresses.slice(i, i + batch);
      const has = await opts.has(part);
      part.forEach((a, k) => {
        if (!has[k]) out.push(a);
      });
      examined += part.length;
    }
    return out;
  };

  // Schemas are single chunks.
  const schemas = fresh(opts.roots.flatMap((r) => (r.schema ? [r.schema] : [])));
  order.push(...(await missingOf(schemas)));

  let frontier = fresh(opts.roots.map((r) => r.root));
  while (frontier.length > 0) {
    const missing = await missingOf(frontier);
    progress();
    const next: Uint8Array[] = [];
    const blobs: BlobRef[] = [];
    for (let i = 0; i < missing.length; i += batch) {
      const part = missing.slice(i, i + batch);
      const nodes = await opts.nodes.getMany(part);
      for (const node of nodes) {
        order.push(node.address);
        if (node.level > 0) {
          for (let j = 0; j < node.size; j++) next.push(node.childAddress(j));
        } else {
          for (let j = 0; j < node.size; j++) {
            const v = node.value(j);
            if (v instanceof BlobRef) blobs.push(v);
          }
        }
      }
    }
    // Blobs referenced by new leaves: a blob whose root index chunk the destination has is complete there.
    const blobRoots = fresh(blobs.map((b) => b.address));
    const missingRoots = new Set((await missingOf(blobRoots)).map(toHex));
    for (const ref of blobs) {
      const rootHex = toHex(ref.address);
      if (!missingRoots.has(rootHex)) continue;
      missingRoots.delete(rootHex);
      const parts: Uint8Array[] = [];
      for await (const a of blobChunkAddresses(opts.chunks, ref)) {
        if (toHex(a) === rootHex) continue;
        parts.push(a);
      }
      // Root first, then its index and data chunks: reversed, the root is sent last.
      order.push(ref.address);
      order.push(...(await missingOf(fresh(parts))));
    }
    frontier = fresh(next);
  }
  progress();
  order.reverse();
  return { addresses: order, examined };
}

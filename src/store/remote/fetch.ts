/**
 * Fetch: make every chunk reachable from some dataset roots local, for offline use. The tree is
 * walked level by level through the read-through store, which fetches what the local store lacks
 * (batched, so neighbouring chunks in a pack share ranged GETs) and caches it.
 */
import { BlobRef } from '../../blob/blob-ref.js';
import { blobChunkAddresses } from '../../blob/read-blob.js';
import { ErrorCodes, ProllyError } from '../../errors.js';
import type { NodeStore } from '../../tree/node-store.js';
import { walkTree } from '../../tree/walk.js';
import { toHex } from '../../util/bytes.js';
import type { ChunkStore } from '../chunk-store.js';
import type { DatasetRoots } from './reachable.js';

/** Options of {@link fetchChunks}. */
export interface FetchChunksOptions {
  /** Nodes over the read-through store. */
  nodes: NodeStore;
  /** The read-through store (fetches and caches what the local store lacks). */
  chunks: ChunkStore;
  /** The local store alone, to ask what is already here. */
  local: ChunkStore;
  roots: readonly DatasetRoots[];
  /** Chunks per read batch (default 2048). */
  batch?: number;
  onProgress?: (p: { nodes: number; blobChunks: number }) => void;
}

/** What a fetch walked. */
export interface FetchResult {
  /** Tree nodes visited. */
  nodes: number;
  /** Blob and schema chunks checked. */
  blobChunks: number;
  /** Blob and schema chunks that were not local before (tree nodes fetched are counted by the read-through store's stats). */
  fetched: number;
  ms: number;
}

/**
 * Walk `roots` through the read-through store so every chunk ends up local.
 * @example await fetchChunks({ nodes, chunks: repoStore.store, local: repoStore.local.store, roots });
 */
export async function fetchChunks(opts: FetchChunksOptions): Promise<FetchResult> {
  const t0 = performance.now();
  const batch = Math.max(1, opts.batch ?? 2048);
  const seen = new Set<string>();
  let nodes = 0;
  let blobChunks = 0;
  let fetched = 0;
  const ensureLocal = async (addresses: Uint8Array[]): Promise<void> => {
    for (let i = 0; i < addresses.length; i += batch) {
      const part = addresses.slice(i, i + batch);
      const here = await opts.local.hasMany(part);
      const need = part.filter((_, k) => !here[k]);
      if (need.length === 0) continue;
      const got = await opts.chunks.getMany(need);
      got.forEach((bytes, k) => {
        if (!bytes) throw new ProllyError(ErrorCodes.CHUNK_MISSING, `chunk ${toHex(need[k]!)} is not in the local store nor on any remote backend`, { address: toHex(need[k]!) });
      });
      fetched += need.length;
    }
  };

  const schemas = opts.roots.flatMap((r) => (r.schema && !seen.has(toHex(r.schema)) ? [r.schema] : []));
  schemas.forEach((s) => seen.add(toHex(s)));
  await ensureLocal(schemas);
  blobChunks += schemas.length;

  for (const { root } of opts.roots) {
    const rootHex = toHex(root);
    if (seen.has(rootHex)) continue;
    seen.add(rootHex);
    const skip = (hex: string): boolean => {
      if (seen.has(hex)) return true;
      seen.add(hex);
      return false;
    };
    for await (const node of walkTree(opts.nodes, root, { skip, batch })) {
      nodes++;
      if (node.level !== 0) continue;
      for (let i = 0; i < node.size; i++) {
        const v = node.value(i);
        if (!(v instanceof BlobRef)) continue;
        const hex = toHex(v.address);
        if (seen.has(hex)) continue;
        seen.add(hex);
        const parts: Uint8Array[] = [];
        // Listing reads the blob's index nodes through the read-through store (fetching them).
        for await (const a of blobChunkAddresses(opts.chunks, v)) {
          const k = toHex(a);
          if (k !== hex && seen.has(k)) continue;
          seen.add(k);
          parts.push(a);
        }
        blobChunks += parts.length;
        await ensureLocal(parts);
      }
      if (nodes % 1024 === 0) opts.onProgress?.({ nodes, blobChunks });
    }
  }
  await opts.chunks.flush();
  opts.onProgress?.({ nodes, blobChunks });
  return { nodes, blobChunks, fetched, ms: Math.round(performance.now() - t0) };
}

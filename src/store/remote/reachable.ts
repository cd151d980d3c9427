/**
 * What a dataset version needs: its tree root and, for tables, its schema chunk. Push, fetch and
 * tiering enumerate chunks from these (src/store/remote/push.ts walks them children first; fetch.ts
 * breadth-first), and {@link reachableChunks} lists every chunk they reach — what age-based tiering
 * keeps or evicts, and what `git prolly gc` keeps.
 */
import { BlobRef } from '../../blob/blob-ref.js';
import { blobChunkAddresses } from '../../blob/read-blob.js';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { Node, VALUE_BLOB } from '../../tree/node.js';
import { toHex } from '../../util/bytes.js';
import type { ChunkStore } from '../chunk-store.js';
import { scanNode } from './batch-decode.js';

/**
 * A dataset version's entry points.
 * @example const roots: DatasetRoots[] = [{ root: pointer.root, schema: pointer.schema }];
 */
export interface DatasetRoots {
  root: Uint8Array;
  schema?: Uint8Array;
}

/** Options of {@link reachableChunks}. */
export interface ReachableOptions {
  /** Where tree nodes and blob index nodes are read (canonical bytes). */
  chunks: ChunkStore;
  roots: readonly DatasetRoots[];
  /** Hex addresses already accounted for: neither added nor descended into. */
  stop?: ReadonlySet<string>;
  /** Add to this set instead of a new one. */
  into?: Set<string>;
  /**
   * A chunk that cannot be read or decoded: report it and go on (what lies below it is then not
   * listed). Without this, such a chunk throws (ECHUNKMISSING / the read's error).
   */
  onUnreadable?: (addressHex: string, err: unknown) => void;
  /** Nodes read per getMany (default 1024). */
  batch?: number;
  /** Called now and then with the number of chunks listed so far. */
  onProgress?: (chunks: number) => void;
}

/**
 * Hex addresses of every chunk reachable from `roots`: schema chunks, tree nodes (breadth-first,
 * one getMany per batch of a level), and every chunk (index and data) of each blob value. Blob data
 * chunks are listed from their index nodes, never read.
 *
 * @example
 * const live = await reachableChunks({ chunks: local.store, roots, onUnreadable: (hex) => missing.add(hex) });
 * live.has(toHex(address))
 */
export async function reachableChunks(opts: ReachableOptions): Promise<Set<string>> {
  const out = opts.into ?? new Set<string>();
  const batch = Math.max(1, opts.batch ?? 1024);
  const take = (hex: string): boolean => {
    if (out.has(hex) || opts.stop?.has(hex)) return false;
    out.add(hex);
    if (opts.onProgress && out.size % 4096 === 0) opts.onProgress(out.size);
    return true;
  };
  const unreadable = (hex: string, err: unknown): void => {
    if (!opts.onUnreadable) throw err;
    opts.onUnreadable(hex, err);
  };
  // Schema chunks reference nothing; index definitions live inside them, index trees are derived data.
  for (const r of opts.roots) if (r.schema) take(toHex(r.schema));
  let frontier = opts.roots.map((r) => r.root).filter((a) => take(toHex(a)));
  while (frontier.length > 0) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < frontier.length; i += batch) {
      const part = frontier.slice(i, i + batch);
      const got = await readTolerant(opts.chunks, part, unreadable);
      for (let k = 0; k < part.length; k++) {
        const bytes = got[k];
        if (bytes === undefined) continue;
        // Leaves without blob references hold nothing further: no need to decode them.
        if (bytes[1] === 0 && !scanNode(bytes, 0).hasBlob) continue;
        let node: Node;
        try {
          node = Node.decode(bytes, part[k]!);
        } catch (err) {
          unreadable(toHex(part[k]!), err);
          continue;
        }
        if (node.level > 0) {
          for (let j = 0; j < node.size; j++) if (take(node.childHex(j))) next.push(node.childAddress(j));
          continue;
        }
        for (let j = 0; j < node.size; j++) {
          if (node.payload(j)[0] !== VALUE_BLOB) continue;
          const ref = node.value(j) as BlobRef;
          const rootHex = toHex(ref.address);
          if (!take(rootHex)) continue;
          try {
            for await (const a of blobChunkAddresses(opts.chunks, ref)) take(toHex(a));
          } catch (err) {
            // The blob's chunks below the unreadable index node are not listed.
            const at = err instanceof ProllyError && typeof err.data?.address === 'string' ? err.data.address : rootHex;
            unreadable(at, err);
          }
        }
      }
    }
    frontier = next;
  }
  return out;
}

/** getMany, reporting (not throwing for) chunks that are absent or fail to read. */
async function readTolerant(
  chunks: ChunkStore,
  addresses: readonly Uint8Array[],
  unreadable: (hex: string, err: unknown) => void,
): Promise<(Uint8Array | undefined)[]> {
  let got: (Uint8Array | undefined)[];
  try {
    got = await chunks.getMany(addresses);
  } catch {
    // One bad chunk fails the batch: read one by one to name it.
    got = [];
    for (const a of addresses) {
      try {
        got.push(await chunks.get(a));
      } catch (err) {
        got.push(undefined);
        unreadable(toHex(a), err);
        continue;
      }
      if (got[got.length - 1] === undefined) unreadable(toHex(a), missing(chunks, a));
    }
    return got;
  }
  got.forEach((bytes, i) => {
    if (bytes === undefined) unreadable(toHex(addresses[i]!), missing(chunks, addresses[i]!));
  });
  return got;
}

function missing(chunks: ChunkStore, address: Uint8Array): ProllyError {
  const hex = toHex(address);
  return new ProllyError(ErrorCodes.CHUNK_MISSING, `chunk ${hex} is missing from ${chunks.name}`, { address: hex, store: chunks.name });
}

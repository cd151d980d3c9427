/**
 * Where a push goes and how to ask it what it has: a named backend, or the placement's write
 * backends (one, or N replicas). IPFS nodes are asked once for their whole pin set instead of per
 * chunk (one RPC for the push instead of one per tree node).
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import type { ChunkStore } from '../chunk-store.js';
import type { RepoStore } from '../tiered/repo-store.js';
import type { Tier } from '../tiered/tier.js';
import { listedHas, type StoredCopy } from './push.js';

/** A push destination. */
export interface PushTarget {
  /** What chunks are written to. */
  store: ChunkStore;
  /** The backends behind it. */
  tiers: readonly Tier[];
  /** Which addresses every backend of the target has. */
  has: (addresses: readonly Uint8Array[]) => Promise<boolean[]>;
  /** Stored-form copying from the local store, when the target is one object-store backend. */
  stored: StoredCopy | undefined;
}

/**
 * The target of `git prolly push [remote]`.
 * @example const target = await pushTarget(repoStore, 'archive');
 */
export async function pushTarget(rs: RepoStore, remote?: string): Promise<PushTarget> {
  let tiers: readonly Tier[];
  let store: ChunkStore;
  if (remote) {
    const t = rs.tier(remote);
    tiers = [t];
    store = t.store;
  } else {
    if (!rs.placement) {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'no remote storage backend is configured: add one with git prolly remote add <name> <s3://bucket/prefix | ipfs://host:port | directory>', {});
    }
    tiers = rs.placement.writeTiers;
    store = rs.placement;
  }
  const askers = await Promise.all(
    tiers.map(async (t) => (t.type === 'ipfs' ? listedHas(t.store) : (a: readonly Uint8Array[]) => t.store.hasMany(a))),
  );
  const has = async (addresses: readonly Uint8Array[]): Promise<boolean[]> => {
    const out = addresses.map(() => true);
    for (const ask of askers) {
      const answers = await ask(addresses);
      answers.forEach((h, i) => {
        if (!h) out[i] = false;
      });
    }
    return out;
  };
  let stored: StoredCopy | undefined;
  const only = tiers.length === 1 ? tiers[0]! : undefined;
  const opened = only && only.type !== 'ipfs' ? await only.open() : undefined;
  if (only && opened?.storedForm) {
    const into = opened.storedForm;
    const local = rs.local;
    stored = {
      read: (addresses) => local.local.getMany(addresses),
      decode: (address, bytes) => local.compressing.decode(address, bytes),
      target: {
        // Count what goes up this way like the placement counts canonical writes.
        ...bind(into),
        putMany: async (chunks) => {
          await into.putMany(chunks);
          only.health.counters.chunksWritten += chunks.length;
          for (const c of chunks) only.health.counters.bytesWritten += c.bytes.length;
        },
      },
    };
  }
  return { store, tiers, has, stored };
}

/** The ChunkStore methods of `s`, bound (so a wrapper can override one of them). */
function bind(s: ChunkStore): ChunkStore {
  return {
    name: s.name,
    get: (a) => s.get(a),
    getMany: (a) => s.getMany(a),
    has: (a) => s.has(a),
    hasMany: (a) => s.hasMany(a),
    put: (c) => s.put(c),
    putMany: (c) => s.putMany(c),
    flush: () => s.flush(),
    list: () => s.list(),
    close: () => s.close(),
  };
}

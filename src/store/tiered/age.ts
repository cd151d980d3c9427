/**
 * Age-based tiering (`strategy = "age-based"`, `git prolly tier`): backends with `max_age_days`
 * form hot → warm → cold tiers. A dataset version's age is the age of the newest commit (on any
 * branch or tag) that points to it. For each tier boundary, versions older than the tier's
 * max_age_days are copied whole to the next tier, then the chunks that only such versions use are
 * evicted from the tier. Reads still find them: the placement reads hot → cold.
 */
import type { GitRepo } from '../../repo/git.js';
import { toHex } from '../../util/bytes.js';
import type { ChunkStore } from '../chunk-store.js';
import { allRefTips, commitsBetween } from '../remote/commits.js';
import { pushChunks } from '../remote/push.js';
import { reachableChunks, type DatasetRoots } from '../remote/reachable.js';
import { evictChunks, type EvictResult } from './evict.js';
import type { Tier } from './tier.js';

/** A dataset version and the time of the newest commit that points to it. */
export interface AgedVersion extends DatasetRoots {
  newestMs: number;
}

/**
 * Every dataset version in the history of every ref, with its newest commit time.
 * @example const versions = await agedVersions(git)
 */
export async function agedVersions(git: GitRepo): Promise<AgedVersion[]> {
  const commits = await commitsBetween(git, await allRefTips(git));
  const byKey = new Map<string, AgedVersion>();
  const treeTimes = new Map<string, number>();
  for (const oid of commits) {
    const c = await git.readCommit(oid);
    const ms = c.committer.timestamp * 1000;
    const tree = await git.datasetsTreeAt(oid);
    if (!tree) continue;
    const seenAt = treeTimes.get(tree);
    if (seenAt !== undefined && seenAt >= ms) continue;
    treeTimes.set(tree, ms);
    for (const [, blob] of await git.datasetBlobsAt(oid)) {
      const p = await git.pointerBlob(blob, `${oid.slice(0, 12)}`);
      const key = toHex(p.root) + (p.schema ? toHex(p.schema) : '');
      const cur = byKey.get(key);
      if (!cur) byKey.set(key, { root: p.root, ...(p.schema ? { schema: p.schema } : {}), newestMs: ms });
      else if (ms > cur.newestMs) cur.newestMs = ms;
    }
  }
  return [...byKey.values()].sort((a, b) => b.newestMs - a.newestMs);
}

/** What `git prolly tier` did at one tier boundary. */
export interface TierMove {
  from: string;
  to: string;
  maxAgeDays: number;
  /** Versions older than the boundary. */
  oldVersions: number;
  /** Chunks copied to the colder tier. */
  copiedChunks: number;
  copiedBytes: number;
  /** Eviction from the hotter tier (undefined when the hotter tier cannot evict, e.g. IPFS). */
  evicted: EvictResult | undefined;
}

/** Options of {@link applyAgePolicy}. */
export interface AgePolicyOptions {
  git: GitRepo;
  /** Remote tiers, hot → cold (see ageOrder). */
  tiers: readonly Tier[];
  /** Chunks to read versions through (the repository store). */
  chunks: ChunkStore;
  now?: number;
  dryRun?: boolean;
}

/**
 * Apply age-based routing: copy old versions down the tiers and evict what only they use.
 * @example const moves = await applyAgePolicy({ git, tiers: ageOrder(rs.tiers), chunks: rs.store });
 */
export async function applyAgePolicy(opts: AgePolicyOptions): Promise<TierMove[]> {
  const now = opts.now ?? Date.now();
  const versions = await agedVersions(opts.git);
  const moves: TierMove[] = [];
  for (let i = 0; i + 1 < opts.tiers.length; i++) {
    const hot = opts.tiers[i]!;
    const cold = opts.tiers[i + 1]!;
    const maxAge = hot.maxAgeDays;
    if (maxAge === undefined) break;
    const cutoff = now - maxAge * 86_400_000;
    const old = versions.filter((v) => v.newestMs < cutoff);
    const young = versions.filter((v) => v.newestMs >= cutoff);
    const move: TierMove = { from: hot.name, to: cold.name, maxAgeDays: maxAge, oldVersions: old.length, copiedChunks: 0, copiedBytes: 0, evicted: undefined };
    moves.push(move);
    if (old.length === 0) continue;
    const stores = await hot.open();
    if (!opts.dryRun) {
      const pushed = await pushChunks({ chunks: opts.chunks, target: cold.store, roots: old });
      move.copiedChunks = pushed.chunks;
      move.copiedBytes = pushed.bytes;
    }
    if (!stores.backend) continue;
    const keep = await reachableChunks({ chunks: opts.chunks, roots: young });
    const drop = await reachableChunks({ chunks: opts.chunks, roots: old, stop: keep });
    move.evicted = await evictChunks({ backend: stores.backend, evict: (a) => drop.has(toHex(a)), dryRun: opts.dryRun });
  }
  return moves;
}

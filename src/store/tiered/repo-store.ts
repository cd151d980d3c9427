/**
 * The whole storage stack of a repository, built from its configuration (ARCHITECTURE.md
 * decision 10), outermost first:
 *
 *   memory LRU ([cache]) → read-through → local store (verify → zstd → packs in .git/prolly/store)
 *                                        ↘ placement ([storage.routing]) → remote tiers
 *                                          (each: verify → zstd → packs on S3 / a directory; or raw IPFS blocks)
 *
 * Reads that miss locally are fetched from the tiers and cached locally; writes stay local until
 * `git prolly push`. The [[storage.backends]] entry whose path is the repository's own store is the
 * working copy, not a remote.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendConfig, ProllyConfig } from '../../config/config.js';
import { ErrorCodes, ProllyError } from '../../errors.js';
import type { RetryPolicy } from '../backends/retry.js';
import { CachingStore } from '../caching-store.js';
import type { ChunkStore } from '../chunk-store.js';
import { openLocalStack, type LocalStack } from '../local-store.js';
import { recordMetrics, type MetricsDelta } from './metrics-file.js';
import { createPlacement, type Placement } from './placement.js';
import { ReadThroughStore } from './read-through.js';
import { Tier, localBackendDir, unknownTier, type TierClients } from './tier.js';

/** Where the repository's files are (a subset of src/repo's RepoPaths). */
export interface RepoLocation {
  /** Work tree root (relative backend paths resolve against it). */
  workTree: string;
  /** `.git/prolly`: local state. */
  prollyDir: string;
  /** The working chunk store (default `<prollyDir>/store`). */
  storeDir?: string;
}

/** Options of {@link openRepoStore}. */
export interface OpenRepoStoreOptions {
  /** Open the local store without its writer lock (fetched chunks are then cached through a writer opened on demand). */
  readOnly?: boolean;
  /** Wait this long for the local store's writer lock (default 0). */
  lockTimeoutMs?: number;
  /** Packs uploading at once per backend (`push --jobs`; default 2). */
  uploadConcurrency?: number;
  /** Pack size target in bytes (default 8 MiB). */
  targetPackBytes?: number;
  /** Give up on one backend's read after this long and try the next (default 30 s). */
  readTimeoutMs?: number;
  retry?: RetryPolicy;
  clients?: TierClients;
  /** Add this process's counters to `.git/prolly/metrics.json` on close (default true). */
  recordMetrics?: boolean;
  /** Only these remote backends (by name), e.g. a fetch from one remote. */
  onlyTiers?: readonly string[];
}

/** The opened stack and its parts. */
export interface RepoStore {
  /** What callers read and write (outermost layer). */
  store: ChunkStore;
  local: LocalStack;
  readThrough: ReadThroughStore;
  caching: CachingStore | undefined;
  /** undefined when no remote backend is configured. */
  placement: Placement | undefined;
  /** Remote backends in configuration order. */
  tiers: readonly Tier[];
  /** The remote backend called `name`; EINVAL listing the configured ones otherwise. */
  tier(name: string): Tier;
  /** This process's counters so far. */
  metricsDelta(): MetricsDelta;
  close(): Promise<void>;
}

/**
 * True when `backend` is the repository's working store (a local backend whose path is the store dir).
 * @example isWorkingStore({ name: 'local', type: 'local', path: '.git/prolly/store' }, loc) // true
 */
export function isWorkingStore(backend: BackendConfig, loc: RepoLocation): boolean {
  if (backend.type !== 'local') return false;
  const storeDir = loc.storeDir ?? join(loc.prollyDir, 'store');
  return localBackendDir(backend, loc.workTree) === join(storeDir) || (backend.path ?? '').replace(/\/+$/, '') === '.git/prolly/store';
}

/**
 * Remote tiers of a configuration (every backend but the working store), not yet opened.
 * @example const tiers = remoteTiers(config, loc); tiers.map((t) => t.name)
 */
export function remoteTiers(config: ProllyConfig, loc: RepoLocation, options: Pick<OpenRepoStoreOptions, 'uploadConcurrency' | 'targetPackBytes' | 'retry' | 'clients'> = {}): Tier[] {
  const cacheDir = join(loc.prollyDir, 'cache', 'manifests');
  return config.storage.backends
    .filter((b) => !isWorkingStore(b, loc))
    .map(
      (b) =>
        new Tier(b, {
          workTree: loc.workTree,
          cacheDir,
          compression: config.compression,
          tamperProof: config.storage.tamper_proof,
          uploadConcurrency: options.uploadConcurrency,
          targetPackBytes: options.targetPackBytes,
          retry: options.retry,
          refreshIntervalMs: config.cache.ttl_seconds > 0 ? config.cache.ttl_seconds * 1000 : 0,
          clients: options.clients,
        }),
    );
}

/**
 * Build the repository's storage stack from its configuration.
 *
 * @example
 * const rs = await openRepoStore(loadConfig('.prolly/config.toml'), { workTree: '/repo', prollyDir: '/repo/.git/prolly' });
 * try {
 *   const bytes = await rs.store.get(address); // local, else fetched from the tiers and cached
 * } finally {
 *   await rs.close();
 * }
 */
export async function openRepoStore(config: ProllyConfig, loc: RepoLocation, options: OpenRepoStoreOptions = {}): Promise<RepoStore> {
  const storeDir = loc.storeDir ?? join(loc.prollyDir, 'store');
  if (options.readOnly && !existsSync(storeDir)) mkdirSync(storeDir, { recursive: true });
  // The local tier stays uncompressed unless [compression] local = true: per-chunk zstd costs more time
  // than local disk saves. Remote packs are compressed by their own layer (tier.ts).
  const compression = config.compression.type === 'none' || !config.compression.local ? (false as const) : { level: config.compression.level };
  const local = await openLocalStack({
    dir: storeDir,
    readOnly: options.readOnly,
    cacheBytes: 0,
    compression,
    lockTimeoutMs: options.lockTimeoutMs,
  });
  let tiers = remoteTiers(config, loc, options);
  if (options.onlyTiers) {
    const names = tiers.map((t) => t.name);
    for (const n of options.onlyTiers) if (!names.includes(n)) throw unknownTier(n, names);
    tiers = tiers.filter((t) => options.onlyTiers!.includes(t.name));
  }
  let placement: Placement | undefined;
  try {
    if (config.storage.routing.strategy === 'erasure' && tiers.length > 0) {
      // Erasure coding lives in src/store/erasure and registers its Placement with the settings it needs.
      const { registerErasurePlacement } = await import('../erasure/placement.js');
      registerErasurePlacement({ compression: config.compression, security: config.security, workTree: loc.workTree });
    }
    placement = tiers.length > 0 ? createPlacement({ routing: effectiveRouting(config, tiers.length, options.onlyTiers !== undefined), tiers, readTimeoutMs: options.readTimeoutMs }) : undefined;
  } catch (err) {
    await local.store.close();
    throw err;
  }
  let cacheWriter: LocalStack | undefined;
  const readThrough = new ReadThroughStore({
    local: local.store,
    remote: placement,
    openCacheWriter: async () => {
      if (!options.readOnly) return local.store;
      try {
        cacheWriter = await openLocalStack({ dir: storeDir, cacheBytes: 0, compression, lockTimeoutMs: 0 });
        return cacheWriter.store;
      } catch (err) {
        if (err instanceof ProllyError && err.code === ErrorCodes.LOCKED) return undefined;
        throw err;
      }
    },
  });
  const cacheBytes = Math.round(config.cache.size_mb * 1024 * 1024);
  const caching =
    cacheBytes > 0
      ? new CachingStore({ inner: readThrough, maxBytes: cacheBytes, ...(config.cache.ttl_seconds > 0 ? { ttlMs: config.cache.ttl_seconds * 1000 } : {}) })
      : undefined;
  const store = caching ?? readThrough;

  const metricsDelta = (): MetricsDelta => {
    const tierDelta: NonNullable<MetricsDelta['tiers']> = {};
    for (const t of tiers) {
      const c = t.health.counters;
      if (Object.values(c).every((v) => v === 0)) continue;
      tierDelta[t.name] = { counters: { ...c }, latencyMs: t.health.latencyMs, lastError: t.health.lastError, state: t.health.state };
    }
    return {
      cache: caching ? { hits: caching.stats.hits, misses: caching.stats.misses } : undefined,
      reads: { ...readThrough.stats },
      placement: placement ? { ...placement.stats } : undefined,
      tiers: tierDelta,
    };
  };

  let closed = false;
  return {
    store,
    local,
    readThrough,
    caching,
    placement,
    tiers,
    tier(name: string): Tier {
      const t = tiers.find((x) => x.name === name);
      if (!t) throw unknownTier(name, tiers.map((x) => x.name));
      return t;
    },
    metricsDelta,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const delta = metricsDelta();
      try {
        await store.close();
      } finally {
        if (options.recordMetrics !== false && (readThrough.stats.remoteFetches > 0 || Object.keys(delta.tiers ?? {}).length > 0)) {
          await recordMetrics(loc.prollyDir, delta);
        }
      }
    },
  };
}

/**
 * Routing for the tiers actually opened: a fetch or push restricted to named backends reads them in
 * the given order (a replicate strategy over a subset would not have its N backends).
 */
function effectiveRouting(config: ProllyConfig, tierCount: number, restricted: boolean): ProllyConfig['storage']['routing'] {
  const routing = config.storage.routing;
  if (!restricted) return routing;
  if (routing.strategy === 'replicate' && routing.replication_factor > tierCount) return { ...routing, strategy: 'single' };
  return routing;
}

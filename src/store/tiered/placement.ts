/**
 * Placement: which remote backends a chunk is written to and read from ([storage.routing]).
 *
 * - `single` / `age-based` (OrderedPlacement): reads try the backends in routing order (for
 *   age-based: hot → warm → cold) and move on when one lacks a chunk or fails; writes go to one
 *   backend (the first remote, or the hottest tier).
 * - `replicate` (ReplicatedPlacement): writes go to N backends and succeed once `quorum` of them
 *   confirm; reads go to the fastest healthy backend and fail over to the next on error, timeout or
 *   hash mismatch, counting the failover.
 * - `erasure` plugs in through {@link registerPlacement} (src/store/erasure), next to these.
 *
 * A Placement is a ChunkStore of canonical chunks, so the read-through layer and push use it without
 * knowing the strategy.
 */
import type { ProllyConfig, RoutingStrategy } from '../../config/config.js';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';
import { orderByHealth } from './health.js';
import type { Tier } from './tier.js';

/** Totals over every backend of a placement, for metrics. */
export interface PlacementStats {
  /** Batches of reads that failed on one backend and were served (at least partly) by another. */
  failovers: number;
  /** Chunks served by a backend other than the first one tried because the first failed. */
  failoverChunks: number;
  /** Flushes that reached the write quorum but not every replica. */
  degradedWrites: number;
}

/**
 * A strategy for placing chunks on remote backends. Implementations: OrderedPlacement,
 * ReplicatedPlacement; erasure coding registers its own.
 *
 * @example
 * const placement = createPlacement({ routing: config.storage.routing, tiers });
 * await placement.putMany(chunks); await placement.flush();
 * await placement.getMany(addresses); // fails over between backends
 */
export interface Placement extends ChunkStore {
  readonly strategy: RoutingStrategy | string;
  /** Backends reads may use, in their default order. */
  readonly readTiers: readonly Tier[];
  /** Backends writes (push) go to. */
  readonly writeTiers: readonly Tier[];
  readonly stats: PlacementStats;
}

/** Options every placement factory receives. */
export interface PlacementOptions {
  routing: ProllyConfig['storage']['routing'];
  /** Remote backends in configuration order (the working local store excluded). */
  tiers: readonly Tier[];
  /** Give up on one backend's read after this long and try the next (default 30 s). */
  readTimeoutMs?: number;
}

export type PlacementFactory = (opts: PlacementOptions) => Placement;

const factories = new Map<string, PlacementFactory>();

/**
 * Make `strategy` available to createPlacement (erasure coding registers itself this way).
 * @example registerPlacement('erasure', (opts) => new ErasurePlacement(opts))
 */
export function registerPlacement(strategy: string, factory: PlacementFactory): void {
  factories.set(strategy, factory);
}

/**
 * The placement [storage.routing] asks for over `tiers`.
 * @example const placement = createPlacement({ routing: config.storage.routing, tiers });
 */
export function createPlacement(opts: PlacementOptions): Placement {
  const strategy = opts.routing.strategy;
  const custom = factories.get(strategy);
  if (custom) return custom(opts);
  switch (strategy) {
    case 'single':
      return new OrderedPlacement({ strategy, tiers: opts.tiers, writeTo: opts.tiers.slice(0, 1), readTimeoutMs: opts.readTimeoutMs });
    case 'age-based': {
      const ordered = ageOrder(opts.tiers);
      return new OrderedPlacement({ strategy, tiers: ordered, writeTo: ordered.slice(0, 1), readTimeoutMs: opts.readTimeoutMs });
    }
    case 'replicate': {
      const n = opts.routing.replication_factor;
      if (opts.tiers.length < n) {
        throw new ProllyError(
          ErrorCodes.BAD_CONFIG,
          `storage.routing: replicate needs ${n} remote backends but ${opts.tiers.length} are configured (the working store .git/prolly/store is not a replica)`,
          { key: 'storage.routing.replication_factor' },
        );
      }
      return new ReplicatedPlacement({ tiers: opts.tiers.slice(0, n), quorum: opts.routing.quorum === 0 ? n : Math.min(opts.routing.quorum, n), readTimeoutMs: opts.readTimeoutMs });
    }
    default:
      throw new ProllyError(ErrorCodes.BAD_CONFIG, `storage.routing.strategy "${strategy}" is not available in this build`, { key: 'storage.routing.strategy' });
  }
}

/**
 * Tiers for age-based routing, hot → cold: by max_age_days ascending; backends without it are the
 * coldest (they keep everything), in configuration order.
 * @example ageOrder(tiers).map((t) => t.name) // ['hot-s3', 'glacier']
 */
export function ageOrder(tiers: readonly Tier[]): Tier[] {
  return tiers
    .map((t, i) => ({ t, i, age: t.maxAgeDays ?? Infinity }))
    .sort((a, b) => a.age - b.age || a.i - b.i)
    .map((x) => x.t);
}

/** Where one chunk's read went wrong, per backend, for the final error. */
interface Attempt {
  tier: string;
  error: string;
  code: string | undefined;
}

/**
 * Read `addresses` from `tiers` in order: each backend is asked for the chunks still missing; a
 * backend that fails (error, timeout, corrupt bytes) is recorded and the next one asked. Chunks no
 * backend has come back undefined; chunks that some backend failed on and none served raise one
 * error naming the chunk and every backend tried.
 *
 * @example const bytes = await readWithFailover(orderedTiers, addresses, { timeoutMs: 30_000, stats });
 */
export async function readWithFailover(
  tiers: readonly Tier[],
  addresses: readonly Uint8Array[],
  opts: { timeoutMs: number; stats: PlacementStats },
): Promise<(Uint8Array | undefined)[]> {
  const out: (Uint8Array | undefined)[] = new Array(addresses.length).fill(undefined);
  let remaining = addresses.map((_, i) => i);
  const failed = new Map<number, Attempt[]>();
  let anyFailed = false;
  for (const tier of tiers) {
    if (remaining.length === 0) break;
    const asked = remaining;
    const t0 = performance.now();
    tier.health.counters.reads++;
    let got: (Uint8Array | undefined)[];
    try {
      got = await withTimeout(tier.store.getMany(asked.map((i) => addresses[i]!)), opts.timeoutMs, tier);
      tier.health.success(performance.now() - t0);
    } catch (err) {
      tier.health.failure(err);
      const c = tier.health.counters;
      c.readErrors++;
      if (err instanceof ReadTimeout) c.timeouts++;
      if (err instanceof ProllyError && err.code === ErrorCodes.CHUNK_CORRUPT) c.corrupt++;
      c.failoversFrom++;
      anyFailed = true;
      const attempt: Attempt = { tier: `${tier.name} (${tier.location})`, error: err instanceof Error ? err.message : String(err), code: (err as ProllyError).code };
      for (const i of asked) {
        const list = failed.get(i) ?? [];
        list.push(attempt);
        failed.set(i, list);
      }
      continue;
    }
    const next: number[] = [];
    let served = 0;
    asked.forEach((i, k) => {
      const bytes = got[k];
      if (bytes === undefined) {
        next.push(i);
        return;
      }
      out[i] = bytes;
      served++;
      tier.health.counters.chunksRead++;
      tier.health.counters.bytesRead += bytes.length;
      if (failed.has(i)) opts.stats.failoverChunks++;
    });
    tier.health.counters.misses += next.length;
    if (anyFailed && asked.some((i) => failed.has(i) && out[i] !== undefined)) {
      opts.stats.failovers++;
      tier.health.counters.failoversTo++;
    }
    void served;
    remaining = next;
  }
  const broken = remaining.filter((i) => failed.has(i));
  if (broken.length > 0) {
    const i = broken[0]!;
    const attempts = failed.get(i)!;
    const allCorrupt = attempts.every((a) => a.code === ErrorCodes.CHUNK_CORRUPT);
    const hex = toHex(addresses[i]!);
    const tried = tiers.map((t) => `${t.name} (${t.location})`);
    const detail = tried
      .map((name) => {
        const a = attempts.find((x) => x.tier === name);
        return `${name}: ${a ? a.error : 'does not have it'}`;
      })
      .join('; ');
    throw new ProllyError(
      allCorrupt ? ErrorCodes.CHUNK_CORRUPT : ErrorCodes.BACKEND,
      `chunk ${hex} could not be read from any backend${broken.length > 1 ? ` (nor ${broken.length - 1} other chunk(s))` : ''} — ${detail}`,
      { address: hex, backends: tried, errors: attempts.map((a) => ({ backend: a.tier, error: a.error })) },
    );
  }
  return out;
}

class ReadTimeout extends Error {
  constructor(tier: Tier, ms: number) {
    super(`${tier.name} (${tier.location}) did not answer within ${ms} ms`);
    this.name = 'ReadTimeout';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, tier: Tier): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return p;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadTimeout(tier, ms)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Shared parts of both built-in placements. */
abstract class BasePlacement implements Placement {
  abstract readonly strategy: string;
  readonly name: string;
  readonly readTiers: readonly Tier[];
  readonly writeTiers: readonly Tier[];
  readonly stats: PlacementStats = { failovers: 0, failoverChunks: 0, degradedWrites: 0 };
  protected readonly timeoutMs: number;

  constructor(readTiers: readonly Tier[], writeTiers: readonly Tier[], timeoutMs: number | undefined) {
    this.readTiers = readTiers;
    this.writeTiers = writeTiers;
    this.timeoutMs = timeoutMs ?? 30_000;
    this.name = `remote [${readTiers.map((t) => t.name).join(', ')}]`;
  }

  /** Order in which reads try the backends. */
  protected abstract readOrder(): readonly Tier[];

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.getMany([address]))[0];
  }

  getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (addresses.length === 0) return Promise.resolve([]);
    return readWithFailover(this.readOrder(), addresses, { timeoutMs: this.timeoutMs, stats: this.stats });
  }

  async has(address: Uint8Array): Promise<boolean> {
    return (await this.hasMany([address]))[0]!;
  }

  abstract hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]>;
  abstract putMany(chunks: readonly Chunk[]): Promise<void>;
  abstract flush(): Promise<void>;

  async put(chunk: Chunk): Promise<void> {
    await this.putMany([chunk]);
  }

  /** Addresses on the write backends (each once). */
  async *list(): AsyncIterable<Uint8Array> {
    const seen = new Set<string>();
    for (const tier of this.writeTiers) {
      for await (const a of tier.store.list()) {
        const k = toHex(a);
        if (seen.has(k)) continue;
        seen.add(k);
        yield a;
      }
    }
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.readTiers.map((t) => t.close()));
    const bad = results.find((r) => r.status === 'rejected');
    if (bad) throw (bad as PromiseRejectedResult).reason;
  }
}

/**
 * Reads in a fixed order (configuration order, or hot → cold), writes to one backend.
 * @example new OrderedPlacement({ strategy: 'single', tiers, writeTo: [tiers[0]] })
 */
export class OrderedPlacement extends BasePlacement {
  readonly strategy: string;

  constructor(opts: { strategy: string; tiers: readonly Tier[]; writeTo: readonly Tier[]; readTimeoutMs?: number }) {
    super(opts.tiers, opts.writeTo, opts.readTimeoutMs);
    this.strategy = opts.strategy;
  }

  protected readOrder(): readonly Tier[] {
    return this.readTiers;
  }

  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    const target = this.target();
    return target.store.hasMany(addresses);
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    const target = this.target();
    try {
      await target.store.putMany(chunks);
      countWrites(target, chunks);
    } catch (err) {
      target.health.counters.writeErrors++;
      target.health.failure(err);
      throw err;
    }
  }

  async flush(): Promise<void> {
    const target = this.writeTiers[0];
    if (!target) return;
    try {
      await target.store.flush();
    } catch (err) {
      target.health.counters.writeErrors++;
      target.health.failure(err);
      throw err;
    }
  }

  private target(): Tier {
    const t = this.writeTiers[0];
    if (!t) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'no remote storage backend is configured: add one with git prolly remote add', {});
    return t;
  }
}

/**
 * Writes every chunk to each replica (a flush succeeds when `quorum` replicas confirm); reads from
 * the fastest healthy replica, failing over to the others.
 * @example new ReplicatedPlacement({ tiers: [a, b, c], quorum: 2 })
 */
export class ReplicatedPlacement extends BasePlacement {
  readonly strategy = 'replicate';
  readonly quorum: number;
  /** Replicas that failed a write in this process: skipped until the end (their partial uploads are never listed). */
  private readonly failed = new Map<Tier, unknown>();

  constructor(opts: { tiers: readonly Tier[]; quorum: number; readTimeoutMs?: number }) {
    super(opts.tiers, opts.tiers, opts.readTimeoutMs);
    this.quorum = Math.max(1, Math.min(opts.quorum, opts.tiers.length));
  }

  protected readOrder(): readonly Tier[] {
    return orderByHealth(this.readTiers, (t) => t.health);
  }

  /** True only where every replica has the chunk, so a push fills replicas that lag behind. */
  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    const out = addresses.map(() => true);
    const answers = await Promise.allSettled(this.writeTiers.map((t) => t.store.hasMany(addresses)));
    answers.forEach((a) => {
      if (a.status === 'rejected') {
        out.fill(false);
        return;
      }
      a.value.forEach((has, i) => {
        if (!has) out[i] = false;
      });
    });
    return out;
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    const live = this.writeTiers.filter((t) => !this.failed.has(t));
    await Promise.all(
      live.map(async (t) => {
        try {
          await t.store.putMany(chunks);
          countWrites(t, chunks);
        } catch (err) {
          this.markFailed(t, err);
        }
      }),
    );
    this.checkQuorum('write');
  }

  async flush(): Promise<void> {
    const live = this.writeTiers.filter((t) => !this.failed.has(t));
    await Promise.all(
      live.map(async (t) => {
        try {
          await t.store.flush();
        } catch (err) {
          this.markFailed(t, err);
        }
      }),
    );
    this.checkQuorum('flush');
    if (this.failed.size > 0) this.stats.degradedWrites++;
  }

  /** Replicas that failed a write in this process, with their errors. */
  get failedReplicas(): ReadonlyMap<Tier, unknown> {
    return this.failed;
  }

  private markFailed(t: Tier, err: unknown): void {
    this.failed.set(t, err);
    t.health.counters.writeErrors++;
    t.health.failure(err);
    // A replica that missed some chunks must never list a later flush (it would name a node without
    // its children); the next push fills it from scratch.
    t.abandon();
  }

  private checkQuorum(phase: string): void {
    const ok = this.writeTiers.length - this.failed.size;
    if (ok >= this.quorum) return;
    const reasons = [...this.failed].map(([t, e]) => `${t.name} (${t.location}): ${e instanceof Error ? e.message : String(e)}`).join('; ');
    throw new ProllyError(
      ErrorCodes.BACKEND,
      `replicated ${phase} reached ${ok} of ${this.writeTiers.length} backends, quorum is ${this.quorum} — ${reasons}`,
      { quorum: this.quorum, ok, failed: [...this.failed.keys()].map((t) => t.name) },
    );
  }
}

function countWrites(t: Tier, chunks: readonly Chunk[]): void {
  t.health.counters.chunksWritten += chunks.length;
  for (const c of chunks) t.health.counters.bytesWritten += c.bytes.length;
}

/**
 * Per-backend health and traffic counters: what replicated reads use to pick the fastest healthy
 * backend, and what `git prolly storage metrics` reports (bytes read per tier, failovers).
 */

/** Counters of one backend, as kept in memory and persisted by metrics-file.ts. */
export interface TierCounters {
  /** getMany calls sent to this backend (one per batch, not per chunk). */
  reads: number;
  /** Chunks this backend returned. */
  chunksRead: number;
  /** Bytes of canonical chunk data this backend returned. */
  bytesRead: number;
  /** Chunks asked for that this backend did not have. */
  misses: number;
  /** Reads that failed: error, timeout or hash mismatch. */
  readErrors: number;
  timeouts: number;
  /** Chunks whose bytes did not match their address or checksum. */
  corrupt: number;
  /** Chunks written to this backend (by push / tier). */
  chunksWritten: number;
  bytesWritten: number;
  writeErrors: number;
  /** Reads that this backend failed and another backend then served. */
  failoversFrom: number;
  /** Reads this backend served after another one failed. */
  failoversTo: number;
}

/**
 * Fresh zeroed counters.
 * @example const c = emptyTierCounters(); c.reads++;
 */
export function emptyTierCounters(): TierCounters {
  return {
    reads: 0,
    chunksRead: 0,
    bytesRead: 0,
    misses: 0,
    readErrors: 0,
    timeouts: 0,
    corrupt: 0,
    chunksWritten: 0,
    bytesWritten: 0,
    writeErrors: 0,
    failoversFrom: 0,
    failoversTo: 0,
  };
}

/** How many failures in a row mark a backend unhealthy (it is then tried last). */
const UNHEALTHY_AFTER = 2;
/** An unhealthy backend is given another chance after this long. */
const RETRY_UNHEALTHY_MS = 30_000;
/** Weight of the newest latency sample in the moving average. */
const LATENCY_ALPHA = 0.3;

/**
 * Health of one backend: a latency moving average, consecutive failures, and counters.
 *
 * @example
 * const h = new TierHealth('s3-main');
 * const t0 = performance.now(); …; h.success(performance.now() - t0);
 * h.healthy // false after two failures in a row
 */
export class TierHealth {
  readonly name: string;
  readonly counters: TierCounters = emptyTierCounters();
  /** Moving average of successful request latency in ms; undefined until the first success. */
  latencyMs: number | undefined;
  consecutiveFailures = 0;
  lastError: string | undefined;
  private lastFailureAt = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Record a successful request that took `ms`. */
  success(ms: number): void {
    this.consecutiveFailures = 0;
    this.latencyMs = this.latencyMs === undefined ? ms : this.latencyMs * (1 - LATENCY_ALPHA) + ms * LATENCY_ALPHA;
  }

  /** Record a failed request. */
  failure(err: unknown): void {
    this.consecutiveFailures++;
    this.lastFailureAt = Date.now();
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  /** False after repeated failures, until RETRY_UNHEALTHY_MS have passed since the last one. */
  get healthy(): boolean {
    return this.consecutiveFailures < UNHEALTHY_AFTER || Date.now() - this.lastFailureAt > RETRY_UNHEALTHY_MS;
  }

  /** Health as one word for status output. */
  get state(): 'ok' | 'degraded' | 'down' {
    if (this.consecutiveFailures === 0) return 'ok';
    return this.healthy ? 'degraded' : 'down';
  }
}

/**
 * Order backends for a read: healthy before unhealthy, fewer recent failures first, then by measured
 * latency; otherwise the configured order.
 * @example const order = orderByHealth(replicas, (r) => r.health);
 */
export function orderByHealth<T>(items: readonly T[], healthOf: (item: T) => TierHealth): T[] {
  return items
    .map((item, index) => ({ item, index, h: healthOf(item) }))
    .sort((a, b) => {
      if (a.h.healthy !== b.h.healthy) return a.h.healthy ? -1 : 1;
      // A backend that just failed goes after one that did not, even before it is marked unhealthy.
      if (a.h.consecutiveFailures !== b.h.consecutiveFailures) return a.h.consecutiveFailures - b.h.consecutiveFailures;
      const la = a.h.latencyMs;
      const lb = b.h.latencyMs;
      if (la !== undefined && lb !== undefined && la !== lb) return la - lb;
      return a.index - b.index;
    })
    .map((x) => x.item);
}

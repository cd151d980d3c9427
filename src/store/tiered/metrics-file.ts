/**
 * Storage metrics that outlive a process: each command adds what it counted (cache hits, bytes read
 * per tier, failovers) to `.git/prolly/metrics.json` when it closes its store, so
 * `git prolly storage metrics` reports totals across runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '../../util/bytes.js';
import { writeFileAtomicSync } from '../../util/atomic-file.js';
import { FileLock } from '../file-lock.js';
import { emptyTierCounters, type TierCounters } from './health.js';

/** The persisted totals. */
export interface StorageMetricsFile {
  version: 1;
  /** When counting started (ISO time). */
  since: string;
  updated: string;
  /** In-memory chunk cache. */
  cache: { hits: number; misses: number };
  /** Read-through layer: chunks asked for, found locally, fetched remotely. */
  reads: { requested: number; localHits: number; remoteChunks: number; remoteBytes: number; remoteFetches: number; absent: number; cached: number; cacheSkipped: number };
  /** Failovers between backends. */
  placement: { failovers: number; failoverChunks: number; degradedWrites: number };
  /** Per backend, by name. */
  tiers: Record<string, TierCounters & { latencyMs?: number; lastError?: string; lastErrorAt?: string; state?: string }>;
}

/** A delta to add to the file. */
export interface MetricsDelta {
  cache?: Partial<StorageMetricsFile['cache']>;
  reads?: Partial<StorageMetricsFile['reads']>;
  placement?: Partial<StorageMetricsFile['placement']>;
  tiers?: Record<string, { counters: TierCounters; latencyMs?: number; lastError?: string; state?: string }>;
}

/** File name under `.git/prolly/`. */
export const METRICS_FILE = 'metrics.json';

function empty(now: string): StorageMetricsFile {
  return {
    version: 1,
    since: now,
    updated: now,
    cache: { hits: 0, misses: 0 },
    reads: { requested: 0, localHits: 0, remoteChunks: 0, remoteBytes: 0, remoteFetches: 0, absent: 0, cached: 0, cacheSkipped: 0 },
    placement: { failovers: 0, failoverChunks: 0, degradedWrites: 0 },
    tiers: {},
  };
}

/**
 * The totals recorded under `prollyDir` (zeros when none yet, or when the file is unreadable).
 * @example const m = readMetrics('/repo/.git/prolly'); m.placement.failovers
 */
export function readMetrics(prollyDir: string): StorageMetricsFile {
  const now = new Date().toISOString();
  try {
    const parsed = JSON.parse(readFileSync(join(prollyDir, METRICS_FILE), 'utf8')) as StorageMetricsFile;
    if (parsed?.version !== 1) return empty(now);
    const base = empty(parsed.since ?? now);
    return {
      ...base,
      ...parsed,
      cache: { ...base.cache, ...parsed.cache },
      reads: { ...base.reads, ...parsed.reads },
      placement: { ...base.placement, ...parsed.placement },
      tiers: parsed.tiers ?? {},
    };
  } catch {
    return empty(now);
  }
}

/**
 * Add `delta` to the totals under `prollyDir` (read, add, write atomically, under a short lock).
 * Best effort: metrics never make a command fail.
 * @example recordMetrics('/repo/.git/prolly', { placement: { failovers: 1 } })
 */
export async function recordMetrics(prollyDir: string, delta: MetricsDelta): Promise<void> {
  let lock: FileLock | undefined;
  try {
    lock = await FileLock.acquire({ path: join(prollyDir, 'metrics.lock'), timeoutMs: 2000, purpose: 'git-prolly metrics update' });
    const now = new Date().toISOString();
    const m = readMetrics(prollyDir);
    m.updated = now;
    addInto(m.cache, delta.cache);
    addInto(m.reads, delta.reads);
    addInto(m.placement, delta.placement);
    for (const [name, t] of Object.entries(delta.tiers ?? {})) {
      const cur = (m.tiers[name] ??= { ...emptyTierCounters() });
      addInto(cur as unknown as Record<string, number>, t.counters as unknown as Record<string, number>);
      if (t.latencyMs !== undefined) cur.latencyMs = Math.round(t.latencyMs * 10) / 10;
      if (t.state) cur.state = t.state;
      if (t.lastError) {
        cur.lastError = t.lastError;
        cur.lastErrorAt = now;
      }
    }
    writeFileAtomicSync(join(prollyDir, METRICS_FILE), utf8(JSON.stringify(m, null, 2) + '\n'), { fsync: false });
  } catch {
    /* metrics are advisory */
  } finally {
    lock?.release();
  }
}

function addInto<T extends object>(target: T, delta: Partial<T> | undefined): void {
  if (!delta) return;
  const t = target as Record<string, number>;
  for (const [k, v] of Object.entries(delta)) if (typeof v === 'number') t[k] = (t[k] ?? 0) + v;
}

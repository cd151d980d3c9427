/**
 * `git prolly storage status`: is each backend reachable, how fast does it answer, how many objects
 * and bytes does it hold.
 */
import type { Tier } from './tier.js';

/** One backend's status. */
export interface TierStatus {
  name: string;
  type: string;
  location: string;
  reachable: boolean;
  /** One round trip (a HEAD of an absent object, or the pin listing), in ms. */
  latencyMs: number | null;
  /** Pack and manifest objects (object stores), pinned chunks (IPFS). */
  objects: number | null;
  /** Bytes of those objects (object stores), the node's repository size (IPFS). */
  bytes: number | null;
  /** Chunks the manifest lists (object stores) or pinned chunks (IPFS). */
  chunks: number | null;
  health: 'ok' | 'degraded' | 'down';
  error?: string;
}

/**
 * Probe one backend (opens it; never throws: failures are reported in the status).
 * @example const s = await probeTier(rs.tier('archive')); s.reachable
 */
export async function probeTier(tier: Tier, opts: { timeoutMs?: number } = {}): Promise<TierStatus> {
  const base = { name: tier.name, type: tier.type, location: tier.location };
  const timeoutMs = opts.timeoutMs ?? 15_000;
  try {
    return await within(timeoutMs, async () => {
      const stores = await tier.open();
      if (stores.backend && stores.pack) {
        const t0 = performance.now();
        await stores.backend.head('manifest/.probe');
        const latencyMs = performance.now() - t0;
        let objects = 0;
        let bytes = 0;
        for (const prefix of ['packs/', 'manifest/']) {
          for await (const o of stores.backend.list(prefix)) {
            objects++;
            bytes += o.size;
          }
        }
        let chunks = 0;
        for (const p of await stores.pack.packs()) chunks += p.chunkCount;
        return { ...base, reachable: true, latencyMs: round(latencyMs), objects, bytes, chunks, health: tier.health.state };
      }
      const t0 = performance.now();
      let chunks = 0;
      for await (const _ of stores.store.list()) chunks++;
      const latencyMs = performance.now() - t0;
      let bytes: number | null = null;
      if (tier.config.endpoint) {
        try {
          const { create } = await import('kubo-rpc-client');
          const stat = await create({ url: tier.config.endpoint }).repo.stat({ signal: AbortSignal.timeout(timeoutMs) });
          bytes = Number(stat.repoSize);
        } catch {
          bytes = null;
        }
      }
      return { ...base, reachable: true, latencyMs: round(latencyMs), objects: chunks, bytes, chunks, health: tier.health.state };
    });
  } catch (err) {
    return { ...base, reachable: false, latencyMs: null, objects: null, bytes: null, chunks: null, health: 'down', error: err instanceof Error ? err.message : String(err) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function within<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    fn(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

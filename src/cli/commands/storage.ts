/**
 * `git prolly storage status`: per backend — reachable, latency, objects, bytes, health; with
 * `strategy = "erasure"` also the shard set: degraded and unreadable packs.
 * `git prolly storage metrics [--json]`: cache hit rate, bytes read per tier, failovers (totals of
 * every command run in this repository since the counters were last reset with --reset).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../errors.js';
import { METRICS_FILE, readMetrics } from '../../store/tiered/metrics-file.js';
import { probeTier, type TierStatus } from '../../store/tiered/probe.js';
import { remoteTiers } from '../../store/tiered/repo-store.js';
import { withRepo } from '../context.js';
import { erasureStatusLines, openRepoErasureSet } from './repair.js';
import { formatBytes, formatCount, type Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<number | void> {
  const [what] = args as [string | undefined];
  if (what === 'status' || what === undefined) return status(out);
  if (what === 'metrics') return metrics(out, Boolean(options.reset));
  throw invalidArgument(`unknown storage subcommand ${JSON.stringify(what)}: use status or metrics`);
}

async function status(out: Output): Promise<number> {
  return withRepo('storage status', async (repo) => {
    const config = repo.config;
    const tiers = remoteTiers(config, repo.paths);
    const persisted = readMetrics(repo.paths.prollyDir).tiers;
    const local = localStatus(repo.paths.storeDir);
    const rows: TierStatus[] = [local];
    try {
      for (const s of await Promise.all(tiers.map((t) => probeTier(t)))) {
        const past = persisted[s.name];
        // A reachable backend that failed recently (per the recorded metrics) is degraded.
        if (s.reachable && past?.lastErrorAt && Date.now() - Date.parse(past.lastErrorAt) < 3_600_000 && past.state !== 'ok') s.health = 'degraded';
        rows.push(s);
      }
    } finally {
      for (const t of tiers) await t.close().catch(() => undefined);
    }
    // Shard-level health of an erasure set: which packs are degraded (readable by reconstruction) or
    // unreadable. Presence only; `git prolly repair --dry-run` also verifies every shard's checksum.
    const erasure = config.storage.routing.strategy === 'erasure' ? await (await openRepoErasureSet(config, repo.paths)).backend.status() : undefined;
    if (out.json) await out.printJson({ strategy: config.storage.routing.strategy, backends: rows, ...(erasure ? { erasure } : {}) });
    else {
      await out.line(`routing: ${config.storage.routing.strategy}`);
      for (const r of rows) {
        const facts = r.reachable
          ? [`${r.latencyMs ?? '?'} ms`, r.objects === null ? '' : `${formatCount(r.objects)} objects`, r.bytes === null ? '' : formatBytes(r.bytes), r.chunks === null ? '' : `${formatCount(r.chunks)} chunks`].filter(Boolean).join(', ')
          : `unreachable: ${r.error}`;
        await out.line(`${r.name.padEnd(12)} ${r.type.padEnd(6)} ${r.health.padEnd(8)} ${facts}  ${r.location}`);
      }
      if (erasure) for (const l of erasureStatusLines(erasure)) await out.line(l);
    }
    return rows.some((r) => !r.reachable) || (erasure?.unreadable.length ?? 0) > 0 ? 1 : 0;
  });
}

function localStatus(dir: string): TierStatus {
  let objects = 0;
  let bytes = 0;
  const t0 = performance.now();
  try {
    for (const f of readdirSync(dir)) {
      if (!/\.(pack|idx|ckpt)$/.test(f)) continue;
      objects++;
      bytes += statSync(join(dir, f)).size;
    }
  } catch {
    /* no store yet */
  }
  return { name: 'local', type: 'local', location: `${dir} (working store)`, reachable: true, latencyMs: Math.round((performance.now() - t0) * 10) / 10, objects, bytes, chunks: null, health: 'ok' };
}

async function metrics(out: Output, reset: boolean): Promise<void> {
  await withRepo('storage metrics', async (repo) => {
    const dir = repo.paths.prollyDir;
    if (reset) {
      rmSync(join(dir, METRICS_FILE), { force: true });
      await out.line('storage metrics reset');
      return;
    }
    const m = readMetrics(dir);
    const cacheTotal = m.cache.hits + m.cache.misses;
    const derived = {
      cacheHitRate: cacheTotal ? m.cache.hits / cacheTotal : null,
      localHitRate: m.reads.requested ? m.reads.localHits / m.reads.requested : null,
      bytesReadPerTier: Object.fromEntries(Object.entries(m.tiers).map(([k, v]) => [k, v.bytesRead])),
      failovers: m.placement.failovers,
    };
    if (out.json) {
      await out.printJson({ ...derived, ...m });
      return;
    }
    const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
    await out.line(`since ${m.since}`);
    await out.line(`memory cache hit rate   ${pct(derived.cacheHitRate)} (${formatCount(m.cache.hits)} hits, ${formatCount(m.cache.misses)} misses)`);
    await out.line(`local store hit rate    ${pct(derived.localHitRate)} (${formatCount(m.reads.localHits)} of ${formatCount(m.reads.requested)} chunks)`);
    await out.line(`fetched from remotes    ${formatCount(m.reads.remoteChunks)} chunks, ${formatBytes(m.reads.remoteBytes)} in ${formatCount(m.reads.remoteFetches)} batches`);
    await out.line(`failovers               ${formatCount(m.placement.failovers)} (${formatCount(m.placement.failoverChunks)} chunks)`);
    for (const [name, t] of Object.entries(m.tiers)) {
      await out.line(
        `  ${name.padEnd(12)} read ${formatBytes(t.bytesRead)} (${formatCount(t.chunksRead)} chunks), wrote ${formatBytes(t.bytesWritten)}, errors ${t.readErrors + t.writeErrors}, failovers from ${t.failoversFrom} / to ${t.failoversTo}${t.latencyMs !== undefined ? `, ~${t.latencyMs} ms` : ''}${t.lastError ? `, last error: ${t.lastError}` : ''}`,
      );
    }
  });
}

/**
 * `git prolly repair [--dry-run]`: read every shard of every erasure-coded object on the configured
 * backends, rebuild missing or corrupt shards from k good ones, and write them back — to their own
 * backend when it is configured and reachable (a wiped disk, a corrupt object), otherwise to a
 * backend that holds no shard of that object (a backend replaced in [[storage.backends]]).
 * `--dry-run` only reports. Exit 1 when some object is unrecoverable (or, with --dry-run, degraded).
 */
import type { ProllyConfig } from '../../config/config.js';
import { invalidArgument } from '../../errors.js';
import type { ErasureStatus } from '../../store/erasure/erasure-backend.js';
import { openErasureSet, type ErasureSet } from '../../store/erasure/placement.js';
import { remoteTiers, type RepoLocation } from '../../store/tiered/repo-store.js';
import { withRepo } from '../context.js';
import { formatCount, type Output } from '../output.js';

/**
 * The erasure set a repository's configuration describes (keyring opened when encryption is on;
 * never created). EINVAL when [storage.routing] strategy is not "erasure".
 * @example const set = await openRepoErasureSet(repo.config, repo.paths); await set.backend.status();
 */
export async function openRepoErasureSet(config: ProllyConfig, loc: RepoLocation): Promise<ErasureSet> {
  if (config.storage.routing.strategy !== 'erasure') {
    throw invalidArgument(`[storage.routing] strategy is "${config.storage.routing.strategy}": repair and shard status apply to strategy = "erasure"`, {
      strategy: config.storage.routing.strategy,
    });
  }
  return openErasureSet({
    routing: config.storage.routing,
    tiers: remoteTiers(config, loc),
    settings: { compression: config.compression, security: config.security, workTree: loc.workTree, createKeyring: false },
  });
}

/**
 * Human-readable lines of an erasure status (for `git prolly storage status` too).
 * @example for (const l of erasureStatusLines(await set.backend.status())) console.log(l);
 */
export function erasureStatusLines(st: ErasureStatus): string[] {
  const lines = [`erasure k=${st.k} m=${st.m}: ${formatCount(st.objects)} objects, ${formatCount(st.healthy)} healthy, ${st.degraded.length} degraded, ${st.unreadable.length} unreadable`];
  for (const m of st.members) {
    lines.push(`  ${m.id.padEnd(14)} ${m.reachable ? 'reachable  ' : 'UNREACHABLE'} ${formatCount(m.shards)} shards${m.missing ? `, ${formatCount(m.missing)} missing or damaged` : ''}${m.error ? ` (${m.error})` : ''}`);
  }
  for (const d of st.degraded) lines.push(`  degraded   ${d.object}: ${d.available}/${st.k + st.m} shards (${d.faults.map((f) => `#${f.index} on ${f.backend || '-'}: ${f.reason}`).join('; ')})`);
  for (const u of st.unreadable) lines.push(`  UNREADABLE ${u.object}: ${u.available}/${st.k + st.m} shards, ${st.k} needed (${u.faults.map((f) => `#${f.index} on ${f.backend || '-'}: ${f.reason}`).join('; ')})`);
  for (const p of st.manifestProblems) lines.push(`  placement segment unreadable: ${p}`);
  return lines;
}

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<number> {
  return withRepo('repair', async (repo) => {
    const set = await openRepoErasureSet(repo.config, repo.paths);
    if (options.dryRun) {
      const st = await set.backend.status({ verify: true });
      if (out.json) await out.printJson(st);
      else for (const l of erasureStatusLines(st)) await out.line(l);
      return st.degraded.length + st.unreadable.length > 0 ? 1 : 0;
    }
    const progress = out.progress('repairing');
    let report;
    try {
      report = await set.backend.repair({ onProgress: (done, total) => progress.update({ done, total, detail: `${formatCount(done)} of ${formatCount(total)} objects` }) });
    } finally {
      progress.finish();
    }
    if (report.repaired.length > 0 || report.manifestCopies > 0) {
      const shards = report.repaired.reduce((n, r) => n + r.shards.length, 0);
      const { auditStorage } = await import('../../audit/record.js');
      await auditStorage(repo, {
        op: 'repair',
        what: `repair: ${report.objects} erasure-coded objects checked, ${shards} shards of ${report.repaired.length} objects rebuilt, ${report.unrecoverable.length} unrecoverable`,
        details: {
          objects: report.objects,
          healthy: report.healthy,
          repaired: report.repaired.map((r) => ({ object: r.object, shards: r.shards.map((x) => ({ index: x.index, from: x.from, to: x.to, reason: x.reason })) })),
          unrecoverable: report.unrecoverable.map((u) => u.object),
          manifestCopies: report.manifestCopies,
        },
      });
    }
    if (out.json) await out.printJson(report);
    else {
      await out.line(`${formatCount(report.objects)} objects checked: ${formatCount(report.healthy)} healthy, ${report.repaired.length} repaired, ${report.unrecoverable.length} unrecoverable`);
      for (const r of report.repaired) {
        for (const s of r.shards) await out.line(`  repaired ${r.object} shard #${s.index}: ${s.from} → ${s.to} (${s.reason})`);
        if (r.shards.length === 0) await out.line(`  ${r.object}: no backend could take its missing shards; still degraded`);
      }
      for (const u of report.unrecoverable) await out.line(`  UNRECOVERABLE ${u.object}: ${u.available} shards readable, ${repo.config.storage.routing.data_shards} needed`);
      await out.line(`placement manifest: ${report.manifestCopies} copies written`);
    }
    return report.unrecoverable.length > 0 ? 1 : 0;
  });
}

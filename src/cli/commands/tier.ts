/**
 * `git prolly tier [--dry-run]`: apply `strategy = "age-based"` — dataset versions that only commits
 * older than a tier's max_age_days use are copied to the next (colder) backend and evicted from the
 * hotter one. Reads still find them: they try hot → cold.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { applyAgePolicy } from '../../store/tiered/age.js';
import { ageOrder } from '../../store/tiered/placement.js';
import { openRepoStore } from '../../store/tiered/repo-store.js';
import { withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const dryRun = Boolean(options.dryRun);
  await withRepo('tier', async (repo) => {
    const config = repo.config;
    if (config.storage.routing.strategy !== 'age-based') {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `git prolly tier applies age-based routing, but [storage.routing] strategy is "${config.storage.routing.strategy}"`, { strategy: config.storage.routing.strategy });
    }
    // Moving data between backends is a write: hold the repository lock so two `tier` runs do not race.
    await repo.acquireLock();
    const rs = await openRepoStore(config, repo.paths, { readOnly: true });
    try {
      const tiers = ageOrder(rs.tiers);
      if (tiers.length < 2) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'age-based tiering needs at least two remote backends (hot and cold)', {});
      const moves = await applyAgePolicy({ git: await repo.git(), tiers, chunks: rs.store, dryRun });
      if (!dryRun && moves.length > 0) {
        const { auditStorage } = await import('../../audit/record.js');
        await auditStorage(repo, { op: 'tier', what: `tier: ${moves.map((m) => `${m.from} → ${m.to}`).join(', ')}`, details: { moves } });
      }
      if (out.json) {
        await out.printJson({ dryRun, moves });
        return;
      }
      for (const m of moves) {
        const ev = m.evicted;
        await out.line(
          `${m.from} → ${m.to} (older than ${m.maxAgeDays} days): ${formatCount(m.oldVersions)} dataset versions; ` +
            (dryRun ? '' : `copied ${formatCount(m.copiedChunks)} chunks (${formatBytes(m.copiedBytes)}); `) +
            (ev ? `${dryRun ? 'would evict' : 'evicted'} ${formatCount(ev.chunksEvicted)} chunks (${formatBytes(ev.bytesEvicted)}) from ${m.from}, ${ev.packsDeleted} packs deleted, ${ev.packsRewritten} rewritten` : `${m.from} keeps its copies (eviction is not supported there)`),
        );
      }
      if (moves.length === 0) await out.line('no backend has max_age_days below the coldest tier: nothing to move');
    } finally {
      await rs.close();
    }
  });
}

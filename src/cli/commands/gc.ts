/**
 * `git prolly gc [--dry-run] [--keep-recent <duration>]`: delete chunks of the local store that no
 * ref, reflog entry, index stage, work-tree pointer or other root reaches (src/gc/gc.ts). Packs
 * written within --keep-recent (default 2 weeks) are left whole. Remote backends are not touched.
 */
import { collectGarbage, DEFAULT_KEEP_RECENT_MS, type GcReport } from '../../gc/gc.js';
import { formatDuration, parseDuration } from '../../gc/duration.js';
import { withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const dryRun = Boolean(options.dryRun);
  const keepRecentMs = options.keepRecent === undefined ? DEFAULT_KEEP_RECENT_MS : parseDuration(String(options.keepRecent));
  const wait = process.env.GIT_PROLLY_LOCK_TIMEOUT_MS;
  await withRepo('gc', async (repo) => {
    const progress = out.progress(dryRun ? 'gc (dry run)' : 'gc');
    let report: GcReport;
    try {
      report = await collectGarbage({
        repo,
        keepRecentMs,
        dryRun,
        lockTimeoutMs: wait !== undefined && /^\d+$/.test(wait) ? Number(wait) : 0,
        onProgress: (p) => progress.update({ done: p.chunks, detail: p.phase === 'mark' ? `${formatCount(p.chunks)} reachable chunks` : p.phase }),
      });
    } finally {
      progress.finish();
    }
    const s = report.store;
    if (!dryRun && s.packsRewritten > 0) {
      const { auditStorage } = await import('../../audit/record.js');
      await auditStorage(repo, {
        op: 'gc',
        what: `gc: removed ${s.reclaimedChunks} unreachable chunks (${formatBytes(s.reclaimedBytes)}) from ${s.packsRewritten} local packs`,
        details: {
          keepRecentMs,
          reachableChunks: report.reachableChunks,
          reclaimedChunks: s.reclaimedChunks,
          reclaimedBytes: s.reclaimedBytes,
          bytesBefore: s.bytesBefore,
          bytesAfter: s.bytesAfter,
          packsBefore: s.packsBefore,
          packsAfter: s.packsAfter,
        },
      });
    }
    if (out.json) {
      await out.printJson(report);
      return;
    }
    const r = report.roots;
    await out.line(
      `${n(r.datasetVersions, 'dataset version')} (${n(r.commits, 'commit')} from ${n(r.refs, 'ref')}, ${n(r.reflogEntries, 'reflog entry', 'reflog entries')}, ` +
        `${n(r.indexEntries, 'index entry', 'index entries')}, ${n(r.workTreePointers, 'work-tree pointer')}${r.sqlIndexRoots ? `, ${n(r.sqlIndexRoots, 'SQL index tree')}` : ''}) reach ${n(report.reachableChunks, 'chunk')}`,
    );
    const verb = dryRun ? 'would remove' : 'removed';
    await out.line(
      `local store: ${n(s.chunksBefore, 'chunk')} in ${n(s.packsBefore, 'pack')} (${formatBytes(s.bytesBefore)}) → ${n(s.chunksAfter, 'chunk')} in ${n(s.packsAfter, 'pack')} (${formatBytes(s.bytesAfter)})` +
        (dryRun ? ' (dry run: nothing was changed)' : ''),
    );
    await out.line(
      s.packsRewritten > 0
        ? `${verb} ${n(s.reclaimedChunks, 'chunk')} (${formatBytes(s.reclaimedBytes)}) by rewriting ${n(s.packsRewritten, 'pack')} into ${formatCount(s.packsWritten)}`
        : 'nothing to remove',
    );
    if (s.recentGarbageChunks > 0) {
      await out.line(`kept ${n(s.recentGarbageChunks, 'unreachable chunk')} (${formatBytes(s.recentGarbageBytes)}) in packs written in the last ${formatDuration(keepRecentMs)} (--keep-recent)`);
    }
    for (const n of report.notes) await out.line(`note: ${n}`);
  });
}

/** "1 pack", "3 packs". */
function n(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

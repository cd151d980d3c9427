/**
 * `git prolly verify [--from rev] [--to rev] [--require-signatures] [--allowed-signers FILE] [--deep]
 * [--remote NAME] [--branch NAME] [--json | --junit FILE]`: check history for CI. Exit 0 when all is
 * good, 1 when a problem was found (each named: commit, dataset, chunk, what failed), 2 when the
 * check could not run.
 */
import { utf8 } from '../../util/bytes.js';
import { writeFileAtomicSync } from '../../util/atomic-file.js';
import { withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<number> {
  return withRepo('verify', async (repo) => {
    const { verifyHistory, verifyReportJunit, allowedSignersFor } = await import('../../verify/index.js');
    const allowedSigners = await allowedSignersFor(repo, options.allowedSigners as string | undefined);
    const progress = out.progress('verifying');
    let report;
    try {
      report = await verifyHistory(repo, {
        ...(options.from !== undefined ? { from: String(options.from) } : {}),
        ...(options.to !== undefined ? { to: String(options.to) } : {}),
        ...(options.branch !== undefined ? { branch: String(options.branch) } : {}),
        ...(options.remote !== undefined ? { remote: String(options.remote) } : {}),
        ...(allowedSigners ? { allowedSigners } : {}),
        requireSignatures: Boolean(options.requireSignatures),
        deep: Boolean(options.deep),
        audit: options.audit !== false,
        onProgress: (p) => progress.update({ done: p.commits, total: p.totalCommits, detail: `${formatCount(p.commits)} of ${formatCount(p.totalCommits)} commits, ${formatCount(p.chunks)} chunks, ${formatBytes(p.bytes)}` }),
      });
    } finally {
      progress.finish();
    }
    if (typeof options.junit === 'string') writeFileAtomicSync(options.junit, utf8(verifyReportJunit(report)));
    if (out.json) {
      await out.printJson(report);
      return report.ok ? 0 : 1;
    }
    for (const p of report.problems) {
      const where = [p.commit && `commit ${p.commit.slice(0, 7)}`, p.dataset && `dataset ${p.dataset}`, p.chunk && `chunk ${p.chunk.slice(0, 16)}…`].filter(Boolean).join(' · ');
      await out.line(`✗ ${p.check}${where ? ` [${where}]` : ''}: ${p.message}`);
    }
    for (const n of report.notes) await out.line(`note: ${n}`);
    const t = report.totals;
    const range = `${report.from ? `${report.from.slice(0, 7)}..` : ''}${report.to.slice(0, 7)}`;
    const n = (count: number, one: string, many = `${one}s`) => `${formatCount(count)} ${count === 1 ? one : many}`;
    const parts = [
      `${n(t.commits, 'commit')} (${range})`,
      n(t.datasetVersions, 'dataset version'),
      n(t.nodes, 'node'),
      ...(options.deep ? [n(t.blobChunks, 'blob chunk')] : []),
      ...(t.schemas ? [n(t.schemas, 'schema')] : []),
      `${formatBytes(t.bytes)} read`,
      n(t.signaturesGood, 'good signature'),
      ...(options.remote !== undefined ? [`${formatCount(t.remoteChecked)} chunks found on ${String(options.remote)} (${formatCount(t.remoteDownloaded)} downloaded to compare)`] : []),
    ];
    const summary = `verified ${parts.join(', ')} in ${report.seconds} s`;
    if (report.ok) {
      await out.line(`OK: ${summary}`);
      return 0;
    }
    await out.line(`FAILED: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}; ${summary}`);
    return 1;
  });
}

/** `git prolly diff [rev1] [rev2] [--dataset D] [--stat]`: HEAD → work tree, rev1 → work tree, or rev1 → rev2. */
import { changedDatasets, diffPointers, type DatasetDelta, type DiffStat } from '../../repo/diff.js';
import type { Repo } from '../../repo/repo.js';
import { withRepo } from '../context.js';
import { formatCount, type Output } from '../output.js';
import { changeJson, printDeltas } from '../print-diff.js';

/** Per-dataset counts of a list of deltas. */
export async function statsOf(repo: Repo, deltas: DatasetDelta[]): Promise<(DiffStat & { countBefore: number | null; countAfter: number | null })[]> {
  const out = [];
  for (const d of deltas) {
    const s = { dataset: d.dataset, added: 0, removed: 0, modified: 0, from: d.from, to: d.to };
    for await (const c of diffPointers(repo, d)) s[c.type === 'added' ? 'added' : c.type === 'removed' ? 'removed' : 'modified']++;
    out.push({ ...s, countBefore: d.from?.count ?? null, countAfter: d.to?.count ?? null });
  }
  return out;
}

/** Print `--stat` lines. */
export async function printStats(out: Output, stats: DiffStat[]): Promise<void> {
  const width = Math.max(0, ...stats.map((s) => s.dataset.length));
  for (const s of stats) {
    await out.line(` ${s.dataset.padEnd(width)} | ${formatCount(s.added)} added, ${formatCount(s.removed)} removed, ${formatCount(s.modified)} modified`);
  }
  await out.line(` ${stats.length} ${stats.length === 1 ? 'dataset' : 'datasets'} changed`);
}

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [rev1, rev2] = args as [string | undefined, string | undefined];
  await withRepo('diff', async (repo) => {
    const datasets = options.dataset !== undefined ? [String(options.dataset)] : undefined;
    if (datasets) repo.dataset(datasets[0]!);
    const deltas = await changedDatasets(repo, { from: rev1 ?? 'HEAD', to: rev2, datasets });
    if (options.stat) {
      const stats = await statsOf(repo, deltas);
      if (out.json) await out.printJson(stats.map(({ from: _f, to: _t, ...rest }) => rest));
      else await printStats(out, stats);
      return;
    }
    if (out.json) {
      await out.line('[');
      let first = true;
      for (const d of deltas) {
        for await (const c of diffPointers(repo, d)) {
          await out.line(`${first ? '' : ','}${JSON.stringify(changeJson(c))}`);
          first = false;
        }
      }
      await out.line(']');
      return;
    }
    await printDeltas(out, repo, deltas, { from: rev1 ?? 'HEAD', to: rev2 ?? 'worktree' });
  });
}

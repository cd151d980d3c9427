/** `git prolly commit -m MSG`: commit the datasets only. */
import { invalidArgument } from '../../errors.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  if (typeof options.message !== 'string') throw invalidArgument('commit needs a message: git prolly commit -m "…"');
  await withRepo('commit', async (repo) => {
    const r = await repo.commit({ message: options.message as string, allowEmpty: Boolean(options.allowEmpty) });
    const branch = r.branch?.replace(/^refs\/heads\//, '') ?? 'detached HEAD';
    if (out.json) {
      await out.printJson({ commit: r.oid ?? null, branch: r.branch ?? null, datasets: r.datasets, merge: r.merge });
      return;
    }
    if (!r.oid) {
      await out.line('nothing to commit (datasets and .prolly/ unchanged since HEAD)');
      return;
    }
    await out.line(`[${branch} ${r.oid.slice(0, 7)}] ${(options.message as string).split('\n')[0]}`);
    if (r.datasets.length > 0) await out.line(` ${r.datasets.length} ${r.datasets.length === 1 ? 'dataset' : 'datasets'} changed: ${r.datasets.join(', ')}`);
  });
}

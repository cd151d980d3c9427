/** `git prolly show [rev] [--dataset D] [--stat]`: a commit and its key-level dataset changes. */
import { changedDatasets } from '../../repo/diff.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';
import { changeJson, printDeltas } from '../print-diff.js';
import { gitDate } from './log.js';
import { printStats, statsOf } from './diff.js';
import { diffPointers } from '../../repo/diff.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [rev = 'HEAD'] = args as [string | undefined];
  await withRepo('show', async (repo) => {
    const git = await repo.git();
    const oid = await git.resolve(rev);
    const commit = await git.readCommit(oid);
    const from = commit.parents[0] ?? null;
    const datasets = options.dataset !== undefined ? [String(options.dataset)] : undefined;
    const deltas = await changedDatasets(repo, { from, to: oid, datasets });
    if (out.json) {
      const header = { commit: oid, parents: commit.parents, author: { name: commit.author.name, email: commit.author.email, timestamp: commit.author.timestamp }, message: commit.message };
      if (options.stat) {
        await out.printJson({ ...header, stats: await statsOf(repo, deltas) });
        return;
      }
      const changes: Record<string, unknown>[] = [];
      for (const d of deltas) for await (const c of diffPointers(repo, d)) changes.push(changeJson(c));
      await out.printJson({ ...header, changes });
      return;
    }
    await out.line(`commit ${oid}`);
    if (commit.parents.length > 1) await out.line(`Merge: ${commit.parents.map((p) => p.slice(0, 7)).join(' ')}`);
    await out.line(`Author: ${commit.author.name} <${commit.author.email}>`);
    await out.line(`Date:   ${gitDate(commit.author)}`);
    await out.line('');
    for (const l of commit.message.replace(/\n$/, '').split('\n')) await out.line(`    ${l}`);
    await out.line('');
    if (options.stat) await printStats(out, await statsOf(repo, deltas));
    else await printDeltas(out, repo, deltas, { from: from ? from.slice(0, 7) : 'empty', to: oid.slice(0, 7) });
  });
}

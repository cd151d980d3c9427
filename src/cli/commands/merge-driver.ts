/**
 * `git-prolly merge-driver %O %A %B %P` — called by git for pointer files (merge.prolly.driver).
 * Writes the merged pointer to %A; exit 0 when clean, 1 when same-key conflicts remain (git then
 * marks the path conflicted; the keys are listed by `git prolly conflicts`).
 */
import type { MergeStrategy } from '../../tree/merge.js';
import { openRepo } from '../../repo/repo.js';
import type { Output } from '../output.js';

export async function run(_out: Output, args: unknown[]): Promise<number> {
  const [baseFile, oursFile, theirsFile, path] = args as [string, string, string, string | undefined];
  const env = process.env.GIT_PROLLY_MERGE_STRATEGY;
  const strategy = env === 'ours' || env === 'theirs' || env === 'fail' ? (env as MergeStrategy) : undefined;
  const wait = process.env.GIT_PROLLY_LOCK_TIMEOUT_MS;
  const repo = await openRepo({ dir: process.cwd(), gitDir: process.env.GIT_DIR, workTree: process.env.GIT_WORK_TREE, lockTimeoutMs: wait && /^\d+$/.test(wait) ? Number(wait) : 30_000, purpose: 'git-prolly merge-driver' });
  try {
    const { runMergeDriver } = await import('../../repo/merge.js');
    const r = await runMergeDriver(repo, { baseFile, oursFile, theirsFile, path: path ?? oursFile, strategy });
    if (r.conflicts > 0) {
      process.stderr.write(`CONFLICT (dataset): ${r.conflicts} ${r.conflicts === 1 ? 'key was' : 'keys were'} changed differently on both sides in ${r.dataset}; see git prolly conflicts\n`);
      return 1;
    }
    return 0;
  } finally {
    await repo.close();
  }
}

/**
 * `git prolly merge <rev> [--strategy ours|theirs|fail] [-m MSG]`: runs `git merge`, whose merge
 * driver (git-prolly merge-driver) does the three-way prolly merge of each dataset. `--strategy`
 * reaches the driver through GIT_PROLLY_MERGE_STRATEGY; with `fail`, any dataset conflict aborts the
 * merge (git merge --abort) and nothing changes.
 */
import { spawnSync } from 'node:child_process';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';
import { listConflicts } from '../../repo/conflicts.js';
import { CheckFailed } from '../run.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<number> {
  const [rev] = args as [string];
  const strategy = options.strategy as string | undefined;
  if (strategy !== undefined && !['ours', 'theirs', 'fail'].includes(strategy)) throw invalidArgument(`--strategy must be ours, theirs or fail, got ${JSON.stringify(strategy)}`);
  return withRepo('merge', async (repo) => {
    const gitArgs = ['merge', '--no-edit', ...(options.message !== undefined ? ['-m', String(options.message)] : []), rev];
    const env = { ...process.env, ...(strategy ? { GIT_PROLLY_MERGE_STRATEGY: strategy } : {}) };
    const r = spawnSync('git', gitArgs, { cwd: repo.paths.workTree, env, stdio: out.json ? 'pipe' : 'inherit', encoding: 'utf8' });
    if (r.error) throw new ProllyError(ErrorCodes.GIT_STATE, `could not run git: ${r.error.message} (git prolly merge needs the git binary; the library's repo.merge() does not)`);
    if (r.status === 0) {
      if (out.json) await out.printJson({ merged: true, conflicts: [], output: r.stdout });
      return 0;
    }
    const conflicts = listConflicts(repo);
    const total = conflicts.reduce((n, c) => n + c.conflicts.length, 0);
    if (strategy === 'fail') {
      spawnSync('git', ['merge', '--abort'], { cwd: repo.paths.workTree, stdio: 'ignore' });
      throw new CheckFailed(`merge of ${rev} aborted: datasets have conflicting changes (strategy fail); nothing was changed`);
    }
    if (out.json) {
      await out.printJson({ merged: false, conflicts: conflicts.map((c) => ({ dataset: c.dataset, count: c.conflicts.length })), output: r.stdout, errors: r.stderr });
      return 1;
    }
    if (total > 0) {
      process.stderr.write(
        `git-prolly: ${total} conflicting ${total === 1 ? 'key' : 'keys'} in ${conflicts.map((c) => c.dataset).join(', ')}: list them with git prolly conflicts, settle them with git prolly resolve, then git prolly commit -m "…"\n`,
      );
      return 1;
    }
    throw new CheckFailed(`git merge ${rev} did not complete (exit ${r.status}); see git's message above`);
  });
}

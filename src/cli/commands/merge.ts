/**
 * `git prolly merge <rev> [--strategy ours|theirs|fail] [-m MSG]`: runs `git merge`, whose merge
 * driver (git-prolly merge-driver) does the three-way prolly merge of each dataset. `--strategy`
 * reaches the driver through GIT_PROLLY_MERGE_STRATEGY; with `fail`, any dataset conflict aborts the
 * merge (git merge --abort) and nothing changes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    const git = await repo.git();
    const before = await git.head();
    // With signing on, git stops before committing and the merge commit goes through git-prolly's own
    // commit path, which signs it (git itself would need gpg.format=ssh and ssh-keygen to do that).
    const signing = repo.config.security.sign_commits;
    const gitArgs = ['merge', '--no-edit', ...(signing ? ['--no-commit'] : []), ...(options.message !== undefined ? ['-m', String(options.message)] : []), rev];
    const env = { ...process.env, ...(strategy ? { GIT_PROLLY_MERGE_STRATEGY: strategy } : {}) };
    const r = spawnSync('git', gitArgs, { cwd: repo.paths.workTree, env, stdio: out.json ? 'pipe' : 'inherit', encoding: 'utf8' });
    if (r.error) throw new ProllyError(ErrorCodes.GIT_STATE, `could not run git: ${r.error.message} (git prolly merge needs the git binary; the library's repo.merge() does not)`);
    if (r.status === 0) {
      let signed = false;
      if (signing && existsSync(join(repo.paths.gitDir, 'MERGE_HEAD'))) {
        const message = options.message !== undefined ? String(options.message) : mergeMessage(repo.paths.gitDir, rev);
        const c = await repo.commit({ message });
        signed = c.oid !== undefined;
        if (!out.json && c.oid) await out.line(`[${(c.branch ?? 'HEAD').replace(/^refs\/heads\//, '')} ${c.oid.slice(0, 7)}] ${message.split('\n')[0]} (signed)`);
      }
      const after = await git.head();
      if (after.oid && after.oid !== before.oid) {
        const { appendCommitAudit, recordAudit } = await import('../../audit/index.js');
        const changed = await changedDatasetNames(repo, before.oid, after.oid);
        const fastForward = (await git.readCommit(after.oid)).parents.length < 2;
        await recordAudit(() => appendCommitAudit(repo, { op: 'merge', commit: after.oid!, before: before.oid ?? null, ref: after.ref ?? null, datasets: changed, details: { rev, fastForward } }));
      }
      if (out.json) await out.printJson({ merged: true, conflicts: [], output: r.stdout, signed });
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

/** git's prepared merge message (MERGE_MSG without comment lines), or a default. */
function mergeMessage(gitDir: string, rev: string): string {
  try {
    const text = readFileSync(join(gitDir, 'MERGE_MSG'), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n')
      .trim();
    if (text) return text;
  } catch {
    /* none */
  }
  return `Merge ${rev}`;
}

/** Datasets whose pointer differs between two commits. */
async function changedDatasetNames(repo: import('../../repo/repo.js').Repo, from: string | undefined, to: string): Promise<string[]> {
  const git = await repo.git();
  const a = from ? await git.datasetBlobsAt(from) : new Map<string, string>();
  const b = await git.datasetBlobsAt(to);
  return [...new Set([...a.keys(), ...b.keys()])].filter((n) => a.get(n) !== b.get(n)).sort();
}

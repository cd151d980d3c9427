/**
 * `git prolly status`: datasets changed in the work tree relative to HEAD (with key-level counts from
 * the structural diff), unresolved conflicts, and the branch / merge state.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { listConflicts } from './conflicts.js';
import { diffStats, type DiffStat } from './diff.js';
import type { Repo } from './repo.js';

/** The repository's dataset status. */
export interface RepoStatus {
  /** Current branch (short name), undefined when detached. */
  branch?: string;
  /** HEAD commit, undefined on an unborn branch. */
  head?: string;
  /** A merge is in progress (MERGE_HEAD exists). */
  merging: boolean;
  /** Datasets that differ from HEAD, with change counts. */
  changes: (DiffStat & { state: 'new' | 'deleted' | 'modified' })[];
  /** Datasets with unresolved conflicts and how many. */
  conflicts: { dataset: string; count: number }[];
}

/**
 * Status of the repository's datasets.
 * @example const { changes } = await repoStatus(repo)
 */
export async function repoStatus(repo: Repo): Promise<RepoStatus> {
  const git = await repo.git();
  const head = await git.head();
  const stats = await diffStats(repo, { from: 'HEAD' });
  return {
    branch: head.ref?.replace(/^refs\/heads\//, ''),
    head: head.oid,
    merging: existsSync(join(repo.paths.gitDir, 'MERGE_HEAD')),
    changes: stats.map((s) => ({ ...s, state: !s.from ? 'new' : !s.to ? 'deleted' : 'modified' })),
    conflicts: listConflicts(repo).map((c) => ({ dataset: c.dataset, count: c.conflicts.length })),
  };
}

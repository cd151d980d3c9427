/**
 * `git prolly log`: commits that changed datasets, newest first. Each commit is compared with its
 * first parent by the `.prolly/datasets` tree id and then the pointer blob ids, so unchanged commits
 * cost a couple of object reads and no chunk is read at all.
 */
import type { GitCommit, GitRepo } from './git.js';
import type { DatasetPointer } from './pointer.js';
import type { Repo } from './repo.js';

/** Options of {@link Repo.log}. */
export interface LogOptions {
  /** Start here (default HEAD). */
  rev?: string;
  /** Only commits that changed this dataset. */
  dataset?: string;
  /** At most this many entries. */
  limit?: number;
  /** Follow only first parents (default false: every ancestor, newest first by committer date). */
  firstParent?: boolean;
}

/** One dataset's change in a commit. */
export interface LogDatasetChange {
  name: string;
  change: 'added' | 'removed' | 'modified';
  before?: DatasetPointer;
  after?: DatasetPointer;
}

/** A commit in the dataset log. */
export interface LogEntry {
  commit: GitCommit;
  datasets: LogDatasetChange[];
}

/**
 * The dataset log of a repository.
 * @example for (const { commit, datasets } of await datasetLog(repo, { limit: 5 })) …
 */
export async function datasetLog(repo: Repo, options: LogOptions = {}): Promise<LogEntry[]> {
  const git = await repo.git();
  const rev = options.rev ?? 'HEAD';
  if (rev === 'HEAD' && !(await git.head()).oid) return [];
  const start = await git.resolve(rev);
  const limit = options.limit ?? Infinity;
  const out: LogEntry[] = [];
  for await (const commit of walk(git, start, options.firstParent ?? false)) {
    if (out.length >= limit) break;
    const changes = await commitChanges(git, commit, options.dataset);
    if (changes.length > 0) out.push({ commit, datasets: changes });
  }
  return out;
}

/**
 * Dataset changes of a commit relative to its first parent (or to nothing for a root commit).
 * @example const changes = await commitChanges(git, await git.readCommit(oid))
 */
export async function commitChanges(git: GitRepo, commit: GitCommit, only?: string): Promise<LogDatasetChange[]> {
  const parent = commit.parents[0];
  const [mine, theirs] = await Promise.all([git.datasetsTreeAt(commit.oid), parent ? git.datasetsTreeAt(parent) : Promise.resolve(undefined)]);
  if (mine === theirs) return [];
  const a = parent ? await git.datasetBlobsAt(parent) : new Map<string, string>();
  const b = await git.datasetBlobsAt(commit.oid);
  const names = [...new Set([...a.keys(), ...b.keys()])].filter((n) => !only || n === only).sort();
  const out: LogDatasetChange[] = [];
  for (const name of names) {
    const x = a.get(name);
    const y = b.get(name);
    if (x === y) continue;
    const before = x ? await git.pointerBlob(x, `${parent!.slice(0, 12)}:${name}`) : undefined;
    const after = y ? await git.pointerBlob(y, `${commit.oid.slice(0, 12)}:${name}`) : undefined;
    out.push({ name, change: !before ? 'added' : !after ? 'removed' : 'modified', before, after });
  }
  return out;
}

/** Ancestors of `start`, newest first (committer date order; first parents only when asked). */
async function* walk(git: GitRepo, start: string, firstParent: boolean): AsyncGenerator<GitCommit> {
  if (firstParent) {
    yield* git.firstParents(start);
    return;
  }
  const seen = new Set<string>([start]);
  const queue: GitCommit[] = [await git.readCommit(start)];
  while (queue.length > 0) {
    // Newest committer date first, like git log's default order.
    let best = 0;
    for (let i = 1; i < queue.length; i++) if (queue[i]!.committer.timestamp > queue[best]!.committer.timestamp) best = i;
    const [c] = queue.splice(best, 1);
    yield c!;
    for (const p of c!.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      queue.push(await git.readCommit(p));
    }
  }
}

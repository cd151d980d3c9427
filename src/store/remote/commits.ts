/**
 * Dataset versions named by git history: the commits reachable from some tips (and not from some
 * others), and the dataset roots each of them points to. What push must upload for a branch, and
 * what the pre-push hook checks for the commits `git push` is about to publish.
 */
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import type { GitRepo } from '../../repo/git.js';
import { toHex } from '../../util/bytes.js';
import type { DatasetRoots } from './reachable.js';

/**
 * Commit ids reachable from `tips` (all parents), excluding every commit reachable from `exclude`
 * (ids not in the local object store exclude nothing).
 * @example const toPublish = await commitsBetween(git, [localOid], [remoteOid]);
 */
export async function commitsBetween(repo: GitRepo, tips: readonly string[], exclude: readonly string[] = []): Promise<string[]> {
  const excluded = new Set<string>();
  // A remote tip we never fetched is not in the local object store: nothing to exclude below it.
  await walk(repo, exclude.filter((oid) => /^[0-9a-f]{40}$/.test(oid) && !/^0+$/.test(oid)), excluded, () => true, true);
  const out: string[] = [];
  const seen = new Set<string>();
  await walk(
    repo,
    tips.filter((t) => !excluded.has(t)),
    seen,
    (oid) => {
      if (excluded.has(oid)) return false;
      out.push(oid);
      return true;
    },
    false,
  );
  return out;
}

async function walk(repo: GitRepo, starts: readonly string[], seen: Set<string>, visit: (oid: string) => boolean, tolerateMissing: boolean): Promise<void> {
  const stack = [...starts];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    if (!visit(oid)) continue;
    let parents: string[];
    try {
      parents = (await repo.readCommit(oid)).parents;
    } catch (err) {
      // Shallow clones and unfetched remote tips end the walk there.
      if (tolerateMissing || isShallow(repo)) continue;
      throw err;
    }
    for (const p of parents) if (!seen.has(p)) stack.push(p);
  }
}

function isShallow(repo: GitRepo): boolean {
  return fs.existsSync(`${repo.paths.commonDir}/shallow`);
}

/**
 * Distinct dataset roots (and schemas) pointed to by `commits`. Commits whose `.prolly/datasets`
 * tree was already seen add nothing, so long histories cost one tree read per commit.
 * @example const roots = await datasetRootsOf(repo, await commitsBetween(repo, [head]));
 */
export async function datasetRootsOf(repo: GitRepo, commits: readonly string[]): Promise<DatasetRoots[]> {
  const trees = new Set<string>();
  const blobs = new Set<string>();
  const out = new Map<string, DatasetRoots>();
  for (const oid of commits) {
    let tree: string | undefined;
    try {
      tree = await repo.datasetsTreeAt(oid);
    } catch {
      // A commit missing from a shallow clone: nothing to read there.
      continue;
    }
    if (!tree || trees.has(tree)) continue;
    trees.add(tree);
    for (const [name, blobOid] of await repo.datasetBlobsAt(oid)) {
      if (blobs.has(blobOid)) continue;
      blobs.add(blobOid);
      const p = await repo.pointerBlob(blobOid, `${oid.slice(0, 12)}:.prolly/datasets/${name}`);
      const key = toHex(p.root) + (p.schema ? toHex(p.schema) : '');
      if (!out.has(key)) out.set(key, { root: p.root, ...(p.schema ? { schema: p.schema } : {}) });
    }
  }
  return [...out.values()];
}

/**
 * Tips of every local branch and tag (and remote-tracking branch when `remotes` is set).
 * @example const tips = await allRefTips(repo)
 */
export async function allRefTips(repo: GitRepo, options: { remotes?: boolean } = {}): Promise<string[]> {
  const gitdir = repo.paths.commonDir;
  const tips = new Set<string>();
  const add = async (ref: string) => {
    try {
      const oid = await git.resolveRef({ fs, gitdir, ref });
      const { type, object } = await git.readObject({ fs, gitdir, oid, format: 'parsed' });
      if (type === 'commit') tips.add(oid);
      else if (type === 'tag') tips.add((object as { object: string }).object);
    } catch {
      /* dangling ref */
    }
  };
  for (const b of await git.listBranches({ fs, gitdir })) await add(`refs/heads/${b}`);
  for (const t of await git.listTags({ fs, gitdir })) await add(`refs/tags/${t}`);
  if (options.remotes) {
    for (const r of await git.listRemotes({ fs, gitdir })) {
      for (const b of await git.listBranches({ fs, gitdir, remote: r.remote })) if (b !== 'HEAD') await add(`refs/remotes/${r.remote}/${b}`);
    }
  }
  const head = (await repo.head()).oid;
  if (head) tips.add(head);
  return [...tips];
}

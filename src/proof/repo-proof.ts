/**
 * Proofs about a repository's datasets: the key or range proof of a dataset as of a commit, anchored to
 * that commit (docs/FORMAT.md, "Anchors") so one file proves "key K had value V in commit C". This is
 * the I/O side; checking stays in the pure verifier (./verify.ts, ./anchor.ts).
 */
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { unknownDataset } from '../dataset/dataset.js';
import { DATASETS_PATH } from '../repo/paths.js';
import type { GitRepo } from '../repo/git.js';
import type { Repo } from '../repo/repo.js';
import { ProllyTree } from '../tree/prolly-tree.js';
import { proveKey, proveRange } from './prove.js';
import type { GitCommitAnchor, KeyProof, RangeProof } from './types.js';

function rawObject(git: GitRepo, oid: string, type: string, what: string): Buffer {
  const obj = git.objects.read(oid);
  if (!obj) throw new ProllyError(ErrorCodes.GIT_STATE, `git object ${oid} (${what}) is missing`, { oid });
  if (obj.type !== type) throw new ProllyError(ErrorCodes.GIT_STATE, `git object ${oid} (${what}) is a ${obj.type}, expected a ${type}`, { oid });
  return obj.data;
}

/**
 * The `git-commit` anchor linking `commit` to the pointer file of `dataset`: the raw commit object and
 * the three tree objects down to `.prolly/datasets`, plus the pointer blob. ENODATASET when the
 * dataset does not exist at that commit.
 * @example const anchor = await buildCommitAnchor(await repo.git(), oid, 'users');
 */
export async function buildCommitAnchor(git: GitRepo, commit: string, dataset: string): Promise<GitCommitAnchor> {
  const commitObject = rawObject(git, commit, 'commit', `commit ${commit}`);
  const c = await git.readCommit(commit);
  const trees: Buffer[] = [rawObject(git, c.tree, 'tree', `tree of ${commit.slice(0, 12)}`)];
  let tree = c.tree;
  for (const name of DATASETS_PATH.split('/')) {
    const entry = (await git.readTree(tree)).find((e) => e.path === name);
    if (!entry || entry.type !== 'tree') throw unknownDataset(dataset, commit);
    tree = entry.oid;
    trees.push(rawObject(git, tree, 'tree', `${name} at ${commit.slice(0, 12)}`));
  }
  const file = (await git.readTree(tree)).find((e) => e.path === dataset);
  if (!file || file.type !== 'blob') throw unknownDataset(dataset, commit);
  const pointer = rawObject(git, file.oid, 'blob', `${DATASETS_PATH}/${dataset} at ${commit.slice(0, 12)}`);
  return {
    type: 'git-commit',
    commit,
    dataset,
    commitObject: commitObject.toString('base64'),
    trees: trees.map((t) => t.toString('base64')),
    pointer: pointer.toString('base64'),
  };
}

/** Options of {@link proveDataset}. */
export interface ProveDatasetOptions {
  dataset: string;
  /** Any git revision (default HEAD). */
  at?: string;
  /** Key proof (inclusion or absence) of this key … */
  key?: Uint8Array;
  /** … or a range proof of start ≤ key ≤ end (a missing bound is open). */
  range?: { start?: Uint8Array | null; end?: Uint8Array | null };
  /** Link the proof to the commit (default true). */
  anchor?: boolean;
}

/**
 * A proof about a dataset as of a commit, anchored to that commit unless `anchor: false`.
 * @example
 * const proof = await proveDataset(repo, { dataset: 'users', key: utf8('alice'), at: 'v1.0' });
 * verifyProof(proof, { commit: proof.anchor!.commit }).valid // true
 */
export async function proveDataset(repo: Repo, options: ProveDatasetOptions): Promise<KeyProof | RangeProof> {
  if ((options.key === undefined) === (options.range === undefined)) throw invalidArgument('prove a key or a range, not both or neither');
  const git = await repo.git();
  const rev = options.at ?? 'HEAD';
  const commit = await git.resolve(rev);
  const pointer = await git.pointerAt(commit, options.dataset);
  if (!pointer) throw unknownDataset(options.dataset, rev);
  const { nodes } = await repo.reader();
  const tree = await ProllyTree.open(nodes, pointer.root);
  const proof = options.key !== undefined ? await proveKey(tree, options.key) : await proveRange(tree, options.range!);
  if (options.anchor !== false) proof.anchor = await buildCommitAnchor(git, commit, options.dataset);
  return proof;
}

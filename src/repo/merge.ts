/**
 * Three-way merging of datasets (ARCHITECTURE.md decision 5 and 7).
 *
 * - {@link mergePointers}: the prolly merge of one dataset's base / ours / theirs pointers.
 * - {@link runMergeDriver}: what git's merge driver (`git-prolly merge-driver %O %A %B %P`) runs for a
 *   pointer file during `git merge`, `git stash pop`, `git rebase`, `git cherry-pick`: merged pointer
 *   into %A; unresolved same-key conflicts recorded for `git prolly conflicts` and reported to git.
 * - {@link resolveConflict}: settles one recorded conflict (`git prolly resolve`).
 * - {@link mergeRevision}: a whole merge without the git binary (the library's `repo.merge`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TreeValue } from '../blob/blob-ref.js';
import type { TreeAccess } from '../dataset/dataset.js';
import { unknownDataset } from '../dataset/dataset.js';
import { toTreeValue, type KeyInput } from '../dataset/values.js';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import type { Conflict, ConflictResolver, MergeStrategy } from '../tree/merge.js';
import { EMPTY_ROOT } from '../tree/node-store.js';
import { ProllyTree } from '../tree/prolly-tree.js';
import { writeFileAtomicSync } from '../util/atomic-file.js';
import { equalBytes, toHex, utf8 } from '../util/bytes.js';
import { readConflicts, saveRecord, writeConflicts } from './conflicts.js';
import { configuredSigner, writeCommit } from './commit.js';
import { cleanMessage, type GitRepo, type GitTreeEntry } from './git.js';
import { gitIdentity, readGitConfig } from './git-config.js';
import { indexEntryFor, readIndex, writeIndex, type IndexEntry } from './git-index.js';
import { DATASETS_PATH, pointerPath } from './paths.js';
import { formatPointer, parsePointer, samePointer, type DatasetPointer } from './pointer.js';
import type { Repo } from './repo.js';

/** How conflicts are settled: a built-in strategy, a callback, or undefined to leave them. */
export type ConflictPolicy = MergeStrategy | ConflictResolver | undefined;

/** Outcome of merging one dataset. */
export interface PointerMergeResult {
  pointer: DatasetPointer;
  conflicts: Conflict[];
  /** Edits applied on top of ours. */
  applied: number;
}

/**
 * Merge one dataset: `theirs` into `ours` relative to `base` (undefined base = the empty dataset).
 * Unresolved conflicts keep ours' value. Kind or schema differences cannot be merged key by key and
 * throw EMERGECONFLICT.
 * @example const { pointer, conflicts } = await mergePointers(access, { base, ours, theirs, policy: 'theirs', dataset: 'users' })
 */
export async function mergePointers(
  access: TreeAccess,
  options: { base: DatasetPointer | undefined; ours: DatasetPointer; theirs: DatasetPointer; policy?: ConflictPolicy; dataset: string },
): Promise<PointerMergeResult> {
  const { base, ours, theirs, dataset } = options;
  if (ours.kind !== theirs.kind || (base && base.kind !== ours.kind)) {
    throw new ProllyError(ErrorCodes.MERGE_CONFLICT, `dataset ${dataset}: cannot merge a ${ours.kind} with a ${theirs.kind}`, { dataset });
  }
  if (ours.schema && theirs.schema && !equalBytes(ours.schema, theirs.schema)) {
    const baseSchema = base?.schema;
    // One side changed the schema and the other did not: rows of the unchanged side were written for
    // the old schema, so a row-level merge would mix encodings. Refuse rather than corrupt.
    throw new ProllyError(
      ErrorCodes.MERGE_CONFLICT,
      `dataset ${dataset}: the table schema differs between the branches (${baseSchema && equalBytes(baseSchema, ours.schema) ? 'theirs' : baseSchema && equalBytes(baseSchema, theirs.schema) ? 'ours' : 'both'} changed it); merge the schema change first`,
      { dataset },
    );
  }
  const tree = await ProllyTree.open(access.nodes, ours.root);
  const baseTree = await ProllyTree.open(access.nodes, base ? base.root : EMPTY_ROOT.address);
  const theirsTree = await ProllyTree.open(access.nodes, theirs.root);
  const r = await tree.merge({ base: baseTree, theirs: theirsTree, resolve: options.policy });
  return { pointer: { ...ours, root: r.tree.root, count: r.tree.count }, conflicts: r.conflicts, applied: r.applied };
}

/** Exit status of the merge driver as git reads it: 0 merged cleanly, 1 conflicts left. */
export interface MergeDriverResult {
  dataset: string;
  conflicts: number;
  applied: number;
}

/**
 * The merge driver: read git's three temp files, merge, write the result into `oursFile` (%A), and
 * record conflicts. `strategy` comes from `git prolly merge --strategy` (via the environment).
 * @example await runMergeDriver(repo, { baseFile, oursFile, theirsFile, path: '.prolly/datasets/users' })
 */
export async function runMergeDriver(repo: Repo, options: { baseFile: string; oursFile: string; theirsFile: string; path: string; strategy?: MergeStrategy }): Promise<MergeDriverResult> {
  const dataset = options.path.split('/').pop()!;
  const read = (file: string, label: string) => {
    const text = readFileSync(file, 'utf8');
    return text.trim() === '' ? undefined : parsePointer(text, { file: `${options.path} (${label})` });
  };
  const base = read(options.baseFile, 'base');
  const ours = read(options.oursFile, 'ours');
  const theirs = read(options.theirsFile, 'theirs');
  if (!ours || !theirs) throw invalidArgument(`merge driver for ${options.path}: ours and theirs must both exist`);
  const access = await repo.writer();
  const result = await mergePointers(access, { base, ours, theirs, dataset, policy: options.strategy === 'fail' ? undefined : options.strategy });
  await access.nodes.flush();
  writeFileAtomicSync(options.oursFile, utf8(formatPointer(result.pointer)));
  if (options.strategy !== 'fail') {
    writeConflicts(repo.paths, {
      dataset,
      merged: result.pointer.root,
      base: base?.root ?? EMPTY_ROOT.address,
      ours: ours.root,
      theirs: theirs.root,
      conflicts: result.conflicts,
    });
  }
  return { dataset, conflicts: result.conflicts.length, applied: result.applied };
}

/** How to settle one conflict from the command line. */
export type ResolveChoice = 'ours' | 'theirs' | { value: Uint8Array | string } | 'delete';

/**
 * Settle the recorded conflict at `key`. When the dataset has none left, its pointer is staged
 * (`git add`) so `git status` shows the path resolved.
 * @example const { remaining } = await resolveConflict(repo, { dataset: 'users', key: 'alice', choice: 'theirs' })
 */
export async function resolveConflict(repo: Repo, options: { dataset: string; key: KeyInput; choice: ResolveChoice }): Promise<{ remaining: number; value: TreeValue | undefined }> {
  const keyHex = toHex(typeof options.key === 'string' ? utf8(options.key) : options.key);
  let remaining = 0;
  let chosen: TreeValue | undefined;
  await repo.write(options.dataset, async (access, current) => {
    if (!current) throw unknownDataset(options.dataset);
    const record = readConflicts(repo.paths, options.dataset, current);
    const index = record?.conflicts.findIndex((c) => c.key === keyHex) ?? -1;
    if (!record || index < 0) {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `no unresolved conflict at key ${JSON.stringify(typeof options.key === 'string' ? options.key : keyHex)} in dataset ${options.dataset} (see git prolly conflicts)`, {
        dataset: options.dataset,
        key: keyHex,
      });
    }
    const c = record.conflicts[index]!;
    const { decodeStoredValue } = await import('./conflicts.js');
    const choice = options.choice;
    if (choice === 'ours') chosen = decodeStoredValue(c.ours);
    else if (choice === 'theirs') chosen = decodeStoredValue(c.theirs);
    else if (choice === 'delete') chosen = undefined;
    else chosen = await toTreeValue(access.store, choice.value);
    const tree = await ProllyTree.open(access.nodes, current.root);
    const next = await tree.mutate([{ key: Buffer.from(keyHex, 'hex'), value: chosen ?? null }]);
    record.conflicts.splice(index, 1);
    record.merged = toHex(next.root);
    remaining = record.conflicts.length;
    const pointer = { ...current, root: next.root, count: next.count };
    // The pointer is written after this returns; record first so a crash between leaves a stale
    // (ignored) record rather than a resolved key listed again.
    saveRecord(repo.paths, record);
    return { pointer, result: undefined };
  });
  if (remaining === 0) await stagePaths(repo, [pointerPath(options.dataset)]);
  return { remaining, value: chosen };
}

/**
 * Stage work-tree files (like `git add <paths>`): their blobs are written and their index entries,
 * all stages, replaced by one stage-0 entry. Missing files are removed from the index.
 * @example await stagePaths(repo, ['.prolly/datasets/users'])
 */
export async function stagePaths(repo: Repo, relPaths: string[]): Promise<void> {
  const git = await repo.git();
  const entries: IndexEntry[] = [];
  for (const rel of relPaths) {
    const file = join(repo.paths.workTree, rel);
    if (!existsSync(file)) continue;
    const oid = await git.writeBlob(readFileSync(file));
    entries.push(indexEntryFor({ path: rel, oid, stat: statSync(file, { bigint: true }) }));
  }
  const index = readIndex(repo.paths.gitDir);
  const drop = new Set(relPaths);
  writeIndex(repo.paths.gitDir, { version: index.version, entries: [...index.entries.filter((e) => !drop.has(e.path)), ...entries] });
}

// --------------------------------------------------------------------------- library merge

/** Options of {@link Repo.merge}. */
export interface RepoMergeOptions {
  /** The revision to merge into the current branch. */
  rev: string;
  /** How same-key conflicts are settled; without one, a conflict aborts the merge (nothing changes). */
  strategy?: MergeStrategy;
  /** A per-conflict callback (overrides `strategy`). */
  resolve?: ConflictResolver;
  /** Merge commit message (default "Merge <rev> into <branch>"). */
  message?: string;
}

/** What {@link Repo.merge} did. */
export interface RepoMergeResult {
  /** The commit HEAD now points to. */
  oid: string;
  /** 'up-to-date': rev was already merged; 'fast-forward'; 'merge': a merge commit was made. */
  kind: 'up-to-date' | 'fast-forward' | 'merge';
  /** Datasets whose pointer changed in the work tree. */
  datasets: string[];
}

/**
 * Merge `rev` into the current branch without the git binary: isomorphic-git merges the commit
 * trees, with the prolly three-way merge for pointer files; then the branch moves and the changed
 * paths are written to the work tree and index. All or nothing: a conflict (or a local change in the
 * way) throws before anything visible changes.
 * @example const { kind } = await mergeRevision(repo, { rev: 'feature', strategy: 'theirs' })
 */
export async function mergeRevision(repo: Repo, options: RepoMergeOptions): Promise<RepoMergeResult> {
  await repo.acquireLock();
  const git = await repo.git();
  const { paths } = repo;
  if (existsSync(join(paths.gitDir, 'MERGE_HEAD'))) throw new ProllyError(ErrorCodes.GIT_STATE, 'a merge is already in progress (MERGE_HEAD exists); conclude or abort it first');
  const head = await git.head();
  if (!head.ref || !head.oid) throw new ProllyError(ErrorCodes.GIT_STATE, 'merging needs a current branch with at least one commit (HEAD is detached or unborn)');
  const theirs = await git.resolve(options.rev);
  const headCommit = await git.readCommit(head.oid);

  // Datasets must be committed: the merge works on commits, and would otherwise drop local edits.
  const atHead = await git.datasetBlobsAt(head.oid);
  for (const { name, pointer } of await repo.datasets()) {
    const committed = atHead.get(name);
    if (!committed || !samePointer(await git.pointerBlob(committed, name), pointer)) {
      throw new ProllyError(ErrorCodes.GIT_STATE, `dataset ${name} has uncommitted changes; commit or restore them before merging`, { dataset: name });
    }
  }

  const bases = await git.mergeBases(head.oid, theirs);
  if (bases.includes(theirs)) return { oid: head.oid, kind: 'up-to-date', datasets: [] };
  const config = readGitConfig(paths);
  const author = gitIdentity({ role: 'author', config });
  const committer = gitIdentity({ role: 'committer', config });
  let newTree: string;
  let newOid: string;
  let kind: RepoMergeResult['kind'];
  if (bases.includes(head.oid)) {
    newOid = theirs;
    newTree = (await git.readCommit(theirs)).tree;
    kind = 'fast-forward';
  } else {
    const access = await repo.writer();
    const policy: ConflictPolicy = options.resolve ?? options.strategy;
    const conflicts: string[] = [];
    const isoGit = (await import('isomorphic-git')).default;
    const fs = await import('node:fs');
    const message = cleanMessage(options.message ?? `Merge ${options.rev} into ${head.ref.replace(/^refs\/heads\//, '')}`);
    let tree: string | undefined;
    try {
      const r = await isoGit.merge({
        fs,
        dir: paths.workTree,
        gitdir: paths.commonDir,
        ours: head.ref,
        theirs,
        author,
        committer,
        message,
        noUpdateBranch: true,
        abortOnConflict: true,
        mergeDriver: async ({ contents, path }) => {
          const [b, o, t] = contents as [string, string, string];
          if (!o.startsWith('prolly-dataset ') || !t.startsWith('prolly-dataset ')) {
            conflicts.push(`${path}: both sides changed a file that is not a dataset (use git merge for text merges)`);
            return { cleanMerge: false, mergedText: o };
          }
          const base = b.trim() === '' ? undefined : parsePointer(b, { file: `${path} (base)` });
          const result = await mergePointers(access, { base, ours: parsePointer(o, { file: `${path} (ours)` }), theirs: parsePointer(t, { file: `${path} (theirs)` }), policy: policy === 'fail' ? 'fail' : policy, dataset: path });
          for (const c of result.conflicts) conflicts.push(`${path}: key ${describeKey(c.key)}`);
          return { cleanMerge: result.conflicts.length === 0, mergedText: formatPointer(result.pointer) };
        },
      });
      tree = (r as { tree?: string }).tree;
    } catch (err) {
      if (err instanceof ProllyError) throw err;
      const name = (err as { code?: string }).code;
      if (name === 'MergeConflictError' || conflicts.length > 0) {
        throw new ProllyError(ErrorCodes.MERGE_CONFLICT, `merge of ${options.rev} has conflicts (nothing was changed): ${conflicts.slice(0, 10).join('; ')}${conflicts.length > 10 ? '; …' : ''}`, { conflicts });
      }
      if (name === 'MergeNotSupportedError') {
        throw new ProllyError(ErrorCodes.GIT_STATE, `merge of ${options.rev} needs git's recursive merge or an add/add resolution that this merge does not do; use git prolly merge (git binary) instead`);
      }
      throw err;
    }
    await access.nodes.flush();
    if (!tree) throw new ProllyError(ErrorCodes.GIT_STATE, `merge of ${options.rev} produced no tree`);
    newTree = tree;
    newOid = await writeCommit(git, { tree, parents: [head.oid, theirs], author, committer, message, sign: configuredSigner(repo) });
    kind = 'merge';
  }

  // Check the paths the merge changes are clean in the index and work tree, then move the branch and
  // update them.
  const changes = await changedPaths(git, headCommit.tree, newTree, '');
  const index = readIndex(paths.gitDir);
  const byPath = new Map(index.entries.map((e) => [e.path, e]));
  for (const c of changes) {
    const entry = byPath.get(c.path);
    if ((entry?.oid ?? undefined) !== c.from || (entry && entry.stage !== 0)) {
      throw new ProllyError(ErrorCodes.GIT_STATE, `your staged changes to ${c.path} would be overwritten by the merge; commit or unstage them first`, { path: c.path });
    }
    const file = join(paths.workTree, c.path);
    const onDisk = existsSync(file) ? await git.hashBlob(readFileSync(file)) : undefined;
    if (onDisk !== c.from) throw new ProllyError(ErrorCodes.GIT_STATE, `your local changes to ${c.path} would be overwritten by the merge; commit or stash them first`, { path: c.path });
  }
  await git.updateRef({ ref: head.ref, newOid, expectedOld: head.oid, message: kind === 'fast-forward' ? `merge ${options.rev}: Fast-forward` : `merge ${options.rev}: Merge made by git-prolly.`, identity: committer, alsoHead: true });
  const { mkdirSync, unlinkSync, statSync: stat } = await import('node:fs');
  const { dirname } = await import('node:path');
  const newEntries: IndexEntry[] = [];
  for (const c of changes) {
    const file = join(paths.workTree, c.path);
    if (c.to === undefined) {
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
      continue;
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomicSync(file, await git.readBlob(c.to), { mode: c.mode === '100755' ? 0o755 : 0o644 });
    newEntries.push({ ...indexEntryFor({ path: c.path, oid: c.to, stat: stat(file, { bigint: true }) }), mode: parseInt(c.mode, 8) });
  }
  const changed = new Set(changes.map((c) => c.path));
  const fresh = readIndex(paths.gitDir);
  writeIndex(paths.gitDir, { version: fresh.version, entries: [...fresh.entries.filter((e) => !changed.has(e.path)), ...newEntries] });
  const datasets = changes.filter((c) => c.path.startsWith(`${DATASETS_PATH}/`)).map((c) => c.path.slice(DATASETS_PATH.length + 1));
  return { oid: newOid, kind, datasets };
}

/** Blob-level differences between two trees (paths of files added, removed or changed). */
async function changedPaths(git: GitRepo, from: string | undefined, to: string | undefined, prefix: string): Promise<{ path: string; from?: string; to?: string; mode: string }[]> {
  if (from === to) return [];
  const a = from ? await git.readTree(from) : [];
  const b = to ? await git.readTree(to) : [];
  const map = (es: GitTreeEntry[]) => new Map(es.map((e) => [e.path, e]));
  const ma = map(a);
  const mb = map(b);
  const out: { path: string; from?: string; to?: string; mode: string }[] = [];
  for (const name of new Set([...ma.keys(), ...mb.keys()])) {
    const x = ma.get(name);
    const y = mb.get(name);
    if (x && y && x.oid === y.oid && x.mode === y.mode) continue;
    const path = prefix + name;
    const xt = x?.type === 'tree' ? x.oid : undefined;
    const yt = y?.type === 'tree' ? y.oid : undefined;
    if (xt || yt) out.push(...(await changedPaths(git, xt, yt, `${path}/`)));
    const xb = x && x.type !== 'tree' ? x : undefined;
    const yb = y && y.type !== 'tree' ? y : undefined;
    if (xb || yb) out.push({ path, from: xb?.oid, to: yb?.oid, mode: yb?.mode ?? xb!.mode });
  }
  return out;
}

function describeKey(key: Uint8Array): string {
  const text = Buffer.from(key).toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${toHex(key)}`;
}

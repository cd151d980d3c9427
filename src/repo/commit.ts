/**
 * `git prolly commit`: commit only the `.prolly/` directory. The new commit's tree is HEAD's tree with
 * the `.prolly` subtree replaced by the work tree's `.prolly/` files; then the branch moves and only
 * the index entries under `.prolly/` are rewritten — anything else the user staged stays staged and
 * uncommitted, exactly as it was.
 *
 * During a merge (MERGE_HEAD present) the commit is the merge commit instead: the index — with the
 * `.prolly/` entries taken from the work tree, which settles their conflict stages — becomes the
 * tree, and MERGE_HEAD is a parent, as `git commit` would do.
 *
 * Every commit goes through {@link writeCommit}, the one place signing plugs in.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, ProllyError } from '../errors.js';
import { TEMP_MARKER } from '../util/atomic-file.js';
import { listConflicts } from './conflicts.js';
import { cleanMessage, type GitRepo, type GitTreeEntry } from './git.js';
import { gitIdentity, readGitConfig, type GitIdentity } from './git-config.js';
import { indexEntryFor, readIndex, writeIndex, type IndexEntry } from './git-index.js';
import { PROLLY_DIR } from './paths.js';
import type { Repo } from './repo.js';

/** Options of {@link Repo.commit}. */
export interface CommitOptions {
  message: string;
  /**
   * Sign the commit: receives the unsigned commit text, returns an armored signature (SSHSIG) for
   * the `gpgsig` header. Default: sign with `[security] signing_key` when `sign_commits = true`.
   */
  sign?: (payload: string) => string | Promise<string>;
  /** Commit even when `.prolly/` did not change (default false: nothing to commit → no commit). */
  allowEmpty?: boolean;
}

/** What a commit did. */
export interface CommitResult {
  /** The new commit, or undefined when there was nothing to commit. */
  oid?: string;
  /** The branch that moved (`refs/heads/…`), undefined on a detached HEAD. */
  branch?: string;
  /** Datasets whose pointer differs from the parent commit. */
  datasets: string[];
  /** True when this commit concluded a merge. */
  merge: boolean;
}

/** A file under `.prolly/` in the work tree. */
interface WorkFile {
  /** Path relative to the work tree root, `/`-separated. */
  path: string;
  bytes: Uint8Array;
  mode: '100644' | '100755';
}

/**
 * Commit the `.prolly/` directory on the current branch.
 * @example const { oid } = await commitDatasets(repo, { message: 'import users' })
 */
export async function commitDatasets(repo: Repo, options: CommitOptions): Promise<CommitResult> {
  const message = cleanMessage(options.message);
  await repo.acquireLock();
  const git = await repo.git();
  const { paths } = repo;

  const unresolved = listConflicts(repo).filter((c) => c.conflicts.length > 0);
  if (unresolved.length > 0) {
    const list = unresolved.map((c) => `${c.dataset} (${c.conflicts.length})`).join(', ');
    throw new ProllyError(ErrorCodes.MERGE_CONFLICT, `unresolved conflicts in ${list}: settle them with git prolly resolve (see git prolly conflicts)`, {
      datasets: unresolved.map((c) => c.dataset),
    });
  }

  const head = await git.head();
  const mergeHeads = readMergeHeads(paths.gitDir);
  const files = collectWorkFiles(paths.workTree);
  const blobOids = new Map<string, string>();
  for (const f of files) blobOids.set(f.path, await git.writeBlob(f.bytes));

  let index = readIndex(paths.gitDir);
  const isProlly = (p: string) => p === PROLLY_DIR || p.startsWith(`${PROLLY_DIR}/`);
  const prollyEntries: IndexEntry[] = files.map((f) => ({ ...indexEntryFor({ path: f.path, oid: blobOids.get(f.path)!, stat: statSync(join(paths.workTree, f.path), { bigint: true }) }), mode: parseInt(f.mode, 8) }));
  const newIndex = { version: index.version, entries: [...index.entries.filter((e) => !isProlly(e.path)), ...prollyEntries] };

  const headCommit = head.oid ? await git.readCommit(head.oid) : undefined;
  let tree: string;
  if (mergeHeads.length > 0) {
    const unmerged = [...new Set(newIndex.entries.filter((e) => e.stage !== 0).map((e) => e.path))];
    if (unmerged.length > 0) {
      throw new ProllyError(ErrorCodes.GIT_STATE, `cannot commit the merge: unmerged paths outside .prolly/: ${unmerged.slice(0, 5).join(', ')}${unmerged.length > 5 ? ', …' : ''} (resolve them and git add)`, { paths: unmerged });
    }
    tree = await treeFromIndex(git, newIndex.entries);
  } else {
    const prollyTree = await treeFromFiles(git, files.map((f) => ({ path: f.path.slice(PROLLY_DIR.length + 1), oid: blobOids.get(f.path)!, mode: f.mode })));
    const base = headCommit ? (await git.readTree(headCommit.tree)).filter((e) => e.path !== PROLLY_DIR) : [];
    if (prollyTree) base.push({ mode: '040000', path: PROLLY_DIR, oid: prollyTree, type: 'tree' });
    tree = await git.writeTree(sortTree(base));
  }

  const changed = await changedDatasets(git, headCommit?.tree, tree);
  if (mergeHeads.length === 0 && headCommit && headCommit.tree === tree && !options.allowEmpty) {
    return { branch: head.ref, datasets: [], merge: false };
  }

  const config = readGitConfig(paths);
  const author = gitIdentity({ role: 'author', config });
  const committer = gitIdentity({ role: 'committer', config });
  const parents = [...(head.oid ? [head.oid] : []), ...mergeHeads];
  const sign = options.sign ?? configuredSigner(repo);
  const oid = await writeCommit(git, { tree, parents, author, committer, message, sign });

  const kind = mergeHeads.length > 0 ? 'commit (merge)' : head.oid ? 'commit' : 'commit (initial)';
  await git.updateRef({
    ref: head.ref ?? 'HEAD',
    newOid: oid,
    expectedOld: head.oid,
    message: `${kind}: ${message.split('\n')[0]}`,
    identity: committer,
    alsoHead: head.ref !== undefined,
  });

  // Re-read the index: a git command may have changed it while we wrote objects; we only touch .prolly/.
  index = readIndex(paths.gitDir);
  writeIndex(paths.gitDir, { version: index.version, entries: [...index.entries.filter((e) => !isProlly(e.path)), ...prollyEntries] });
  if (mergeHeads.length > 0) {
    for (const f of ['MERGE_HEAD', 'MERGE_MSG', 'MERGE_MODE', 'AUTO_MERGE']) {
      try {
        unlinkSync(join(paths.gitDir, f));
      } catch {
        /* absent */
      }
    }
  }
  return { oid, branch: head.ref, datasets: changed, merge: mergeHeads.length > 0 };
}

/**
 * Write a commit object — the single path every git-prolly commit takes, so signing is applied in
 * one place.
 * @example const oid = await writeCommit(git, { tree, parents: [head], author, committer: author, message: 'msg\n' })
 */
export async function writeCommit(
  git: GitRepo,
  commit: { tree: string; parents: string[]; author: GitIdentity; committer: GitIdentity; message: string; sign?: (payload: string) => string | Promise<string> },
): Promise<string> {
  return git.writeCommitObject(commit);
}

/**
 * Absolute path of a signing-key setting: `~/` is the home directory, a relative path is taken from
 * the work tree root (where `.prolly/config.toml` lives).
 * @example signingKeyPath(repo, '~/.ssh/id_ed25519') // '/home/me/.ssh/id_ed25519'
 */
export function signingKeyPath(repo: Pick<Repo, 'paths'>, setting: string): string {
  return setting.startsWith('~/') ? join(homedir(), setting.slice(2)) : resolve(repo.paths.workTree, setting);
}

/**
 * A commit signer for an unencrypted OpenSSH Ed25519 private key file: SSHSIG, namespace "git", as
 * `git verify-commit` expects. The key is read on first use (EKEYENCRYPTED / EBADKEY name the file).
 * @example await repo.commit({ message: 'm', sign: keyFileSigner('/home/me/.ssh/id_ed25519') })
 */
export function keyFileSigner(keyPath: string): (payload: string) => Promise<string> {
  let key: Promise<import('../sign/ssh-key.js').SshEd25519PrivateKey> | undefined;
  return async (payload) => {
    const { readOpenSshPrivateKeyFile, signCommitPayload } = await import('../sign/index.js');
    key ??= readOpenSshPrivateKeyFile(keyPath);
    return signCommitPayload({ payload, privateKey: await key });
  };
}

/**
 * The signer `[security]` configures (sign_commits = true with signing_key), or undefined when
 * commits are not signed. EBADCONFIG when sign_commits is on without a key.
 * @example const sign = configuredSigner(repo); // pass to writeCommit
 */
export function configuredSigner(repo: Repo): ((payload: string) => Promise<string>) | undefined {
  const { sign_commits, signing_key } = repo.config.security;
  if (!sign_commits) return undefined;
  if (!signing_key) {
    throw new ProllyError(ErrorCodes.BAD_CONFIG, '[security] sign_commits = true needs signing_key (path of an SSH Ed25519 private key)', { key: 'security.signing_key' });
  }
  return keyFileSigner(signingKeyPath(repo, signing_key));
}

function readMergeHeads(gitDir: string): string[] {
  const file = join(gitDir, 'MERGE_HEAD');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[0-9a-f]{40}$/.test(l));
}

/** Regular files under `.prolly/`, skipping temp files of interrupted atomic writes. */
function collectWorkFiles(workTree: string): WorkFile[] {
  const out: WorkFile[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(workTree, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      if (name.includes(TEMP_MARKER)) continue;
      const path = `${rel}/${name}`;
      const st = lstatSync(join(workTree, path));
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) out.push({ path, bytes: readFileSync(join(workTree, path)), mode: st.mode & 0o111 ? '100755' : '100644' });
    }
  };
  walk(PROLLY_DIR);
  return out;
}

/** Write the trees for files given by paths relative to the tree's root; undefined when there are none. */
async function treeFromFiles(git: GitRepo, files: { path: string; oid: string; mode: string }[]): Promise<string | undefined> {
  if (files.length === 0) return undefined;
  const here: GitTreeEntry[] = [];
  const sub = new Map<string, { path: string; oid: string; mode: string }[]>();
  for (const f of files) {
    const slash = f.path.indexOf('/');
    if (slash < 0) here.push({ mode: f.mode, path: f.path, oid: f.oid, type: f.mode === '160000' ? 'commit' : 'blob' });
    else {
      const dir = f.path.slice(0, slash);
      const list = sub.get(dir) ?? [];
      list.push({ ...f, path: f.path.slice(slash + 1) });
      sub.set(dir, list);
    }
  }
  for (const [dir, list] of sub) {
    const oid = await treeFromFiles(git, list);
    if (oid) here.push({ mode: '040000', path: dir, oid, type: 'tree' });
  }
  return git.writeTree(sortTree(here));
}

/** The tree of a whole (conflict-free) index. */
async function treeFromIndex(git: GitRepo, entries: IndexEntry[]): Promise<string> {
  const files = entries.filter((e) => e.stage === 0).map((e) => ({ path: e.path, oid: e.oid, mode: e.mode.toString(8).padStart(6, '0') }));
  return (await treeFromFiles(git, files)) ?? (await git.writeTree([]));
}

/** git's tree order: by name, with directories compared as if their name ended in "/". */
function sortTree(entries: GitTreeEntry[]): GitTreeEntry[] {
  const keyOf = (e: GitTreeEntry) => Buffer.from(e.type === 'tree' ? `${e.path}/` : e.path);
  return entries.sort((a, b) => Buffer.compare(keyOf(a), keyOf(b)));
}

/** Names of datasets whose pointer blob differs between two root trees. */
async function changedDatasets(git: GitRepo, fromTree: string | undefined, toTree: string): Promise<string[]> {
  const read = async (tree: string | undefined) => {
    const out = new Map<string, string>();
    if (!tree) return out;
    const dir = await git.entryAt(tree, `${PROLLY_DIR}/datasets`);
    if (dir?.type === 'tree') for (const e of await git.readTree(dir.oid)) out.set(e.path, e.oid);
    return out;
  };
  const a = await read(fromTree);
  const b = await read(toTree);
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => a.get(n) !== b.get(n)).sort();
}

/**
 * Git object and ref work without the git binary (ARCHITECTURE.md decision 7): revision parsing,
 * reading pointer files at a commit, writing blobs/trees/commits, and updating refs under git's
 * `.lock` protocol with a reflog entry, as `git commit` would.
 *
 * Objects and refs go through the small synchronous reader in git-objects.ts; isomorphic-git is
 * imported only for the rarer operations (merge bases, abbreviated ids), because importing it costs
 * more than a whole `git prolly commit` may take.
 */
import * as fs from 'node:fs';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, ProllyError } from '../errors.js';
import { replaceUnderGitLock } from '../util/atomic-file.js';
import { encodeTree, ObjectDb, parseCommit, parseTagTarget, parseTree, resolveFullRef, resolveRefName } from './git-objects.js';
import { configValue, readGitConfig, type GitIdentity } from './git-config.js';
import { DATASETS_PATH, type RepoPaths } from './paths.js';
import { parsePointer, type DatasetPointer } from './pointer.js';

/** A tree entry as isomorphic-git models it. */
export interface GitTreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

/** A parsed commit. */
export interface GitCommit {
  oid: string;
  tree: string;
  parents: string[];
  message: string;
  author: GitIdentity;
  committer: GitIdentity;
}

/** Where HEAD points: a branch (`refs/heads/…`) and/or a commit (absent on an unborn branch). */
export interface HeadState {
  /** Full ref name when HEAD is symbolic, undefined when detached. */
  ref?: string;
  /** The commit HEAD resolves to, undefined on an unborn branch. */
  oid?: string;
}

const ZERO_OID = '0000000000000000000000000000000000000000';

/**
 * Git access for one repository.
 * @example
 * const g = new GitRepo(findRepo({ dir: '.' }));
 * const oid = await g.resolve('HEAD~1');
 * const pointer = await g.pointerAt(oid, 'users');
 */
export class GitRepo {
  readonly paths: RepoPaths;
  /** The object database (loose objects, packs, alternates). */
  readonly objects: ObjectDb;
  /** isomorphic-git's object cache, for the calls that go through it. */
  private readonly cache = {};

  constructor(paths: RepoPaths) {
    this.paths = paths;
    this.objects = new ObjectDb(join(paths.commonDir, 'objects'));
  }

  private async iso() {
    const git = (await import('isomorphic-git')).default;
    return { git, base: { fs, dir: this.paths.workTree, gitdir: this.paths.commonDir, cache: this.cache } };
  }

  private readObject(oid: string, expect?: string): { type: string; data: Buffer } {
    const obj = this.objects.read(oid);
    if (!obj) throw new ProllyError(ErrorCodes.GIT_STATE, `git object ${oid} is missing from ${join(this.paths.commonDir, 'objects')}`, { oid });
    if (expect && obj.type !== expect) throw new ProllyError(ErrorCodes.GIT_STATE, `git object ${oid} is a ${obj.type}, expected a ${expect}`, { oid });
    return obj;
  }

  /** Where HEAD points. */
  async head(): Promise<HeadState> {
    const text = readFileSync(join(this.paths.gitDir, 'HEAD'), 'utf8').trim();
    if (text.startsWith('ref: ')) {
      const ref = text.slice(5).trim();
      return { ref, oid: await this.resolveRefOrUndefined(ref) };
    }
    if (/^[0-9a-f]{40}$/.test(text)) return { oid: text };
    throw new ProllyError(ErrorCodes.GIT_STATE, `cannot parse ${join(this.paths.gitDir, 'HEAD')}: ${JSON.stringify(text.slice(0, 60))}`);
  }

  /** The commit HEAD points to; EBADREV on an unborn branch. */
  async headCommit(): Promise<string> {
    return this.resolve('HEAD');
  }

  private async resolveRefOrUndefined(ref: string): Promise<string | undefined> {
    return ref.startsWith('refs/') || ref === 'HEAD' ? resolveFullRef(this.paths, ref) : resolveRefName(this.paths, ref);
  }

  /**
   * Resolve a revision to a commit id: `HEAD`, `@`, branch/tag/remote names, `refs/…`, full or
   * abbreviated ids, `MERGE_HEAD`-style names, each followed by any of `~N`, `^N`, `~`, `^`.
   * EBADREV naming the revision when it does not resolve.
   */
  async resolve(rev: string): Promise<string> {
    const m = /^(.*?)((?:[~^]\d*)*)$/.exec(rev.trim());
    const bad = (why: string) => new ProllyError(ErrorCodes.UNKNOWN_REVISION, `unknown revision ${JSON.stringify(rev)}: ${why}`, { rev });
    if (!m || m[1] === '' || /[\s:@{}]/.test(m[1]!.replace(/^@$/, 'HEAD'))) throw bad('not a revision this tool understands (use a name, an id, and ~N / ^N)');
    const base = m[1] === '@' ? 'HEAD' : m[1]!;
    let oid: string | undefined;
    if (base === 'HEAD') {
      oid = (await this.head()).oid;
      if (!oid) throw bad('HEAD has no commits yet');
    } else {
      for (const file of [base, `${base}`].filter((f) => /^[A-Z_]+$/.test(f))) {
        // MERGE_HEAD, ORIG_HEAD, FETCH_HEAD… live in the work tree's git directory.
        try {
          const first = readFileSync(join(this.paths.gitDir, file), 'utf8').split('\n')[0]!.trim().slice(0, 40);
          if (/^[0-9a-f]{40}$/.test(first)) oid = first;
        } catch {
          /* not there */
        }
      }
      oid ??= await this.resolveRefOrUndefined(base);
      if (!oid && /^[0-9a-f]{4,40}$/.test(base)) {
        if (base.length === 40 && this.objects.has(base)) oid = base;
        else {
          try {
            const { git, base: b } = await this.iso();
            oid = await git.expandOid({ ...b, oid: base });
          } catch {
            oid = undefined;
          }
        }
      }
      if (!oid) throw bad('no such branch, tag or commit');
    }
    oid = await this.peelToCommit(oid, rev);
    for (const step of m[2]!.matchAll(/([~^])(\d*)/g)) {
      const n = step[2] === '' ? 1 : Number(step[2]);
      if (step[1] === '~') {
        for (let i = 0; i < n; i++) {
          const c = await this.readCommit(oid);
          if (c.parents.length === 0) throw bad(`${oid.slice(0, 12)} has no parent`);
          oid = c.parents[0]!;
        }
      } else if (n > 0) {
        const c = await this.readCommit(oid);
        if (c.parents.length < n) throw bad(`${oid.slice(0, 12)} has no parent ${n}`);
        oid = c.parents[n - 1]!;
      }
    }
    return oid;
  }

  /** Follow annotated tags down to the commit. */
  private async peelToCommit(oid: string, rev: string): Promise<string> {
    for (let depth = 0; depth < 10; depth++) {
      const obj = this.objects.read(oid);
      if (!obj) throw new ProllyError(ErrorCodes.UNKNOWN_REVISION, `revision ${JSON.stringify(rev)}: object ${oid} is missing`, { rev });
      const type = obj.type;
      if (type === 'commit') return oid;
      if (type === 'tag') {
        const target = parseTagTarget(obj.data);
        if (!target) break;
        oid = target;
        continue;
      }
      throw new ProllyError(ErrorCodes.UNKNOWN_REVISION, `revision ${JSON.stringify(rev)} names a ${type}, not a commit`, { rev });
    }
    throw new ProllyError(ErrorCodes.UNKNOWN_REVISION, `revision ${JSON.stringify(rev)}: tag chain too deep`, { rev });
  }

  /** Read and parse a commit. */
  async readCommit(oid: string): Promise<GitCommit> {
    const c = parseCommit(this.readObject(oid, 'commit').data);
    return { oid, tree: c.tree, parents: c.parents, message: c.message, author: c.author, committer: c.committer };
  }

  /** Entries of a tree object. */
  async readTree(oid: string): Promise<GitTreeEntry[]> {
    return parseTree(this.readObject(oid, 'tree').data);
  }

  /** The entry at `path` (`a/b/c`) under tree `treeOid`, or undefined. */
  async entryAt(treeOid: string, path: string): Promise<GitTreeEntry | undefined> {
    let entry: GitTreeEntry | undefined = { mode: '040000', path: '', oid: treeOid, type: 'tree' };
    for (const part of path.split('/')) {
      if (!entry || entry.type !== 'tree') return undefined;
      entry = (await this.readTree(entry.oid)).find((e) => e.path === part);
    }
    return entry;
  }

  /** Bytes of a blob. */
  async readBlob(oid: string): Promise<Uint8Array> {
    return this.readObject(oid, 'blob').data;
  }

  /** Dataset pointer blob ids at a commit, by dataset name. */
  async datasetBlobsAt(commitOid: string): Promise<Map<string, string>> {
    const commit = await this.readCommit(commitOid);
    const dir = await this.entryAt(commit.tree, DATASETS_PATH);
    const out = new Map<string, string>();
    if (!dir || dir.type !== 'tree') return out;
    for (const e of await this.readTree(dir.oid)) if (e.type === 'blob') out.set(e.path, e.oid);
    return out;
  }

  /** The tree id of `.prolly/datasets` at a commit (undefined when absent): equal ids mean no dataset changed. */
  async datasetsTreeAt(commitOid: string): Promise<string | undefined> {
    const commit = await this.readCommit(commitOid);
    return (await this.entryAt(commit.tree, DATASETS_PATH))?.oid;
  }

  /** A dataset's pointer at a commit, or undefined when the dataset does not exist there. */
  async pointerAt(commitOid: string, name: string): Promise<DatasetPointer | undefined> {
    const commit = await this.readCommit(commitOid);
    const entry = await this.entryAt(commit.tree, `${DATASETS_PATH}/${name}`);
    if (!entry || entry.type !== 'blob') return undefined;
    return this.pointerBlob(entry.oid, `${commitOid.slice(0, 12)}:${DATASETS_PATH}/${name}`);
  }

  /** Parse a pointer blob. */
  async pointerBlob(blobOid: string, label: string): Promise<DatasetPointer> {
    return parsePointer(Buffer.from(await this.readBlob(blobOid)).toString('utf8'), { file: label });
  }

  /** The blob id `bytes` would have, without writing anything. */
  async hashBlob(bytes: Uint8Array): Promise<string> {
    const { createHash } = await import('node:crypto');
    return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
  }

  async writeBlob(bytes: Uint8Array): Promise<string> {
    return this.objects.write('blob', bytes);
  }

  /** Write a tree; entries must be in git's order (see sortTree in commit.ts). */
  async writeTree(entries: GitTreeEntry[]): Promise<string> {
    return this.objects.write('tree', encodeTree(entries));
  }

  /**
   * Write a commit object. `sign` receives the unsigned commit text (exactly what git verifies) and
   * returns an armored signature, stored in the `gpgsig` header — the hook src/sign plugs into.
   */
  async writeCommitObject(c: CommitFields & { sign?: (payload: string) => string | Promise<string> }): Promise<string> {
    const payload = renderCommit(c);
    let text = payload;
    if (c.sign) {
      const signature = (await c.sign(payload)).replace(/\n$/, '');
      const headerEnd = payload.indexOf('\n\n');
      text = `${payload.slice(0, headerEnd)}\ngpgsig ${signature.split('\n').join('\n ')}${payload.slice(headerEnd)}`;
    }
    return this.objects.write('commit', Buffer.from(text, 'utf8'));
  }

  /**
   * Move `ref` from `expectedOld` (undefined: must not exist yet) to `newOid` under `<ref>.lock`, and
   * append reflog lines for the ref (and HEAD when it points there). EGITSTATE when the ref moved
   * meanwhile or another git process holds the lock.
   */
  async updateRef(options: { ref: string; newOid: string; expectedOld: string | undefined; message: string; identity: GitIdentity; alsoHead: boolean }): Promise<void> {
    const { ref, newOid, expectedOld } = options;
    const dir = ref === 'HEAD' ? this.paths.gitDir : this.paths.commonDir;
    const file = join(dir, ref);
    mkdirSync(dirname(file), { recursive: true });
    await replaceUnderGitLock({
      path: file,
      busy: (lock) => new ProllyError(ErrorCodes.GIT_STATE, `${lock} exists: another git process is updating ${ref}; if it crashed, remove the file`, { path: lock }),
      content: async () => {
        // Compare-and-swap under the lock: nobody can move the ref between this check and the rename.
        const current = ref === 'HEAD' ? (await this.head()).oid : await this.resolveRefOrUndefined(ref);
        if (current !== expectedOld) {
          throw new ProllyError(ErrorCodes.GIT_STATE, `${ref} moved while committing (expected ${expectedOld ?? 'none'}, found ${current ?? 'none'}); try again`, { ref });
        }
        return `${newOid}\n`;
      },
    });
    if (this.reflogEnabled()) {
      const line = `${expectedOld ?? ZERO_OID} ${newOid} ${options.identity.name} <${options.identity.email}> ${options.identity.timestamp} ${formatTz(options.identity.timezoneOffset)}\t${options.message.split('\n')[0]}\n`;
      const logs = [join(this.paths.commonDir, 'logs', ref)];
      if (options.alsoHead && ref !== 'HEAD') logs.push(join(this.paths.gitDir, 'logs', 'HEAD'));
      for (const log of logs) {
        try {
          mkdirSync(dirname(log), { recursive: true });
          appendFileSync(log, line);
        } catch {
          /* a reflog is a convenience; the commit stands without it */
        }
      }
    }
  }

  private reflogEnabled(): boolean {
    const v = configValue(readGitConfig(this.paths), 'core.logallrefupdates');
    return v === undefined ? true : !/^(false|no|off|0)$/i.test(v);
  }

  /** Merge bases of two commits (best common ancestors). */
  async mergeBases(a: string, b: string): Promise<string[]> {
    const { git, base } = await this.iso();
    return git.findMergeBase({ ...base, oids: [a, b] });
  }

  /**
   * Commits reachable from `start` following first parents, newest first.
   * @example for await (const c of g.firstParents(head)) …
   */
  async *firstParents(start: string, limit = Infinity): AsyncGenerator<GitCommit> {
    let oid: string | undefined = start;
    for (let n = 0; oid && n < limit; n++) {
      const c = await this.readCommit(oid);
      yield c;
      oid = c.parents[0];
    }
  }
}

/** What a commit records. */
export interface CommitFields {
  tree: string;
  parents: string[];
  author: GitIdentity;
  committer: GitIdentity;
  message: string;
}

/**
 * The text of an unsigned commit object (what its id and any signature cover).
 * @example renderCommit({ tree, parents: [head], author, committer: author, message: 'msg\n' })
 */
export function renderCommit(c: CommitFields): string {
  const person = (p: GitIdentity) => `${p.name} <${p.email}> ${p.timestamp} ${formatTz(p.timezoneOffset)}`;
  let out = `tree ${c.tree}\n`;
  for (const p of c.parents) out += `parent ${p}\n`;
  out += `author ${person(c.author)}\ncommitter ${person(c.committer)}\n\n${c.message}`;
  return out;
}

/**
 * Clean a commit message as `git commit -m` does: trailing whitespace off each line, leading and
 * trailing blank lines dropped, runs of blank lines collapsed, one final newline. Empty → EINVAL.
 * @example cleanMessage('  fix \n\n\n') // '  fix\n'
 */
export function cleanMessage(message: string): string {
  const lines = message.replace(/\r\n/g, '\n').split('\n').map((l) => l.replace(/\s+$/, ''));
  const out: string[] = [];
  for (const l of lines) {
    if (l === '' && (out.length === 0 || out[out.length - 1] === '')) continue;
    out.push(l);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  if (out.length === 0) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'aborting commit due to empty commit message');
  return out.join('\n') + '\n';
}

/**
 * Minutes west of UTC → git's `+hhmm`.
 * @example formatTz(-60) // '+0100'
 */
export function formatTz(offsetMinutesWest: number): string {
  const east = -offsetMinutesWest;
  const sign = east < 0 ? '-' : '+';
  const abs = Math.abs(east);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

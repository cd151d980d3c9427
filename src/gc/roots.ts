/**
 * Garbage collection's roots: every dataset version something in the repository can still name.
 * That is the dataset pointers of
 * - every commit reachable from every ref (branches, tags, remote-tracking refs, refs/stash, notes,
 *   refs/prolly/audit — everything under refs/, loose or packed), from HEAD and the other *_HEAD
 *   files (MERGE_HEAD, CHERRY_PICK_HEAD, REVERT_HEAD, ORIG_HEAD, FETCH_HEAD, …), from an interrupted
 *   rebase or sequencer, and from every reflog entry (old and new side);
 * - the index of every work tree, all stages (1–3 during a conflicted merge included);
 * - the pointer files in every work tree's `.prolly/datasets/` (linked work trees too);
 * - recorded merge conflicts (`<gitDir>/prolly/conflicts/*.json`);
 * and, kept outside git, the secondary-index trees of the SQL index-root cache
 * (`.git/prolly/sql-index-roots.json`) for live table roots, plus the newest entry per index, from
 * which a later query catches an index up cheaply.
 *
 * Anything that cannot be read where a root might be is an error (gc must not guess), except a
 * reflog entry whose commit git has already pruned, and a pointer file that does not parse, whose
 * `root` / `schema` lines are still taken from its text.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ErrorCodes, ProllyError } from '../errors.js';
import type { GitRepo } from '../repo/git.js';
import { readIndex } from '../repo/git-index.js';
import { packedRefs, parseTagTarget, parseTree } from '../repo/git-objects.js';
import { DATASETS_PATH, type RepoPaths } from '../repo/paths.js';
import { parsePointer, type DatasetPointer } from '../repo/pointer.js';
import { INDEX_CACHE_FILE } from '../sql/repo-tables.js';
import { commitsBetween, datasetRootsOf } from '../store/remote/commits.js';
import type { DatasetRoots } from '../store/remote/reachable.js';
import { fromHex, toHex } from '../util/bytes.js';

/** What {@link collectRoots} found. */
export interface GcRoots {
  /** Distinct dataset versions (tree root + schema) to keep. */
  roots: DatasetRoots[];
  /** Single chunks to keep that are not tree roots (schemas named by unparsable pointer text). */
  chunks: string[];
  /** Secondary-index tree roots kept from the SQL index-root cache (also in `roots`). */
  sqlIndexRoots: number;
  /** How many of each source were looked at. */
  sources: { refs: number; heads: number; reflogEntries: number; commits: number; indexEntries: number; workTreePointers: number; conflictRecords: number; worktrees: number };
  /** Things skipped, with the reason (e.g. a reflog entry whose commit git already pruned). */
  notes: string[];
}

/** One work tree: its git directory and, unless bare or gone, its directory. */
interface Worktree {
  gitDir: string;
  workTree: string | undefined;
}

const OID = /^[0-9a-f]{40}$/;
const ZERO = /^0{40}$/;

/**
 * Every dataset version the repository can still name (see the module comment).
 * @example const { roots } = await collectRoots({ git: await repo.git(), paths: repo.paths });
 */
export async function collectRoots(options: { git: GitRepo; paths: RepoPaths }): Promise<GcRoots> {
  const { git, paths } = options;
  const out: GcRoots = {
    roots: [],
    chunks: [],
    sqlIndexRoots: 0,
    sources: { refs: 0, heads: 0, reflogEntries: 0, commits: 0, indexEntries: 0, workTreePointers: 0, conflictRecords: 0, worktrees: 0 },
    notes: [],
  };
  const versions = new Map<string, DatasetRoots>();
  const addVersion = (p: { root: Uint8Array; schema?: Uint8Array }) => {
    const key = toHex(p.root) + (p.schema ? toHex(p.schema) : '');
    if (!versions.has(key)) versions.set(key, { root: p.root, ...(p.schema ? { schema: p.schema } : {}) });
  };
  const worktrees = listWorktrees(paths);
  out.sources.worktrees = worktrees.length;

  // Staged and work-tree pointers, and recorded conflicts, of every work tree — read before the refs:
  // git moves a version from there into a commit (commit, stash) before it resets the index, so a
  // version a git command moves while gc reads is seen on one side or the other.
  for (const wt of worktrees) {
    for (const e of readIndex(wt.gitDir).entries) {
      if (!e.path.startsWith(`${DATASETS_PATH}/`) || e.mode === 0o160000) continue;
      out.sources.indexEntries++;
      const text = Buffer.from(await git.readBlob(e.oid)).toString('utf8');
      takePointerText(text, `${wt.gitDir}/index: ${e.path} (stage ${e.stage})`, addVersion, out);
    }
    if (wt.workTree) {
      const dir = join(wt.workTree, DATASETS_PATH);
      for (const name of listDir(dir)) {
        const file = join(dir, name);
        if (name.startsWith('.') || !statSync(file).isFile()) continue;
        out.sources.workTreePointers++;
        takePointerText(readFileSync(file, 'utf8'), file, addVersion, out);
      }
    }
    const conflicts = join(wt.gitDir, 'prolly', 'conflicts');
    for (const name of listDir(conflicts).filter((n) => n.endsWith('.json'))) {
      out.sources.conflictRecords++;
      const file = join(conflicts, name);
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new ProllyError(ErrorCodes.GIT_STATE, `cannot read the conflict record ${file}: ${(err as Error).message}; resolve or remove it before gc`, { file });
      }
      for (const side of ['merged', 'base', 'ours', 'theirs']) {
        const hex = record[side];
        if (typeof hex === 'string' && /^[0-9a-f]{64}$/.test(hex)) addVersion({ root: fromHex(hex) });
      }
    }
  }

  // Commits (and trees) named by refs, heads and reflogs.
  const tips = new Set<string>();
  const trees = new Set<string>();
  const named = (oid: string, where: string, optional: boolean) => {
    const target = peel(git, oid);
    if (target.kind === 'commit') tips.add(target.oid);
    else if (target.kind === 'tree') trees.add(target.oid);
    else if (target.kind === 'missing') {
      if (optional) out.notes.push(`${where}: object ${oid.slice(0, 12)} is no longer in the repository (pruned by git gc); skipped`);
      else throw new ProllyError(ErrorCodes.GIT_STATE, `${where} names object ${oid}, which is missing from the repository; gc cannot tell what it needs (run git fsck)`, { oid, ref: where });
    }
  };
  const refNames = new Set<string>();
  for (const { ref, oid, shadowed } of allRefs(paths.commonDir, worktrees)) {
    refNames.add(ref);
    named(oid, shadowed ? `${ref} (stale packed-refs entry)` : ref, shadowed);
  }
  out.sources.refs = refNames.size;
  for (const wt of worktrees) {
    for (const { file, oid } of headFiles(wt.gitDir)) {
      out.sources.heads++;
      named(oid, file, false);
    }
  }
  for (const { file, oid } of reflogOids(paths.commonDir, worktrees)) {
    out.sources.reflogEntries++;
    named(oid, `reflog ${file}`, true);
  }
  const commits = await commitsBetween(git, [...tips]);
  out.sources.commits = commits.length;
  for (const r of await datasetRootsOf(git, commits)) addVersion(r);
  for (const tree of trees) for (const p of await pointersInTree(git, tree)) addVersion(p);

  // Kept outside git: secondary-index trees of live table versions (derived data, but costly to rebuild).
  const liveRoots = new Set([...versions.values()].map((v) => toHex(v.root)));
  for (const indexRoot of sqlIndexRootsToKeep(paths.prollyDir, liveRoots)) {
    out.sqlIndexRoots++;
    addVersion({ root: fromHex(indexRoot) });
  }
  out.roots = [...versions.values()];
  return out;
}

/** The repository's work trees: the main one and every linked one (`<commonDir>/worktrees/*`). */
function listWorktrees(paths: RepoPaths): Worktree[] {
  const main: Worktree = {
    gitDir: paths.commonDir,
    workTree: paths.gitDir === paths.commonDir ? paths.workTree : basename(paths.commonDir) === '.git' ? dirname(paths.commonDir) : undefined,
  };
  const out = [main];
  const dir = join(paths.commonDir, 'worktrees');
  for (const id of listDir(dir)) {
    const gitDir = join(dir, id);
    if (!existsSync(join(gitDir, 'HEAD'))) continue;
    let workTree: string | undefined;
    if (resolve(gitDir) === resolve(paths.gitDir)) workTree = paths.workTree;
    else {
      try {
        const dotGit = readFileSync(join(gitDir, 'gitdir'), 'utf8').trim();
        const wt = dirname(isAbsolute(dotGit) ? dotGit : resolve(gitDir, dotGit));
        workTree = existsSync(wt) ? wt : undefined; // a work tree deleted without `git worktree prune`
      } catch {
        workTree = undefined;
      }
    }
    out.push({ gitDir, workTree });
  }
  return out;
}

/**
 * Every ref under refs/ (shared and per-work-tree) with its value: loose files first, then
 * packed-refs, both kept — `git pack-refs` writes packed-refs before it deletes the loose file, so
 * reading in this order never misses a ref it moves.
 */
function allRefs(commonDir: string, worktrees: readonly Worktree[]): { ref: string; oid: string; shadowed: boolean }[] {
  const out: { ref: string; oid: string; shadowed: boolean }[] = [];
  const walk = (base: string, rel: string, label: string) => {
    for (const name of listDir(join(base, rel))) {
      const r = `${rel}/${name}`;
      const full = join(base, r);
      let line: string;
      try {
        if (statSync(full).isDirectory()) {
          walk(base, r, label);
          continue;
        }
        if (name.endsWith('.lock')) continue;
        line = readFileSync(full, 'utf8').split('\n')[0]!.trim();
      } catch {
        continue; // deleted while listing (moved into packed-refs, read below)
      }
      // Symbolic refs (refs/remotes/origin/HEAD) name another ref, listed on its own.
      if (OID.test(line)) out.push({ ref: `${label}${r}`, oid: line, shadowed: false });
    }
  };
  walk(commonDir, 'refs', '');
  for (const wt of worktrees) if (wt.gitDir !== commonDir) walk(wt.gitDir, 'refs', `${wt.gitDir}:`);
  // A packed value overridden by a loose file is stale: git may already have pruned its object.
  const loose = new Set(out.map((e) => e.ref));
  for (const [ref, oid] of packedRefs(commonDir)) if (OID.test(oid)) out.push({ ref, oid, shadowed: loose.has(ref) });
  return out;
}

/**
 * HEAD and the other state files of a work tree that name commits: `*HEAD` files (MERGE_HEAD,
 * CHERRY_PICK_HEAD, FETCH_HEAD — every line —, …) and an interrupted rebase's or sequencer's heads.
 */
function headFiles(gitDir: string): { file: string; oid: string }[] {
  const out: { file: string; oid: string }[] = [];
  const take = (file: string, allLines: boolean) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const line of allLines ? text.split('\n') : [text.split('\n')[0]!]) {
      const oid = line.trim().slice(0, 40);
      if (OID.test(oid) && !ZERO.test(oid)) out.push({ file, oid });
    }
  };
  for (const name of listDir(gitDir)) if (/^[A-Z][A-Z_]*HEAD$/.test(name) || name === 'AUTO_MERGE') take(join(gitDir, name), name === 'FETCH_HEAD');
  for (const [dir, names] of [
    ['rebase-merge', ['orig-head', 'onto', 'stopped-sha', 'amend']],
    ['rebase-apply', ['orig-head', 'onto', 'abort-safety']],
    ['sequencer', ['head', 'abort-safety']],
  ] as const) {
    for (const n of names) take(join(gitDir, dir, n), false);
  }
  return out;
}

/** Old and new ids of every reflog entry (shared logs, and each linked work tree's own). */
function* reflogOids(commonDir: string, worktrees: readonly Worktree[]): Generator<{ file: string; oid: string }> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of listDir(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(join(commonDir, 'logs'));
  for (const wt of worktrees) if (wt.gitDir !== commonDir) walk(join(wt.gitDir, 'logs'));
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) /.exec(line);
      if (!m) continue;
      for (const oid of [m[1]!, m[2]!]) if (!ZERO.test(oid)) yield { file, oid };
    }
  }
}

/** What an id names, annotated tags followed. */
function peel(git: GitRepo, oid: string): { kind: 'commit' | 'tree' | 'other' | 'missing'; oid: string } {
  for (let depth = 0; depth < 20; depth++) {
    const obj = git.objects.read(oid);
    if (!obj) return { kind: 'missing', oid };
    if (obj.type === 'commit' || obj.type === 'tree') return { kind: obj.type, oid };
    if (obj.type !== 'tag') return { kind: 'other', oid };
    const target = parseTagTarget(obj.data);
    if (!target) return { kind: 'other', oid };
    oid = target;
  }
  return { kind: 'other', oid };
}

/** Pointers under `.prolly/datasets` of a tree object (e.g. AUTO_MERGE). */
async function pointersInTree(git: GitRepo, tree: string): Promise<DatasetPointer[]> {
  let oid: string | undefined = tree;
  for (const part of DATASETS_PATH.split('/')) {
    const obj = git.objects.read(oid);
    if (!obj || obj.type !== 'tree') return [];
    oid = parseTree(obj.data).find((e) => e.path === part)?.oid;
    if (!oid) return [];
  }
  const dir = git.objects.read(oid);
  if (!dir || dir.type !== 'tree') return [];
  const out: DatasetPointer[] = [];
  for (const e of parseTree(dir.data)) {
    if (e.type !== 'blob') continue;
    out.push(await git.pointerBlob(e.oid, `${tree.slice(0, 12)}:${DATASETS_PATH}/${e.path}`));
  }
  return out;
}

/**
 * Keep a pointer's version; when the text does not parse (conflict markers, a hand edit), keep
 * every `root` and `schema` it mentions anyway.
 */
function takePointerText(text: string, label: string, add: (p: { root: Uint8Array; schema?: Uint8Array }) => void, out: GcRoots): void {
  try {
    add(parsePointer(text, { file: label }));
    return;
  } catch {
    /* below */
  }
  const roots = [...text.matchAll(/^root ([0-9a-f]{64})\s*$/gm)].map((m) => m[1]!);
  const schemas = [...text.matchAll(/^schema ([0-9a-f]{64})\s*$/gm)].map((m) => m[1]!);
  for (const r of roots) add({ root: fromHex(r) });
  out.chunks.push(...schemas);
  out.notes.push(`${label} is not a valid pointer file; kept the ${roots.length} root(s) and ${schemas.length} schema(s) it mentions`);
}

/**
 * Index roots of the SQL index-root cache to keep: those of live table roots, and the newest entry
 * of each index definition (the starting point for catching an index up). The file lists entries
 * oldest first as [fingerprint, tableRoot, indexRoot].
 */
function sqlIndexRootsToKeep(prollyDir: string, liveTableRoots: ReadonlySet<string>): string[] {
  let doc: { version?: number; entries?: unknown[] };
  try {
    doc = JSON.parse(readFileSync(join(prollyDir, INDEX_CACHE_FILE), 'utf8')) as typeof doc;
  } catch {
    return []; // absent or unreadable: the SQL layer then rebuilds indexes, so nothing to keep
  }
  if (doc.version !== 1 || !Array.isArray(doc.entries)) return [];
  const keep = new Set<string>();
  const newest = new Map<string, string>();
  for (const e of doc.entries) {
    if (!Array.isArray(e) || e.length !== 3 || !e.every((x) => typeof x === 'string' && x.length > 0)) continue;
    const [fingerprint, tableRoot, indexRoot] = e as [string, string, string];
    if (!/^[0-9a-f]{64}$/.test(indexRoot)) continue;
    if (liveTableRoots.has(tableRoot)) keep.add(indexRoot);
    newest.set(fingerprint, indexRoot);
  }
  for (const r of newest.values()) keep.add(r);
  return [...keep];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

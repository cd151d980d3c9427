/**
 * `git prolly gc`: delete local chunks nothing can reach any more.
 *
 * Mark: every dataset version the repository can still name (./roots.ts: refs, HEADs, reflogs,
 * index stages, work-tree pointers of every work tree, conflict records, SQL index roots) is walked
 * through the local store with the walk tiering uses (reachableChunks: tree nodes, schemas, every
 * blob chunk). Sweep: LocalStore.compact rewrites the packs older than `keepRecentMs` that hold
 * unmarked chunks, keeping the marked ones, crash-safely.
 *
 * Safety rules:
 * - The repository's write lock and the store's writer lock are held from before the mark until the
 *   sweep ends, so no writer can re-use (deduplicate against) a chunk about to go.
 * - Recently written packs are left whole: a command in another process may have written chunks
 *   whose root it has not recorded yet (a merge driver's result before git writes the index).
 * - A running git command (an `index.lock` in some work tree, before the mark or before the sweep)
 *   stops gc: git may be about to record a root the mark cannot see yet. Roots are read index and
 *   work trees first, refs after, the order in which git moves a version into a commit.
 * - Only the local store is touched. A reachable chunk the local store lacks (a lazy clone) or cannot
 *   read makes the mark incomplete; then an unmarked chunk is deleted only when a remote backend
 *   has it, so no last copy of anything is ever deleted.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import type { Repo } from '../repo/repo.js';
import type { CompactResult, CompactStep } from '../store/local-store.js';
import { reachableChunks } from '../store/remote/reachable.js';
import { openRepoStore } from '../store/tiered/repo-store.js';
import { fromHex, toHex } from '../util/bytes.js';
import { collectRoots } from './roots.js';

/** Default of `--keep-recent`: two weeks, like git's gc.pruneExpire. */
export const DEFAULT_KEEP_RECENT_MS = 14 * 86_400_000;

/** Options of {@link collectGarbage}. */
export interface GcOptions {
  repo: Repo;
  /** Packs modified within this many ms are kept whole (default two weeks). */
  keepRecentMs?: number;
  /** Report only; delete nothing. */
  dryRun?: boolean;
  /** The current time (ms since the epoch; default Date.now()). */
  now?: number;
  /** Wait this long for the store's writer lock (default 0). */
  lockTimeoutMs?: number;
  onProgress?: (p: { phase: 'roots' | 'mark' | 'remote-check' | 'sweep'; chunks: number }) => void;
  /** Passed to LocalStore.compact: throwing there stops gc as a crash would (tests). */
  onStep?: (step: CompactStep) => void;
}

/** What gc found and did. */
export interface GcReport {
  dryRun: boolean;
  keepRecentMs: number;
  /** Packs modified before this time (ISO) were eligible for rewriting. */
  cutoff: string;
  roots: {
    datasetVersions: number;
    commits: number;
    refs: number;
    heads: number;
    reflogEntries: number;
    indexEntries: number;
    workTreePointers: number;
    conflictRecords: number;
    sqlIndexRoots: number;
    worktrees: number;
  };
  /** Distinct chunks reachable from the roots (marked), wherever they are stored. */
  reachableChunks: number;
  /** Reachable chunks the local store lacks or cannot read (what lies below them was not walked). */
  unreadableChunks: number;
  /** Unmarked local chunks kept because the mark was incomplete and no remote backend has them. */
  keptUnconfirmed: number;
  /** The local store before and after (see CompactResult). */
  store: CompactResult;
  notes: string[];
  seconds: number;
}

/**
 * Garbage-collect the local chunk store of `repo`. Takes the repository's write lock (held until
 * `repo.close()`) and the store's writer lock (released before returning), so `repo` must not have
 * written yet, and no other writer may be running (ELOCKED).
 * @example
 * const report = await collectGarbage({ repo, keepRecentMs: 0, dryRun: true });
 * console.log(`${report.store.reclaimedChunks} chunks could go`);
 */
export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const started = performance.now();
  const { repo } = options;
  const keepRecentMs = options.keepRecentMs ?? DEFAULT_KEEP_RECENT_MS;
  if (!Number.isFinite(keepRecentMs) || keepRecentMs < 0) throw invalidArgument(`keepRecentMs must be a non-negative number, got ${keepRecentMs}`);
  const now = options.now ?? Date.now();
  const cutoff = now - keepRecentMs;

  // Writers first, then git: the repository lock keeps git-prolly writers out until the sweep ends.
  await repo.acquireLock();
  refuseWhileGitRuns(repo);
  const git = await repo.git();
  const rs = await openRepoStore(repo.config, repo.paths, { readOnly: false, recordMetrics: false, lockTimeoutMs: options.lockTimeoutMs });
  try {
    options.onProgress?.({ phase: 'roots', chunks: 0 });
    const roots = await collectRoots({ git, paths: repo.paths });

    const live = new Set<string>(roots.chunks);
    const unreadable = new Set<string>();
    await reachableChunks({
      chunks: rs.local.store,
      roots: roots.roots,
      into: live,
      onUnreadable: (hex) => unreadable.add(hex),
      onProgress: (n) => options.onProgress?.({ phase: 'mark', chunks: n }),
    });
    const reachable = live.size;

    let keptUnconfirmed = 0;
    const notes = [...roots.notes];
    if (unreadable.size > 0) {
      // Below an unreadable chunk, anything might be reachable: delete only what a remote also has.
      options.onProgress?.({ phase: 'remote-check', chunks: 0 });
      const unmarked: string[] = [];
      const seen = new Set<string>();
      for await (const a of rs.local.local.list()) {
        const hex = toHex(a);
        if (!live.has(hex) && !seen.has(hex)) unmarked.push(hex);
        seen.add(hex);
      }
      const onRemote = rs.placement ? await remoteHas(rs.placement, unmarked) : unmarked.map(() => false);
      unmarked.forEach((hex, i) => {
        if (onRemote[i]) return;
        live.add(hex);
        keptUnconfirmed++;
      });
      notes.push(
        `${unreadable.size} reachable chunk(s) are not in the local store or cannot be read there (first: ${[...unreadable][0]}); ` +
          (rs.placement ? `unreachable-looking chunks were deleted only where a remote backend has them (${keptUnconfirmed} kept)` : `no remote backend is configured, so no chunk was deleted for being unreachable`) +
          '; run git prolly verify --deep to see what is missing',
      );
    }

    // A git command that started meanwhile may hold a root the mark missed.
    refuseWhileGitRuns(repo);
    options.onProgress?.({ phase: 'sweep', chunks: 0 });
    const store = await rs.local.local.compact({
      live: (address) => live.has(toHex(address)),
      keepNewerThanMs: cutoff,
      dryRun: options.dryRun,
      onStep: options.onStep,
    });
    return {
      dryRun: Boolean(options.dryRun),
      keepRecentMs,
      cutoff: new Date(cutoff).toISOString(),
      roots: {
        datasetVersions: roots.roots.length,
        commits: roots.sources.commits,
        refs: roots.sources.refs,
        heads: roots.sources.heads,
        reflogEntries: roots.sources.reflogEntries,
        indexEntries: roots.sources.indexEntries,
        workTreePointers: roots.sources.workTreePointers,
        conflictRecords: roots.sources.conflictRecords,
        sqlIndexRoots: roots.sqlIndexRoots,
        worktrees: roots.sources.worktrees,
      },
      reachableChunks: reachable,
      unreadableChunks: unreadable.size,
      keptUnconfirmed,
      store,
      notes,
      seconds: Math.round((performance.now() - started) / 10) / 100,
    };
  } finally {
    await rs.close();
  }
}

/** A git command holds some work tree's index: it may be about to record roots gc cannot see yet. */
function refuseWhileGitRuns(repo: Repo): void {
  const gitDirs = [repo.paths.commonDir, repo.paths.gitDir];
  try {
    for (const id of readdirSync(join(repo.paths.commonDir, 'worktrees'))) gitDirs.push(join(repo.paths.commonDir, 'worktrees', id));
  } catch {
    /* no linked work trees */
  }
  for (const dir of new Set(gitDirs)) {
    const lock = join(dir, 'index.lock');
    if (existsSync(lock)) {
      throw new ProllyError(ErrorCodes.LOCKED, `a git command is running in this repository (${lock} exists); run gc when it has finished (if git crashed, remove the file)`, { path: lock });
    }
  }
}

/** Which of `hexes` some remote backend holds, asked in batches. */
async function remoteHas(placement: { hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> }, hexes: readonly string[]): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < hexes.length; i += 1024) {
    const part = hexes.slice(i, i + 1024);
    out.push(...(await placement.hasMany(part.map(fromHex))));
  }
  return out;
}

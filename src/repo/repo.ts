/**
 * Repo: one git repository with git-prolly datasets — the object behind `openRepo()` and every CLI
 * command. It knows where things are, opens the local chunk store (read-only until the first write),
 * takes the repository's write lock for state-changing work, and reads / writes pointer files.
 * Version-control operations (commit, log, diff, merge, history, status) live in their own modules
 * and are loaded on first use, so a plain `get` never loads isomorphic-git.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type ProllyConfig } from '../config/config.js';
import { Dataset, type DatasetHost, type TreeAccess } from '../dataset/dataset.js';
import { ErrorCodes, ProllyError } from '../errors.js';
import { FileLock } from '../store/file-lock.js';
import { openRepoStore, type RepoStore } from '../store/tiered/repo-store.js';
import { NodeStore } from '../tree/node-store.js';
import { writeFileAtomicSync } from '../util/atomic-file.js';
import { utf8 } from '../util/bytes.js';
import type { GitRepo } from './git.js';
import { CONFIG_PATH, DATASETS_PATH, findRepo, pointerPath, type RepoPaths } from './paths.js';
import { checkDatasetName, formatPointer, parsePointer, type DatasetPointer } from './pointer.js';

/** Options of {@link openRepo}. */
export interface OpenRepoOptions {
  /** Any directory inside the work tree (default: the current directory). */
  dir?: string;
  /** Explicit git directory (like GIT_DIR). */
  gitDir?: string;
  /** Explicit work tree (like GIT_WORK_TREE). */
  workTree?: string;
  /** Wait this long for another writer's lock before failing with ELOCKED (default 0). */
  lockTimeoutMs?: number;
  /** What the lock file says this process is doing (shown to a blocked writer). */
  purpose?: string;
  /** Do not require `git prolly init` to have run (used by init itself). */
  allowUninitialized?: boolean;
}

/** A dataset and its pointer. */
export interface DatasetInfo {
  name: string;
  pointer: DatasetPointer;
}

/**
 * Open the repository containing `dir`. ENOTREPO outside a git work tree, ENOTINIT when
 * `git prolly init` has not run there.
 *
 * @example
 * const repo = await openRepo({ dir: '/data/project' });
 * try {
 *   await repo.dataset('users').put('alice', '{"age":31}');
 *   await repo.commit({ message: 'add alice' });
 * } finally {
 *   await repo.close();
 * }
 */
export async function openRepo(options: OpenRepoOptions = {}): Promise<Repo> {
  const paths = findRepo({ dir: options.dir ?? process.cwd(), gitDir: options.gitDir, workTree: options.workTree });
  if (!options.allowUninitialized && !existsSync(join(paths.workTree, DATASETS_PATH)) && !existsSync(paths.prollyDir)) {
    throw new ProllyError(ErrorCodes.NOT_INITIALIZED, `git-prolly is not set up in ${paths.workTree}: run git prolly init`, { dir: paths.workTree });
  }
  return new Repo(paths, options);
}

/**
 * A git repository with datasets. Create with {@link openRepo}; call {@link Repo.close} when done (a
 * repo that has written holds the write lock until then).
 * @example const repo = await openRepo({ dir: '.' }); const names = (await repo.datasets()).map((d) => d.name); await repo.close();
 */
export class Repo implements DatasetHost {
  readonly paths: RepoPaths;
  private readonly options: OpenRepoOptions;
  private configCache: ProllyConfig | undefined;
  /** Local store + read-through to the configured remote tiers (src/store/tiered). */
  private stack: RepoStore | undefined;
  private nodes: NodeStore | undefined;
  private writable = false;
  private lock: FileLock | undefined;
  private gitRepo: GitRepo | undefined;
  private closed = false;

  /** @internal use {@link openRepo}. */
  constructor(paths: RepoPaths, options: OpenRepoOptions = {}) {
    this.paths = paths;
    this.options = options;
  }

  /** The parsed `.prolly/config.toml` (defaults when absent). */
  get config(): ProllyConfig {
    this.configCache ??= loadConfig(join(this.paths.workTree, CONFIG_PATH));
    return this.configCache;
  }

  /**
   * A handle on a dataset (it need not exist yet: the first put creates it).
   * @example const users = repo.dataset('users')
   */
  dataset(name: string): Dataset {
    checkDatasetName(name);
    return new Dataset(this, name);
  }

  /**
   * Datasets in the work tree (or at revision `at`), sorted by name.
   * @example for (const { name, pointer } of await repo.datasets()) console.log(name, pointer.count)
   */
  async datasets(options: { at?: string } = {}): Promise<DatasetInfo[]> {
    if (options.at !== undefined) {
      const git = await this.git();
      const commit = await git.resolve(options.at);
      const blobs = await git.datasetBlobsAt(commit);
      const out: DatasetInfo[] = [];
      for (const [name, oid] of [...blobs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        out.push({ name, pointer: await git.pointerBlob(oid, `${options.at}:${pointerPath(name)}`) });
      }
      return out;
    }
    const dir = join(this.paths.workTree, DATASETS_PATH);
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: DatasetInfo[] = [];
    for (const name of names) {
      const pointer = this.readWorkPointer(name);
      if (pointer) out.push({ name, pointer });
    }
    return out;
  }

  /** DatasetHost: the pointer in the work tree, or at revision `at`. */
  async pointer(name: string, at?: string): Promise<DatasetPointer | undefined> {
    checkDatasetName(name);
    if (at === undefined) return this.readWorkPointer(name);
    const git = await this.git();
    return git.pointerAt(await git.resolve(at), name);
  }

  /** The work tree's pointer file for `name`, parsed; undefined when absent. */
  readWorkPointer(name: string): DatasetPointer | undefined {
    const file = join(this.paths.workTree, pointerPath(name));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    return parsePointer(text, { file: pointerPath(name) });
  }

  /**
   * Replace (or with undefined, delete) a dataset's pointer file atomically. Callers hold the write
   * lock and have flushed the chunks the pointer refers to.
   */
  writeWorkPointer(name: string, pointer: DatasetPointer | undefined): void {
    checkDatasetName(name);
    const file = join(this.paths.workTree, pointerPath(name));
    if (pointer === undefined) {
      try {
        unlinkSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      return;
    }
    mkdirSync(join(this.paths.workTree, DATASETS_PATH), { recursive: true });
    writeFileAtomicSync(file, utf8(formatPointer(pointer)));
  }

  /** DatasetHost: stores for reading (the writer's when this repo holds the lock). */
  async reader(): Promise<TreeAccess> {
    this.checkOpen();
    if (!this.stack) await this.openStack(false);
    return { store: this.stack!.store, nodes: this.nodes! };
  }

  /** Stores for writing, taking the repository write lock on first use (held until close). */
  async writer(): Promise<TreeAccess> {
    this.checkOpen();
    if (!this.writable) {
      await this.acquireLock();
      if (this.stack) {
        await this.stack.close();
        this.stack = undefined;
      }
      await this.openStack(true);
      // Temp files (import sort runs) belong to the lock holder: any left here are from a writer
      // that died, since we now hold the lock.
      rmSync(join(this.paths.prollyDir, 'tmp'), { recursive: true, force: true });
    }
    return { store: this.stack!.store, nodes: this.nodes!, tempDir: join(this.paths.prollyDir, 'tmp') };
  }

  /** Take the repository write lock (idempotent). ELOCKED naming the holder when another process has it. */
  async acquireLock(): Promise<void> {
    if (this.lock?.held) return;
    mkdirSync(this.paths.prollyDir, { recursive: true });
    try {
      this.lock = await FileLock.acquire({ path: this.paths.lockPath, timeoutMs: this.options.lockTimeoutMs ?? 0, purpose: this.options.purpose ?? 'git-prolly writer' });
    } catch (err) {
      if (err instanceof ProllyError && err.code === ErrorCodes.LOCKED) {
        throw new ProllyError(ErrorCodes.LOCKED, `another git-prolly process is writing to this repository: ${err.message}`, err.data);
      }
      throw err;
    }
  }

  /** DatasetHost: run a write under the lock; flush, then write the pointer. */
  async write<T>(name: string, fn: (access: TreeAccess, current: DatasetPointer | undefined) => Promise<{ pointer?: DatasetPointer; result: T }>): Promise<T> {
    checkDatasetName(name);
    const access = await this.writer();
    const current = this.readWorkPointer(name);
    const { pointer, result } = await fn(access, current);
    await access.nodes.flush();
    if (pointer) this.writeWorkPointer(name, pointer);
    return result;
  }

  /** Git access (isomorphic-git), loaded on first use. */
  async git(): Promise<GitRepo> {
    if (!this.gitRepo) {
      const { GitRepo } = await import('./git.js');
      this.gitRepo = new GitRepo(this.paths);
    }
    return this.gitRepo;
  }

  /**
   * Commit the `.prolly/` directory (datasets and config) on the current branch, leaving every other
   * staged change staged. Returns the new commit id, or undefined when nothing changed.
   * @example const { oid } = await repo.commit({ message: 'import users' })
   */
  async commit(options: import('./commit.js').CommitOptions): Promise<import('./commit.js').CommitResult> {
    const { commitDatasets } = await import('./commit.js');
    return commitDatasets(this, options);
  }

  /**
   * Commits that changed datasets (or one dataset), newest first, with per-dataset summaries.
   * @example for (const entry of await repo.log({ dataset: 'users', limit: 10 })) …
   */
  async log(options: import('./log.js').LogOptions = {}): Promise<import('./log.js').LogEntry[]> {
    const { datasetLog } = await import('./log.js');
    return datasetLog(this, options);
  }

  /**
   * Key-level differences between two states: revisions, or the work tree when a side is omitted
   * (`from` defaults to HEAD).
   * @example for await (const change of repo.diff({ from: 'HEAD~1', to: 'HEAD' })) …
   */
  diff(options: import('./diff.js').DiffOptions = {}): AsyncGenerator<import('./diff.js').DatasetChange> {
    const self = this;
    return (async function* () {
      const { diffStates } = await import('./diff.js');
      yield* diffStates(self, options);
    })();
  }

  /**
   * Merge a revision into the current branch with a three-way prolly merge of every dataset
   * (no git binary needed). Conflicts are settled by `strategy` / `resolve`, or the merge is refused
   * with EMERGECONFLICT listing them and nothing changes.
   * @example await repo.merge({ rev: 'feature', strategy: 'theirs' })
   */
  async merge(options: import('./merge.js').RepoMergeOptions): Promise<import('./merge.js').RepoMergeResult> {
    const { mergeRevision } = await import('./merge.js');
    return mergeRevision(this, options);
  }

  /**
   * Commits (first-parent history) where the value of `key` in `dataset` changed, found by comparing
   * dataset roots commit to commit and reading the key only where they differ.
   * @example for (const h of await repo.history('users', 'alice')) console.log(h.commit, h.type)
   */
  async history(dataset: string, key: import('../dataset/values.js').KeyInput, options: import('./history.js').HistoryOptions = {}): Promise<import('./history.js').HistoryEntry[]> {
    const { keyHistory } = await import('./history.js');
    return keyHistory(this, dataset, key, options);
  }

  /** Flush and release the store and the write lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.stack) await this.stack.close();
    } finally {
      this.stack = undefined;
      this.lock?.release();
    }
  }

  private async openStack(write: boolean): Promise<void> {
    const config = this.config;
    if (!write && !existsSync(this.paths.storeDir)) mkdirSync(this.paths.storeDir, { recursive: true });
    this.stack = await openRepoStore(config, this.paths, { readOnly: !write, lockTimeoutMs: this.options.lockTimeoutMs });
    this.nodes = new NodeStore(this.stack.store);
    this.writable = write;
  }

  private checkOpen(): void {
    if (this.closed) throw new ProllyError(ErrorCodes.CLOSED, `repository ${this.paths.workTree} was closed`);
  }
}

/**
 * What the SQL engine needs from the layer that keeps tables: per table name a schema, a row-tree root
 * and a row count, for the working state or for any revision; somewhere to write new states; and a
 * cache of secondary-index roots. The repository implements it over dataset pointer files
 * (src/sql/repo-tables.ts); MemoryTableStore keeps everything in memory (tests, embedding without git).
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { MemoryStore } from '../store/memory-store.js';
import { NodeStore } from '../tree/node-store.js';
import { fromHex, toHex } from '../util/bytes.js';
import type { TableSchema } from './schema.js';

/** One table as stored: its schema, the root of its row tree and its row count. */
export interface TableState {
  schema: TableSchema;
  root: Uint8Array;
  count: number;
}

/**
 * Roots of secondary-index trees, by index fingerprint and table root. An index is a pure function of
 * the rows and its definition, so a root found here is always right for that table root; a missing one
 * is rebuilt (or caught up from another root by a structural diff). Nothing here is versioned.
 */
export interface IndexRootCache {
  /** The index root for this fingerprint and table root, if known. */
  get(fingerprint: string, tableRoot: Uint8Array): Uint8Array | undefined;
  /** Remember an index root. */
  set(fingerprint: string, tableRoot: Uint8Array, indexRoot: Uint8Array): void;
  /** The most recently remembered entry for a fingerprint (a starting point for catching up). */
  latest(fingerprint: string): { tableRoot: Uint8Array; indexRoot: Uint8Array } | undefined;
  /** Persist (when the cache lives on disk). */
  save?(): Promise<void>;
}

/**
 * Tables of one state (the work tree, or a revision). Names are the dataset names as stored; the SQL
 * layer matches them case-insensitively.
 * @example const state = await store.getTable('orders'); state?.count
 */
export interface TableStore {
  /** What this state is, for plans and messages: 'working' or a revision. */
  readonly label: string;
  /** False for revisions: DML and DDL are refused. */
  readonly writable: boolean;
  /** The node store to read trees with (after beginWrite: the writable one). */
  nodes(): Promise<NodeStore>;
  /** Names of the tables (datasets of kind table), sorted. */
  listTables(): Promise<string[]>;
  /** A table, or undefined when no dataset of that name exists. ESQLNAME when it exists but is not a table. */
  getTable(name: string): Promise<TableState | undefined>;
  /** True when a dataset of any kind has this name. */
  hasDataset(name: string): Promise<boolean>;
  /**
   * Get ready to write (take the repository's write lock). Trees must be reopened with the node store
   * this returns. Throws ELOCKED when another process writes, EREADONLY on a revision.
   */
  beginWrite(): Promise<NodeStore>;
  /**
   * Store new states (null drops the table). The trees' nodes are already in the node store; this makes
   * them durable, then records the states. Each table's record is replaced atomically.
   */
  writeTables(changes: ReadonlyMap<string, TableState | null>): Promise<void>;
  /** Index roots. */
  readonly indexRoots: IndexRootCache;
}

/**
 * Where other revisions come from (the git layer), for `--at`, `table AS OF 'rev'`, `prolly_diff` and
 * the `prolly_log` / `prolly_branches` system tables.
 */
export interface RevisionSource {
  /** The tables as of a revision (read-only). EBADREV when it does not resolve. */
  tablesAt(rev: string): Promise<TableStore>;
  /** Commits that changed datasets, newest first. */
  log?(options: { limit?: number }): Promise<LogRecord[]>;
  /** Branches. */
  branches?(): Promise<BranchRecord[]>;
}

/** A row of `prolly_log`. */
export interface LogRecord {
  commit: string;
  parents: string[];
  author: string;
  email: string;
  /** ISO 8601 datetime of the commit. */
  date: string;
  message: string;
  /** Datasets the commit changed. */
  datasets: string[];
}

/** A row of `prolly_branches`. */
export interface BranchRecord {
  name: string;
  commit: string;
  current: boolean;
}

/**
 * An IndexRootCache in memory, bounded (oldest entries go first).
 * @example const cache = new MemoryIndexRootCache({ maxEntries: 1000 });
 */
export class MemoryIndexRootCache implements IndexRootCache {
  protected readonly entries = new Map<string, { fingerprint: string; tableRoot: string; indexRoot: string }>();
  protected readonly latestByFingerprint = new Map<string, string>();
  private readonly maxEntries: number;

  constructor(options: { maxEntries?: number } = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  get(fingerprint: string, tableRoot: Uint8Array): Uint8Array | undefined {
    const e = this.entries.get(`${fingerprint}:${toHex(tableRoot)}`);
    return e ? fromHex(e.indexRoot) : undefined;
  }

  set(fingerprint: string, tableRoot: Uint8Array, indexRoot: Uint8Array): void {
    this.put(fingerprint, toHex(tableRoot), toHex(indexRoot));
  }

  latest(fingerprint: string): { tableRoot: Uint8Array; indexRoot: Uint8Array } | undefined {
    const key = this.latestByFingerprint.get(fingerprint);
    const e = key ? this.entries.get(key) : undefined;
    return e ? { tableRoot: fromHex(e.tableRoot), indexRoot: fromHex(e.indexRoot) } : undefined;
  }

  /** Add an entry by hex (also used when loading from disk, oldest first). */
  protected put(fingerprint: string, tableRoot: string, indexRoot: string): void {
    const key = `${fingerprint}:${tableRoot}`;
    this.entries.delete(key);
    this.entries.set(key, { fingerprint, tableRoot, indexRoot });
    this.latestByFingerprint.set(fingerprint, key);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

/**
 * A TableStore held in memory: for tests, and for using the SQL engine without git.
 * @example
 * const store = new MemoryTableStore();
 * const session = new SqlSession({ store });
 * await session.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
 */
export class MemoryTableStore implements TableStore {
  readonly label: string;
  readonly writable: boolean;
  readonly indexRoots: IndexRootCache;
  private readonly nodeStore: NodeStore;
  private readonly tables = new Map<string, TableState>();
  /** Names of datasets of other kinds (to test name clashes). */
  readonly otherDatasets = new Set<string>();

  constructor(options: { nodes?: NodeStore; label?: string; writable?: boolean; indexRoots?: IndexRootCache } = {}) {
    this.nodeStore = options.nodes ?? new NodeStore(new MemoryStore());
    this.label = options.label ?? 'working';
    this.writable = options.writable ?? true;
    this.indexRoots = options.indexRoots ?? new MemoryIndexRootCache();
  }

  async nodes(): Promise<NodeStore> {
    return this.nodeStore;
  }

  async listTables(): Promise<string[]> {
    return [...this.tables.keys()].sort();
  }

  async getTable(name: string): Promise<TableState | undefined> {
    if (this.otherDatasets.has(name)) throw notATable(name, 'kv');
    return this.tables.get(name);
  }

  async hasDataset(name: string): Promise<boolean> {
    return this.tables.has(name) || this.otherDatasets.has(name);
  }

  async beginWrite(): Promise<NodeStore> {
    if (!this.writable) throw readOnly(this.label);
    return this.nodeStore;
  }

  async writeTables(changes: ReadonlyMap<string, TableState | null>): Promise<void> {
    if (!this.writable) throw readOnly(this.label);
    await this.nodeStore.flush();
    for (const [name, state] of changes) {
      if (state === null) this.tables.delete(name);
      else this.tables.set(name, state);
    }
  }

  /**
   * A read-only copy of the current states (a "revision" for tests of time travel).
   * @example const v1 = store.snapshot('v1')
   */
  snapshot(label: string): MemoryTableStore {
    const copy = new MemoryTableStore({ nodes: this.nodeStore, label, writable: false, indexRoots: this.indexRoots });
    for (const [name, state] of this.tables) copy.tables.set(name, state);
    return copy;
  }
}

/**
 * ESQLNAME for a dataset that exists but is not a table.
 * @example throw notATable('users', 'kv')
 */
export function notATable(name: string, kind: string): ProllyError {
  return new ProllyError(ErrorCodes.SQL_NAME, `dataset ${JSON.stringify(name)} is a ${kind} dataset, not a table (query it with get / scan, or import it with --table)`, { table: name, kind });
}

/**
 * EREADONLY for a write to a revision.
 * @example throw readOnly('HEAD~1')
 */
export function readOnly(label: string): ProllyError {
  return new ProllyError(ErrorCodes.READ_ONLY, `tables at ${label} are read-only: time travel reads history; write to the working state`, { revision: label });
}

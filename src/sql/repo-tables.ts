/**
 * Tables of a git-prolly repository: a TableStore over the dataset pointer files of the work tree (and,
 * read-only, of any revision), and the RevisionSource the SQL engine uses for time travel, diffs and
 * the log. A table is a dataset of kind `table`; its pointer names the row tree's root, the row count
 * and the address of the schema chunk (docs/FORMAT.md, "Schema chunk"). Index roots are cached in
 * `.git/prolly/sql-index-roots.json` (local, derived data).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, ProllyError } from '../errors.js';
import type { DatasetPointer } from '../repo/pointer.js';
import type { Repo } from '../repo/repo.js';
import type { NodeStore } from '../tree/node-store.js';
import { writeFileAtomicSync } from '../util/atomic-file.js';
import { toHex, utf8 } from '../util/bytes.js';
import { sha256 } from '../util/hash.js';
import { decodeSchema, encodeSchema, type TableSchema } from './schema.js';
import { MemoryIndexRootCache, notATable, readOnly, type BranchRecord, type IndexRootCache, type LogRecord, type RevisionSource, type TableState, type TableStore } from './table-store.js';

/** Index root cache file, relative to `.git/prolly`. */
export const INDEX_CACHE_FILE = 'sql-index-roots.json';

/**
 * An IndexRootCache kept in a JSON file (written atomically; losing it only costs rebuilding indexes).
 * @example const cache = new FileIndexRootCache(join(repo.paths.prollyDir, INDEX_CACHE_FILE));
 */
export class FileIndexRootCache extends MemoryIndexRootCache {
  private dirty = false;

  constructor(
    readonly path: string,
    options: { maxEntries?: number } = {},
  ) {
    super(options);
    try {
      const doc = JSON.parse(readFileSync(path, 'utf8')) as { version?: number; entries?: [string, string, string][] };
      if (doc.version === 1 && Array.isArray(doc.entries)) {
        for (const e of doc.entries) if (Array.isArray(e) && e.length === 3 && e.every((x) => typeof x === 'string')) this.put(e[0], e[1], e[2]);
      }
    } catch {
      /* absent or unreadable: start empty (it is only a cache) */
    }
  }

  override set(fingerprint: string, tableRoot: Uint8Array, indexRoot: Uint8Array): void {
    super.set(fingerprint, tableRoot, indexRoot);
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const entries = [...this.entries.values()].map((e) => [e.fingerprint, e.tableRoot, e.indexRoot]);
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileAtomicSync(this.path, utf8(JSON.stringify({ version: 1, entries })));
    this.dirty = false;
  }
}

/** Decoded schemas by chunk address (schemas are immutable chunks, so this never goes stale). */
const schemaCache = new Map<string, TableSchema>();

async function loadSchema(nodes: NodeStore, address: Uint8Array, dataset: string): Promise<TableSchema> {
  const hex = toHex(address);
  const hit = schemaCache.get(hex);
  if (hit) return hit;
  const bytes = await nodes.chunks.get(address);
  if (!bytes) throw new ProllyError(ErrorCodes.CHUNK_MISSING, `schema chunk ${hex} of table ${JSON.stringify(dataset)} is missing from ${nodes.chunks.name}`, { address: hex, dataset });
  const schema = decodeSchema(bytes);
  schemaCache.set(hex, schema);
  return schema;
}

function validName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name) && !name.endsWith('.lock') && !name.includes('..');
}

/**
 * The work tree's tables (writable: writes take the repository's write lock).
 * @example const store = new RepoTableStore(repo); await store.listTables();
 */
export class RepoTableStore implements TableStore {
  readonly label = 'working';
  readonly writable = true;
  readonly indexRoots: IndexRootCache;

  constructor(
    private readonly repo: Repo,
    indexRoots?: IndexRootCache,
  ) {
    this.indexRoots = indexRoots ?? new FileIndexRootCache(join(repo.paths.prollyDir, INDEX_CACHE_FILE));
  }

  async nodes(): Promise<NodeStore> {
    return (await this.repo.reader()).nodes;
  }

  async listTables(): Promise<string[]> {
    return (await this.repo.datasets()).filter((d) => d.pointer.kind === 'table').map((d) => d.name);
  }

  async getTable(name: string): Promise<TableState | undefined> {
    if (!validName(name)) return undefined;
    return this.stateOf(name, this.repo.readWorkPointer(name));
  }

  async stateOf(name: string, pointer: DatasetPointer | undefined): Promise<TableState | undefined> {
    if (!pointer) return undefined;
    if (pointer.kind !== 'table') throw notATable(name, pointer.kind);
    const schema = await loadSchema(await this.nodes(), pointer.schema!, name);
    return { schema, root: pointer.root, count: pointer.count };
  }

  async hasDataset(name: string): Promise<boolean> {
    return validName(name) && this.repo.readWorkPointer(name) !== undefined;
  }

  async beginWrite(): Promise<NodeStore> {
    return (await this.repo.writer()).nodes;
  }

  async writeTables(changes: ReadonlyMap<string, TableState | null>): Promise<void> {
    const access = await this.repo.writer();
    const pointers = new Map<string, DatasetPointer | undefined>();
    for (const [name, state] of changes) {
      if (state === null) {
        pointers.set(name, undefined);
        continue;
      }
      const bytes = encodeSchema(state.schema);
      const address = sha256(bytes);
      schemaCache.set(toHex(address), state.schema);
      access.nodes.write(address, bytes);
      pointers.set(name, { kind: 'table', root: state.root, count: state.count, schema: address });
    }
    // Chunks first (durable), then the pointer files (each replaced atomically).
    await access.nodes.flush();
    for (const [name, pointer] of pointers) this.repo.writeWorkPointer(name, pointer);
  }
}

/** A revision's tables: read-only. */
class RevisionTableStore implements TableStore {
  readonly writable = false;

  constructor(
    private readonly working: RepoTableStore,
    readonly label: string,
    private readonly pointers: Map<string, DatasetPointer>,
    readonly indexRoots: IndexRootCache,
  ) {}

  nodes(): Promise<NodeStore> {
    return this.working.nodes();
  }

  async listTables(): Promise<string[]> {
    return [...this.pointers].filter(([, p]) => p.kind === 'table').map(([n]) => n).sort();
  }

  async getTable(name: string): Promise<TableState | undefined> {
    return this.working.stateOf(name, this.pointers.get(name));
  }

  async hasDataset(name: string): Promise<boolean> {
    return this.pointers.has(name);
  }

  async beginWrite(): Promise<NodeStore> {
    throw readOnly(this.label);
  }

  async writeTables(): Promise<void> {
    throw readOnly(this.label);
  }
}

/**
 * Revisions of a repository for the SQL engine.
 * @example const session = new SqlSession({ store, revisions: new RepoRevisions(repo, store) });
 */
export class RepoRevisions implements RevisionSource {
  constructor(
    private readonly repo: Repo,
    private readonly working: RepoTableStore,
  ) {}

  async tablesAt(rev: string): Promise<TableStore> {
    const git = await this.repo.git();
    const commit = await git.resolve(rev);
    const pointers = new Map<string, DatasetPointer>();
    for (const { name, pointer } of await this.repo.datasets({ at: commit })) pointers.set(name, pointer);
    return new RevisionTableStore(this.working, rev, pointers, this.working.indexRoots);
  }

  async log(options: { limit?: number }): Promise<LogRecord[]> {
    const git = await this.repo.git();
    if (!(await git.head()).oid) return [];
    const entries = await this.repo.log({ limit: options.limit });
    return entries.map(({ commit, datasets }) => ({
      commit: commit.oid,
      parents: commit.parents,
      author: commit.author.name,
      email: commit.author.email,
      date: gitDate(commit.author.timestamp, commit.author.timezoneOffset),
      message: commit.message.trim(),
      datasets: datasets.map((d) => d.name),
    }));
  }

  async branches(): Promise<BranchRecord[]> {
    const git = await this.repo.git();
    const head = await git.head();
    const iso = (await import('isomorphic-git')).default;
    const fs = await import('node:fs');
    const names = await iso.listBranches({ fs, gitdir: this.repo.paths.commonDir });
    const out: BranchRecord[] = [];
    for (const name of names.sort()) {
      const commit = await iso.resolveRef({ fs, gitdir: this.repo.paths.commonDir, ref: `refs/heads/${name}` });
      out.push({ name, commit, current: head.ref === `refs/heads/${name}` });
    }
    return out;
  }
}

/** ISO 8601 with the commit's own UTC offset (git stores minutes west of UTC). */
function gitDate(seconds: number, minutesWest: number): string {
  const offset = -minutesWest;
  const local = new Date((seconds + offset * 60) * 1000).toISOString().slice(0, 19);
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * A session's store and revisions for a repository.
 * @example const { store, revisions } = repoTables(repo)
 */
export function repoTables(repo: Repo): { store: RepoTableStore; revisions: RepoRevisions } {
  const store = new RepoTableStore(repo);
  return { store, revisions: new RepoRevisions(repo, store) };
}

/**
 * Dataset: a named key-value map versioned with git — a thin layer over ProllyTree and blobs. Reads
 * come from the work tree's pointer (or any revision with `at`); each write applies its edits in one
 * tree mutation, makes the chunks durable, then atomically replaces the pointer file, so a crash
 * leaves the dataset at its last good state.
 */
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobRef, INLINE_VALUE_MAX, type TreeValue } from '../blob/blob-ref.js';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import type { ChunkStore } from '../store/chunk-store.js';
import type { NodeStore } from '../tree/node-store.js';
import { ProllyTree, prefixEnd, type Edit, type RangeOptions } from '../tree/prolly-tree.js';
import { fromUtf8, utf8 } from '../util/bytes.js';
import type { DatasetPointer } from '../repo/pointer.js';
import type { ImportFormat } from './import/records.js';
import { keyBytes, readValue, toTreeValue, valueStream, type KeyInput, type ValueInput } from './values.js';

/** Chunk store and node store to read or write trees with. */
export interface TreeAccess {
  store: ChunkStore;
  nodes: NodeStore;
  /** A directory for large temporary files (import sort runs); the OS temp dir when absent. */
  tempDir?: string;
}

/**
 * What a Dataset needs from its repository (implemented by Repo).
 * @example class MyHost implements DatasetHost { … }
 */
export interface DatasetHost {
  /** The dataset's pointer in the work tree, or at revision `at`; undefined when it does not exist. */
  pointer(name: string, at?: string): Promise<DatasetPointer | undefined>;
  /** Stores for reading. */
  reader(): Promise<TreeAccess>;
  /**
   * Run `fn` holding the repository's write lock with writable stores and the dataset's current
   * pointer; flush the chunks, then write the pointer `fn` returns (undefined: leave it as it was).
   */
  write<T>(name: string, fn: (access: TreeAccess, current: DatasetPointer | undefined) => Promise<{ pointer?: DatasetPointer; result: T }>): Promise<T>;
}

/** Options of {@link Dataset.scan}. */
export interface ScanOptions {
  /** Only keys starting with this. */
  prefix?: KeyInput;
  /** First key (inclusive). */
  from?: KeyInput;
  /** Last key (exclusive). */
  to?: KeyInput;
  /** At most this many entries. */
  limit?: number;
  /** Largest key first. */
  reverse?: boolean;
  /** Skip reading values (blobs are not fetched; `value` is an empty array). */
  keysOnly?: boolean;
  /** Read the dataset as of this git revision instead of the work tree. */
  at?: string;
}

/** One entry of a scan. */
export interface DatasetEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/** Options of {@link Dataset.import}. */
export interface ImportOptions {
  /** csv | ndjson | json; default from the file extension. */
  format?: ImportFormat | string;
  /** Key column (CSV) or field (JSON); default the first CSV column / the `id` field. */
  key?: string;
  /** Start from an empty dataset instead of upserting into the current one. */
  replace?: boolean;
  /** Called now and then with progress. */
  onProgress?: (p: { bytes: number; rows: number }) => void;
  /** Rows held in memory before sorted runs spill to temp files (default about 256 MiB of keys and values). */
  batchBytes?: number;
  /** Name for error messages when importing a stream. */
  file?: string;
}

/** Result of a write. */
export interface WriteResult {
  /** Entries in the dataset afterwards. */
  count: number;
  /** New root address. */
  root: Uint8Array;
}

/**
 * A dataset handle. Cheap to create; every call reads the current pointer, so a `git checkout`
 * between calls is seen by the next one.
 *
 * @example
 * const users = repo.dataset('users');
 * await users.put('alice', JSON.stringify({ age: 31 }));
 * const bytes = await users.get('alice');
 * for await (const { key, value } of users.scan({ prefix: 'a' })) …
 */
export class Dataset {
  readonly name: string;
  private readonly host: DatasetHost;

  constructor(host: DatasetHost, name: string) {
    this.host = host;
    this.name = name;
  }

  /** The pointer (root, count, kind) in the work tree or at `at`; undefined when the dataset does not exist. */
  async pointer(options: { at?: string } = {}): Promise<DatasetPointer | undefined> {
    return this.host.pointer(this.name, options.at);
  }

  /** True when the dataset exists (in the work tree or at `at`). */
  async exists(options: { at?: string } = {}): Promise<boolean> {
    return (await this.pointer(options)) !== undefined;
  }

  /** The tree as of `at` (work tree by default). ENODATASET when the dataset does not exist. */
  async tree(options: { at?: string } = {}): Promise<ProllyTree> {
    const pointer = await this.requirePointer(options.at);
    const { nodes } = await this.host.reader();
    return ProllyTree.open(nodes, pointer.root);
  }

  /** Number of entries. */
  async count(options: { at?: string } = {}): Promise<number> {
    return (await this.requirePointer(options.at)).count;
  }

  /**
   * The value at `key` (blobs read back whole), or undefined.
   * @example const v = await ds.get('alice', { at: 'HEAD~1' })
   */
  async get(key: KeyInput, options: { at?: string } = {}): Promise<Uint8Array | undefined> {
    const raw = await this.getRaw(key, options);
    if (raw === undefined) return undefined;
    return readValue((await this.host.reader()).store, raw);
  }

  /** The value at `key` as UTF-8 text, or undefined. */
  async getText(key: KeyInput, options: { at?: string } = {}): Promise<string | undefined> {
    const v = await this.get(key, options);
    return v === undefined ? undefined : fromUtf8(v);
  }

  /** The stored form of a value: inline bytes or a BlobRef. */
  async getRaw(key: KeyInput, options: { at?: string } = {}): Promise<TreeValue | undefined> {
    const k = keyBytes(key);
    return (await this.tree(options)).get(k);
  }

  /** The value at `key` as a stream (blobs chunk by chunk), or undefined. */
  async getStream(key: KeyInput, options: { at?: string } = {}): Promise<AsyncIterable<Uint8Array> | undefined> {
    const raw = await this.getRaw(key, options);
    if (raw === undefined) return undefined;
    return valueStream((await this.host.reader()).store, raw);
  }

  /**
   * Set one key. Values over 1 KiB (and streams) are stored as content-defined-chunked blobs.
   * Creates the dataset if it does not exist.
   * @example await ds.put('photo/1', fs.createReadStream('1.jpg'))
   */
  async put(key: KeyInput, value: ValueInput): Promise<WriteResult> {
    return this.putMany([[key, value]]);
  }

  /**
   * Set many keys in one tree mutation (later entries for the same key win).
   * @example await ds.putMany([['a', '1'], ['b', '2']])
   */
  async putMany(entries: Iterable<[KeyInput, ValueInput]> | AsyncIterable<[KeyInput, ValueInput]>): Promise<WriteResult> {
    return this.edit(async (store) => {
      const edits: Edit[] = [];
      for await (const [k, v] of entries) edits.push({ key: keyBytes(k), value: await toTreeValue(store, v) });
      return edits;
    });
  }

  /**
   * Delete keys. Returns how many existed.
   * @example await ds.del('alice')
   */
  async del(...keys: KeyInput[]): Promise<WriteResult & { deleted: number }> {
    let deleted = 0;
    const result = await this.host.write(this.name, async (access, current) => {
      if (!current) throw unknownDataset(this.name);
      const tree = await ProllyTree.open(access.nodes, current.root);
      const ks = keys.map(keyBytes);
      const present = await tree.getMany(ks);
      const edits = ks.filter((_, i) => present[i] !== undefined).map((key) => ({ key, value: null }));
      deleted = edits.length;
      if (edits.length === 0) return { result: { count: tree.count, root: tree.root } };
      const next = await tree.mutate(edits);
      return { pointer: { ...current, root: next.root, count: next.count }, result: { count: next.count, root: next.root } };
    });
    return { ...result, deleted };
  }

  /**
   * Entries in key order within the bounds.
   * @example for await (const { key, value } of ds.scan({ from: 'a', to: 'b', limit: 10 })) …
   */
  async *scan(options: ScanOptions = {}): AsyncGenerator<DatasetEntry> {
    const tree = await this.tree({ at: options.at });
    const { store } = await this.host.reader();
    const range: RangeOptions = { reverse: options.reverse, limit: options.limit };
    if (options.prefix !== undefined) range.prefix = keyBytes(options.prefix);
    if (options.from !== undefined) range.gte = keyBytes(options.from);
    if (options.to !== undefined) range.lt = keyBytes(options.to);
    if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) throw invalidArgument(`limit must be a non-negative integer, got ${options.limit}`);
    const empty = new Uint8Array(0);
    for await (const [key, value] of tree.range(range)) {
      yield { key, value: options.keysOnly ? empty : value instanceof BlobRef ? await readValue(store, value) : value };
    }
  }

  /**
   * Import a CSV / NDJSON / JSON-array file (or stream) in one pass with bounded memory. Each row is
   * stored under its key column as compact JSON. A malformed row aborts with an error naming the
   * file and line before the pointer changes: the dataset stays as it was.
   * @example await ds.import('fixtures/sample/users.csv', { key: 'id' })
   */
  async import(input: string | AsyncIterable<Uint8Array>, options: ImportOptions = {}): Promise<WriteResult & { rows: number }> {
    // The import machinery is loaded here, not at start-up: most commands never import.
    const [{ ImportSorter, mergeSorted }, { formatOf, parseFormat, readRecords }] = await Promise.all([import('./import/sorter.js'), import('./import/records.js')]);
    const file = typeof input === 'string' ? input : (options.file ?? 'stdin');
    const format = options.format !== undefined ? parseFormat(options.format) : formatOf(file);
    if (!format) throw invalidArgument(`cannot tell the format of ${file} from its extension; pass format (csv, ndjson or json)`, { file });
    let rows = 0;
    const result = await this.host.write(this.name, async (access, current) => {
      if (current && current.kind !== 'kv') throw notKv(this.name, current.kind);
      const base = options.replace || !current ? undefined : await ProllyTree.open(access.nodes, current.root);
      let bytes = 0;
      const source = typeof input === 'string' ? countingStream(createReadStream(input, { highWaterMark: 1 << 16 }), (n) => (bytes += n)) : countingStream(input, (n) => (bytes += n));
      const sorter = new ImportSorter({
        tempDir: join(access.tempDir ?? tmpdir(), `import-${process.pid}-${Date.now().toString(36)}`),
        runBytes: options.batchBytes,
        maxInline: INLINE_VALUE_MAX,
      });
      try {
        for await (const records of readRecords({ source, format, file, key: options.key })) {
          for (const r of records) {
            // Over the inline limit: the row becomes a blob.
            if (!sorter.addText(r.key, r.value)) sorter.addValue(utf8(r.key), await toTreeValue(access.store, utf8(r.value)));
          }
          rows += records.length;
          options.onProgress?.({ bytes, rows });
        }
        let tree: ProllyTree;
        if (!base) tree = await ProllyTree.fromSorted(access.nodes, sorter.entries());
        else if (sorter.inMemory && sorter.rows * 16 < base.count) {
          // A few rows into a big dataset: edit the nodes they touch.
          tree = await base.mutate(Array.from(sorter.entries(), ([key, value]) => ({ key, value })));
        } else {
          // Many rows: one streaming rebuild beats rewriting most nodes edit batch by edit batch.
          tree = await ProllyTree.fromSorted(access.nodes, mergeSorted(base.range(), sorter.entries()));
        }
        options.onProgress?.({ bytes, rows });
        return { pointer: { kind: 'kv', root: tree.root, count: tree.count }, result: { count: tree.count, root: tree.root } };
      } finally {
        sorter.dispose();
      }
    });
    return { ...result, rows };
  }

  /** Apply edits computed from the store (values may be written as blobs first). */
  private async edit(makeEdits: (store: ChunkStore) => Promise<Edit[]>): Promise<WriteResult> {
    return this.host.write(this.name, async (access, current) => {
      if (current && current.kind !== 'kv') throw notKv(this.name, current.kind);
      const tree = current ? await ProllyTree.open(access.nodes, current.root) : await ProllyTree.empty(access.nodes);
      const edits = await makeEdits(access.store);
      const next = edits.length > 0 ? await tree.mutate(edits) : tree;
      return { pointer: { kind: 'kv', root: next.root, count: next.count }, result: { count: next.count, root: next.root } };
    });
  }

  private async requirePointer(at: string | undefined): Promise<DatasetPointer> {
    const p = await this.host.pointer(this.name, at);
    if (!p) throw unknownDataset(this.name, at);
    return p;
  }
}

/**
 * ENODATASET for a dataset that does not exist.
 * @example if (!pointer) throw unknownDataset('users', 'HEAD~1')
 */
export function unknownDataset(name: string, at?: string): ProllyError {
  return new ProllyError(ErrorCodes.UNKNOWN_DATASET, `unknown dataset ${JSON.stringify(name)}${at ? ` at ${at}` : ''} (see git prolly datasets)`, { dataset: name, at });
}

function notKv(name: string, kind: string): ProllyError {
  return new ProllyError(ErrorCodes.INVALID_ARGUMENT, `dataset ${JSON.stringify(name)} is a ${kind}; write to it with SQL, not key-value commands`, { dataset: name, kind });
}

async function* countingStream(source: AsyncIterable<Uint8Array>, count: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const piece of source) {
    count(piece.length);
    yield piece;
  }
}

/** The exclusive upper bound of keys with a prefix (re-exported for range-building callers). */
export { prefixEnd };

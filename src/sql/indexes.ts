/**
 * Secondary indexes (docs/FORMAT.md, "Secondary indexes"). An index is its own prolly tree whose keys
 * are the index columns followed by the primary key (so every key is unique and a prefix scan on the
 * index columns yields primary keys in order) and whose values are empty.
 *
 * The index definition lives in the table schema and is versioned with it; the index tree is derived
 * data: a pure function of the rows and the definition. Its root is kept in an IndexRootCache keyed by
 * (fingerprint of the definition, table root), updated by every write. When a table root has no entry
 * (after a checkout, merge or clone), the index is caught up from the most recent known root by a
 * structural diff of the two row trees, or built from scratch. So merges never see index trees, and an
 * index can never disagree with its rows.
 */
import { BlobRef, type TreeValue } from '../blob/blob-ref.js';
import { readValue } from '../dataset/values.js';
import { ErrorCodes, ProllyError } from '../errors.js';
import type { NodeStore } from '../tree/node-store.js';
import { ProllyTree, type Edit } from '../tree/prolly-tree.js';
import { compareBytes, equalBytes, utf8 } from '../util/bytes.js';
import { sha256 } from '../util/hash.js';
import { toHex } from '../util/bytes.js';
import { decodeKey, encodeKey, prefixRange, type KeyColumnType, type KeyInput } from './key-codec.js';
import { keyColumns, type IndexSchema, type TableSchema } from './schema.js';
import { rowDecoder, TableHandle } from './table.js';
import type { IndexRootCache } from './table-store.js';
import type { EngineRow } from './values.js';

const EMPTY = new Uint8Array(0);

/**
 * Types of an index key: the index columns, then the primary key columns (or the hidden row id).
 * @example indexKeyTypes(schema, index) // ['text', 'integer']
 */
export function indexKeyTypes(schema: TableSchema, index: IndexSchema): KeyColumnType[] {
  const kc = keyColumns(schema);
  return [...index.columns.map((id) => schema.columns.find((c) => c.id === id)!.type as KeyColumnType), ...kc.types];
}

/**
 * Names of the index columns followed by the key columns.
 * @example indexKeyNames(schema, index) // ['email', 'id']
 */
export function indexKeyNames(schema: TableSchema, index: IndexSchema): string[] {
  return [...index.columns.map((id) => schema.columns.find((c) => c.id === id)!.name), ...keyColumns(schema).names];
}

/**
 * The index key of a row (NULL index values sort first).
 * @example indexKeyOf(schema, index, { id: 7, name: 'Ada' })
 */
export function indexKeyOf(schema: TableSchema, index: IndexSchema, row: Readonly<Record<string, unknown>>): Uint8Array {
  const values = indexKeyNames(schema, index).map((n) => (row[n] === undefined ? null : row[n])) as KeyInput[];
  return encodeKey(values, indexKeyTypes(schema, index));
}

/**
 * What an index tree depends on: its columns (ids, types, defaults — rows written before a column was
 * added read as its default) and the key columns. Equal fingerprints ⇒ equal index trees for equal rows.
 * @example indexFingerprint(schema, index) // '3f1c…' (32 hex digits)
 */
export function indexFingerprint(schema: TableSchema, index: IndexSchema): string {
  const kc = keyColumns(schema);
  const doc = {
    v: 1,
    columns: index.columns.map((id) => {
      const c = schema.columns.find((x) => x.id === id)!;
      return { id, type: c.type, default: c.default === null ? null : String(c.default instanceof Uint8Array ? toHex(c.default) : typeof c.default === 'object' ? JSON.stringify(c.default) : c.default) };
    }),
    key: kc.hidden ? 'rowid' : kc.ids.map((id, i) => ({ id, type: kc.types[i] })),
  };
  return toHex(sha256(utf8(JSON.stringify(doc)))).slice(0, 32);
}

/**
 * Index edits for one row change (before / after undefined for an insert / delete).
 * @example indexEditsForRow(schema, index, oldRow, newRow) // [{ key: old, value: null }, { key: new, value: empty }]
 */
export function indexEditsForRow(schema: TableSchema, index: IndexSchema, before: Readonly<Record<string, unknown>> | undefined, after: Readonly<Record<string, unknown>> | undefined): Edit[] {
  const a = before ? indexKeyOf(schema, index, before) : undefined;
  const b = after ? indexKeyOf(schema, index, after) : undefined;
  if (a && b && equalBytes(a, b)) return [];
  const out: Edit[] = [];
  if (a) out.push({ key: a, value: null });
  if (b) out.push({ key: b, value: EMPTY });
  return out;
}

/**
 * Build an index tree from every row of a table.
 * @example const tree = await buildIndexTree(handle, index)
 */
export async function buildIndexTree(table: TableHandle, index: IndexSchema): Promise<ProllyTree> {
  const keys: Uint8Array[] = [];
  await table.scanRows(null, (row) => {
    keys.push(indexKeyOf(table.schema, index, row));
  });
  // Index keys are unique (they end with the primary key): sort them and build bottom-up in one pass.
  keys.sort((a, b) => Buffer.compare(a, b));
  return ProllyTree.fromSorted(
    table.nodes,
    (function* () {
      for (const k of keys) yield [k, EMPTY] as [Uint8Array, Uint8Array];
    })(),
  );
}

/**
 * Bring an index tree for the rows at `fromRoot` up to the rows at `toRoot` with a structural diff of
 * the two row trees (cost follows the size of the change).
 * @example await catchUpIndex({ nodes, schema, index, fromRoot, toRoot, indexRoot })
 */
export async function catchUpIndex(options: { nodes: NodeStore; schema: TableSchema; index: IndexSchema; fromRoot: Uint8Array; toRoot: Uint8Array; indexRoot: Uint8Array }): Promise<ProllyTree> {
  const { nodes, schema, index } = options;
  const decode = rowDecoder(schema);
  const from = await ProllyTree.open(nodes, options.fromRoot);
  const to = await ProllyTree.open(nodes, options.toRoot);
  const bytes = async (v: TreeValue) => (v instanceof BlobRef ? readValue(nodes.chunks, v) : v);
  const edits: Edit[] = [];
  for await (const d of from.diff(to)) {
    const before = d.type === 'added' ? undefined : decode(d.key, await bytes(d.from));
    const after = d.type === 'removed' ? undefined : decode(d.key, await bytes(d.to));
    edits.push(...indexEditsForRow(schema, index, before, after));
  }
  const tree = await ProllyTree.open(nodes, options.indexRoot);
  return edits.length === 0 ? tree : tree.mutate(edits);
}

/** How an index tree was obtained (shown by EXPLAIN). */
export type IndexSource = 'cached' | 'caught-up' | 'built';

/**
 * The index tree for a table's current rows: from the cache, caught up from the latest cached root, or
 * built. Building or catching up writes nodes, so it needs `writable`; without it, undefined is returned
 * for a missing index and the caller scans the table instead.
 * @example const ix = await indexTreeFor({ table, index, cache, writable: true })
 */
export async function indexTreeFor(options: { table: TableHandle; index: IndexSchema; cache: IndexRootCache; writable: boolean }): Promise<{ tree: ProllyTree; source: IndexSource } | undefined> {
  const { table, index, cache } = options;
  const fp = indexFingerprint(table.schema, index);
  const known = cache.get(fp, table.state.root);
  if (known) {
    try {
      return { tree: await ProllyTree.open(table.nodes, known), source: 'cached' };
    } catch (e) {
      if (!(e instanceof ProllyError)) throw e; // a cached root whose nodes are gone: rebuild below
    }
  }
  if (!options.writable) return undefined;
  const latest = cache.latest(fp);
  let tree: ProllyTree | undefined;
  let source: IndexSource = 'built';
  if (latest) {
    try {
      tree = await catchUpIndex({ nodes: table.nodes, schema: table.schema, index, fromRoot: latest.tableRoot, toRoot: table.state.root, indexRoot: latest.indexRoot });
      source = 'caught-up';
    } catch (e) {
      if (!(e instanceof ProllyError)) throw e;
      tree = undefined; // the old rows are unreadable under this schema, or their nodes are gone
    }
  }
  tree ??= await buildIndexTree(table, index);
  cache.set(fp, table.state.root, tree.root);
  return { tree, source };
}

/**
 * Primary keys of rows whose index columns equal `values` (a prefix of the index columns), for UNIQUE
 * checks: at most `limit` keys.
 * @example await indexPrefixKeys(tree, schema, index, ['ada@example.com'], 2)
 */
export async function indexPrefixKeys(tree: ProllyTree, schema: TableSchema, index: IndexSchema, values: readonly unknown[], limit: number): Promise<Uint8Array[]> {
  const types = indexKeyTypes(schema, index);
  const range = prefixRange(values.map((v) => (v === undefined ? null : v)) as KeyInput[], types);
  const out: Uint8Array[] = [];
  for await (const [key] of tree.range({ gte: range.start, ...(range.end ? { lt: range.end } : {}), limit })) out.push(key);
  return out;
}

/**
 * UNIQUE check of a whole index tree (after CREATE UNIQUE INDEX or an import): adjacent entries with
 * equal non-NULL index columns are a violation, named in an ESQLCONSTRAINT error.
 * @example await checkUniqueTree(handle, index, tree)
 */
export async function checkUniqueTree(handle: TableHandle, index: IndexSchema, tree: ProllyTree): Promise<void> {
  const schema = handle.schema;
  const names = index.columns.map((id) => schema.columns.find((c) => c.id === id)!.name);
  const types = indexKeyTypes(schema, index);
  let prev: unknown[] | undefined;
  for await (const [k] of tree.range()) {
    const values = decodeKey(k, types).slice(0, names.length);
    if (values.some((v) => v === null)) {
      prev = undefined;
      continue;
    }
    if (prev && compareBytes(encodeKey(prev as KeyInput[], types.slice(0, names.length)), encodeKey(values as KeyInput[], types.slice(0, names.length))) === 0) {
      throw new ProllyError(ErrorCodes.SQL_CONSTRAINT, `UNIQUE index ${index.name}: table ${JSON.stringify(handle.name)} would have more than one row with (${names.join(', ')}) = (${values.map(showValue).join(', ')}); nothing was changed`, {
        table: handle.name,
        column: names.join(', '),
      });
    }
    prev = values;
  }
}


/** Re-export for callers that decode rows of an index's table. */
export type { EngineRow };

function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `x'${toHex(v)}'`;
  return String(v);
}

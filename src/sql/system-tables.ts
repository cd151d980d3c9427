/**
 * System tables: `prolly_log` (commits that changed datasets), `prolly_branches`, `prolly_tables` (the
 * tables and their shape) and the table function `prolly_diff('table', 'from_rev' [, 'to_rev'])`, which
 * gives every row that differs between two states of a table: `diff_type` ('added' | 'removed' |
 * 'modified'), then `from_<column>` and `to_<column>` for every column (NULL on the side that lacks the
 * row). Diffs are structural: their cost follows the number of changed rows.
 */
import { BlobRef, type TreeValue } from '../blob/blob-ref.js';
import { readValue } from '../dataset/values.js';
import { ErrorCodes, ProllyError } from '../errors.js';
import { ProllyTree } from '../tree/prolly-tree.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { keyColumns, ROWID_COLUMN, type TableSchema } from './schema.js';
import { rowDecoder } from './table.js';
import type { RevisionSource, TableState, TableStore } from './table-store.js';
import type { EngineRow } from './values.js';

/** Rows and column names of a system table. */
export interface SystemRows {
  columns: string[];
  rows: EngineRow[];
}

function needGit(what: string): ProllyError {
  return new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `${what} needs a git repository (run git prolly sql inside one)`, {});
}

/**
 * `prolly_log`: commit, author, email, date, message, datasets (comma-separated), newest first.
 * @example await logRows(revisions)
 */
export async function logRows(revisions: RevisionSource | undefined): Promise<SystemRows> {
  if (!revisions?.log) throw needGit('prolly_log');
  const log = await revisions.log({});
  return {
    columns: ['commit', 'author', 'email', 'date', 'message', 'datasets', 'parents'],
    rows: log.map((c) => ({ commit: c.commit, author: c.author, email: c.email, date: c.date, message: c.message, datasets: c.datasets.join(','), parents: c.parents.join(',') })),
  };
}

/**
 * `prolly_branches`: name, commit, current.
 * @example await branchRows(revisions)
 */
export async function branchRows(revisions: RevisionSource | undefined): Promise<SystemRows> {
  if (!revisions?.branches) throw needGit('prolly_branches');
  const branches = await revisions.branches();
  return { columns: ['name', 'commit', 'current'], rows: branches.map((b) => ({ name: b.name, commit: b.commit, current: b.current })) };
}

/**
 * `prolly_tables`: name, rows, columns, primary_key, indexes, root.
 * @example await tableRows(store, (name) => session.table(name))
 */
export async function tableRows(names: readonly string[], get: (name: string) => Promise<TableState | undefined>): Promise<SystemRows> {
  const rows: EngineRow[] = [];
  for (const name of names) {
    const t = await get(name);
    if (!t) continue;
    const kc = keyColumns(t.schema);
    rows.push({
      name,
      rows: t.count,
      columns: t.schema.columns.map((c) => `${c.name} ${c.type}${c.notNull ? ' not null' : ''}`).join(', '),
      primary_key: kc.hidden ? undefined : kc.names.join(', '),
      indexes: (t.schema.indexes ?? []).map((ix) => ix.name).join(', ') || undefined,
      root: toHex(t.root),
    });
  }
  return { columns: ['name', 'rows', 'columns', 'primary_key', 'indexes', 'root'], rows };
}

/** Column names of a diff between two schemas of a table (the later schema's columns first). */
function diffColumns(from: TableSchema | undefined, to: TableSchema | undefined): string[] {
  const names: string[] = [];
  const add = (s: TableSchema | undefined) => {
    if (!s) return;
    if (s.primaryKey.length === 0 && !names.includes(ROWID_COLUMN)) names.push(ROWID_COLUMN);
    for (const c of s.columns) if (!names.includes(c.name)) names.push(c.name);
  };
  add(to);
  add(from);
  return names;
}

/**
 * Rows of `prolly_diff(table, from, to)` given the two states (undefined: the table does not exist
 * there, so every row of the other side is added / removed).
 * @example await diffRows({ table: 'orders', from, to, fromStore, toStore })
 */
export async function diffRows(options: { table: string; from: TableState | undefined; to: TableState | undefined; fromStore: TableStore; toStore: TableStore }): Promise<SystemRows> {
  const { from, to } = options;
  if (!from && !to) throw new ProllyError(ErrorCodes.SQL_NAME, `prolly_diff: table ${JSON.stringify(options.table)} exists at neither revision`, { table: options.table });
  const names = diffColumns(from?.schema, to?.schema);
  const columns = ['diff_type', ...names.map((n) => `from_${n}`), ...names.map((n) => `to_${n}`)];
  if (from && to) {
    const a = keyColumns(from.schema);
    const b = keyColumns(to.schema);
    if (a.types.join() !== b.types.join() || a.names.join() !== b.names.join()) {
      throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `prolly_diff: the primary key of ${JSON.stringify(options.table)} differs between the revisions (${a.names.join(', ')} vs ${b.names.join(', ')}); rows cannot be matched`, { table: options.table });
    }
  }
  const fromNodes = await options.fromStore.nodes();
  const toNodes = await options.toStore.nodes();
  const decodeFrom = from ? rowDecoder(from.schema) : undefined;
  const decodeTo = to ? rowDecoder(to.schema) : undefined;
  const bytes = async (v: TreeValue, nodes: typeof fromNodes) => (v instanceof BlobRef ? readValue(nodes.chunks, v) : v);
  const rows: EngineRow[] = [];
  const emit = (type: string, before: EngineRow | undefined, after: EngineRow | undefined) => {
    const row: EngineRow = { diff_type: type };
    for (const n of names) {
      row[`from_${n}`] = before?.[n];
      row[`to_${n}`] = after?.[n];
    }
    rows.push(row);
  };
  // Both trees in one node store (same repository) diff structurally; otherwise compare side by side.
  const fromTree = await ProllyTree.open(fromNodes, from ? from.root : undefined);
  const toTree = await ProllyTree.open(toNodes, to ? to.root : undefined);
  if (from && to && equalBytes(from.root, to.root) && from.schema === to.schema) return { columns, rows };
  const sameSchemaBytes = from && to && JSON.stringify(from.schema) === JSON.stringify(to.schema);
  if (fromNodes === toNodes) {
    for await (const d of fromTree.diff(toTree)) {
      const before = d.type === 'added' ? undefined : decodeFrom!(d.key, await bytes(d.from, fromNodes));
      const after = d.type === 'removed' ? undefined : decodeTo!(d.key, await bytes(d.to, toNodes));
      emit(d.type, before, after);
    }
  } else {
    const left = new Map<string, EngineRow>();
    for await (const [k, v] of fromTree.range()) left.set(toHex(k), decodeFrom!(k, await bytes(v, fromNodes)));
    for await (const [k, v] of toTree.range()) {
      const after = decodeTo!(k, await bytes(v, toNodes));
      const hex = toHex(k);
      const before = left.get(hex);
      left.delete(hex);
      if (!before) emit('added', undefined, after);
      else if (JSON.stringify(before, jsonSafe) !== JSON.stringify(after, jsonSafe)) emit('modified', before, after);
    }
    for (const before of left.values()) emit('removed', before, undefined);
  }
  // A schema change alone (a new column with a default) shows as modified rows only when values differ.
  if (!sameSchemaBytes && from && to) {
    return { columns, rows: rows.filter((r) => r.diff_type !== 'modified' || names.some((n) => !sameValue(r[`from_${n}`], r[`to_${n}`]))) };
  }
  return { columns, rows };
}

function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return toHex(v);
  return v;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null, jsonSafe) === JSON.stringify(b ?? null, jsonSafe);
}

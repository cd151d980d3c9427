/**
 * The table schema model (docs/FORMAT.md, "SQL row keys and rows"): columns with stable ids, a primary
 * key (or a hidden row id), canonical serialisation for the schema chunk, value coercion for writes and
 * CSV type inference for imports.
 *
 * Column ids are assigned once and never reused: rows store values by column id, so RENAME COLUMN and
 * DROP COLUMN change only the schema, and a column added later reads as its default in older rows.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { equalBytes, fromHex, toHex, utf8 } from '../util/bytes.js';
import { dateToDays, datetimeToMs, daysToDate, msToDatetime } from './temporal.js';
import {
  describeValue,
  INT64_MAX,
  INT64_MIN,
  isColumnType,
  isWellFormedText,
  normalizeInteger,
  valueError,
  type ColumnType,
  type JsonValue,
  type KeyColumnType,
  type SqlValue,
} from './types.js';

/** One column of a table. */
export interface ColumnSchema {
  /** Stable id: the row codec stores values by it. */
  readonly id: number;
  readonly name: string;
  readonly type: ColumnType;
  readonly notNull: boolean;
  /**
   * Value an INSERT that omits the column gets, and the value rows written before the column was added
   * read as. `null` means no default (NULL).
   */
  readonly default: SqlValue;
}

/** A table: its columns in display order, its key, and the id the next added column gets. */
export interface TableSchema {
  readonly name: string;
  readonly columns: readonly ColumnSchema[];
  /** Column ids of the primary key in key order; empty means the table is keyed by a hidden row id. */
  readonly primaryKey: readonly number[];
  /** Next unused column id (greater than every id ever used, including dropped columns). */
  readonly nextColumnId: number;
  /** Secondary indexes (absent when there are none). */
  readonly indexes?: readonly IndexSchema[];
}

/**
 * A secondary index: a separate prolly tree keyed by the index columns followed by the primary key
 * (docs/FORMAT.md, "Secondary indexes"). It is part of the schema (so CREATE INDEX is versioned); its
 * tree is derived from the rows and is not.
 */
export interface IndexSchema {
  readonly name: string;
  /** Column ids in index key order. */
  readonly columns: readonly number[];
  /** True for a UNIQUE index: no two rows may have equal, non-NULL values in all its columns. */
  readonly unique: boolean;
}

/** A column as a caller declares it (ids are assigned by defineTable / addColumn). */
export interface ColumnDefinition {
  name: string;
  type: ColumnType;
  notNull?: boolean;
  default?: unknown;
}

/** Name of the hidden integer key column of a table declared without a primary key. */
export const ROWID_COLUMN = '_rowid';

/** Schema serialisation format version (the `version` field of the canonical JSON). */
export const SCHEMA_FORMAT_VERSION = 1;

const MAX_NAME_LENGTH = 128;

/** Where a value came from, for error messages. */
export interface ValueContext {
  table?: string;
  /** Row number (1-based, as in a CSV file) or key text. */
  row?: number | string;
}

function schemaError(table: string | undefined, column: string | undefined, message: string): ProllyError {
  const where = [table !== undefined ? `table ${JSON.stringify(table)}` : '', column !== undefined ? `column ${JSON.stringify(column)}` : '']
    .filter(Boolean)
    .join(', ');
  return new ProllyError(ErrorCodes.SQL_SCHEMA, where ? `${where}: ${message}` : message, { table, column });
}

/** ASCII case folding, as SQL identifiers compare (SQLite folds ASCII only). */
function foldName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function checkName(what: 'table' | 'column', name: unknown, table: string | undefined): string {
  const label = what === 'table' ? undefined : typeof name === 'string' ? name : String(name);
  if (typeof name !== 'string' || name.length === 0) throw schemaError(table, label, `${what} name must be a non-empty string`);
  if (name.length > MAX_NAME_LENGTH) throw schemaError(table, label, `${what} name is longer than ${MAX_NAME_LENGTH} characters`);
  if (!isWellFormedText(name) || /[\u0000-\u001f\u007f]/.test(name)) throw schemaError(table, label, `${what} name has a control character or invalid Unicode`);
  if (name.trim() !== name) throw schemaError(table, label, `${what} name has leading or trailing spaces`);
  return name;
}

function prefix(column: ColumnSchema | { name: string; type: ColumnType }, context: ValueContext): string {
  const parts: string[] = [];
  if (context.table !== undefined) parts.push(`table ${JSON.stringify(context.table)}`);
  if (context.row !== undefined) parts.push(`row ${context.row}`);
  parts.push(`column ${JSON.stringify(column.name)} (${column.type})`);
  return parts.join(', ');
}

function columnValueError(column: { name: string; type: ColumnType }, context: ValueContext, v: unknown, why: string): ProllyError {
  return valueError(`${prefix(column, context)}: ${describeValue(v)} ${why}`, { table: context.table, row: context.row, column: column.name, type: column.type });
}

const INT_TEXT = /^[+-]?\d+$/;
const REAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY_TEXT = /^([+-]?)(?:inf|infinity)$/i;
const TRUE_TEXT = /^(?:true|t|yes|y|1)$/i;
const FALSE_TEXT = /^(?:false|f|no|n|0)$/i;

/** Check that `v` is JSON data (plain objects, arrays, strings, finite numbers, booleans, null). */
function checkJson(v: unknown, seen: Set<object>): string | undefined {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') {
    return typeof v === 'string' && !isWellFormedText(v) ? 'holds a string with a lone surrogate' : undefined;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : `holds ${v}, which JSON cannot represent`;
  if (typeof v !== 'object') return `holds a ${typeof v}, which JSON cannot represent`;
  if (seen.has(v)) return 'is cyclic';
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return `holds a ${proto?.constructor?.name ?? 'non-plain'} object`;
  seen.add(v);
  for (const item of Array.isArray(v) ? v : Object.values(v)) {
    if (item === undefined) return 'holds undefined';
    const why = checkJson(item, seen);
    if (why) return why;
  }
  seen.delete(v);
  return undefined;
}

function coerceNonNull(column: { name: string; type: ColumnType }, v: unknown, context: ValueContext): SqlValue {
  const fail = (why: string): never => {
    throw columnValueError(column, context, v, why);
  };
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ProllyError) throw valueError(`${prefix(column, context)}: ${e.message}`, { ...e.data, table: context.table, row: context.row, column: column.name, type: column.type });
      throw e;
    }
  };
  switch (column.type) {
    case 'integer': {
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'number') {
        if (!Number.isInteger(v)) return fail('is not an integer');
        if (!Number.isSafeInteger(v)) return fail('is beyond ±2^53 and has lost precision; pass a bigint');
        return v === 0 ? 0 : v;
      }
      if (typeof v === 'bigint') {
        if (v < INT64_MIN || v > INT64_MAX) return fail('is outside the int64 range');
        return normalizeInteger(v);
      }
      if (typeof v === 'string' && INT_TEXT.test(v.trim())) {
        const b = BigInt(v.trim());
        if (b < INT64_MIN || b > INT64_MAX) return fail('is outside the int64 range');
        return normalizeInteger(b);
      }
      return fail('is not an integer');
    }
    case 'real': {
      // SQLite stores NaN as NULL; we do the same rather than invent an order for it.
      if (typeof v === 'number') return Number.isNaN(v) ? null : v === 0 ? 0 : v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'string') {
        const s = v.trim();
        if (REAL_TEXT.test(s)) return Number(s) === 0 ? 0 : Number(s);
        const inf = INFINITY_TEXT.exec(s);
        if (inf) return inf[1] === '-' ? -Infinity : Infinity;
      }
      return fail('is not a real number');
    }
    case 'text':
      if (typeof v === 'string') return isWellFormedText(v) ? v : fail('has a lone surrogate (not valid Unicode)');
      if (typeof v === 'number' || typeof v === 'bigint') return String(v);
      return fail('is not text');
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1 || v === 0n || v === 1n) return Number(v) === 1;
      if (typeof v === 'string') {
        if (TRUE_TEXT.test(v.trim())) return true;
        if (FALSE_TEXT.test(v.trim())) return false;
      }
      return fail('is not a boolean');
    case 'bytes':
      if (v instanceof Uint8Array) return new Uint8Array(v);
      if (v instanceof ArrayBuffer) return new Uint8Array(v.slice(0));
      if (typeof v === 'string' && /^\\x([0-9a-fA-F]{2})*$/.test(v)) return fromHex(v.slice(2));
      return fail("is not bytes (a Uint8Array, or text '\\x' followed by hex digits)");
    case 'json': {
      let parsed: unknown = v;
      if (typeof v === 'string') {
        try {
          parsed = JSON.parse(v);
        } catch {
          return fail('is not valid JSON text');
        }
      }
      const why = checkJson(parsed, new Set());
      if (why) return fail(`is not JSON data: it ${why}`);
      // A deep copy through text: the stored form is that text, so this is exactly what reads return.
      return JSON.parse(JSON.stringify(parsed)) as SqlValue;
    }
    case 'date':
      if (typeof v === 'string' || v instanceof Date) return guard(() => daysToDate(dateToDays(typeof v === 'string' ? v.trim() : v)));
      return fail("is not a date ('YYYY-MM-DD' text or a Date)");
    case 'datetime':
      if (typeof v === 'string' || v instanceof Date) return guard(() => msToDatetime(datetimeToMs(typeof v === 'string' ? v.trim() : v)));
      if (typeof v === 'number' && Number.isSafeInteger(v)) return guard(() => msToDatetime(v)); // epoch milliseconds
      return fail('is not a datetime (ISO 8601 text, a Date or epoch milliseconds)');
  }
}

/**
 * Convert a value to the column's in-memory form (see src/sql/types.ts), or throw ESQLVALUE naming the
 * table, row and column. `null`, `undefined` and, outside text columns, the empty string are NULL; NaN in
 * a real column is NULL (as in SQLite). Text is converted only where nothing is lost: '42' → 42 for an
 * integer, 'true' / 'yes' / '1' → true for a boolean, ISO text → canonical date / datetime text,
 * JSON text → parsed JSON.
 * @example coerceValue({ name: 'age', type: 'integer', notNull: false }, '42') // 42
 * @example coerceValue({ name: 'age', type: 'integer', notNull: true }, null, { table: 'people', row: 3 })
 *   // throws ESQLVALUE: table "people", row 3, column "age" (integer): NULL violates NOT NULL
 */
export function coerceValue(column: { name: string; type: ColumnType; notNull?: boolean }, value: unknown, context: ValueContext = {}): SqlValue {
  const isNull = value === null || value === undefined || (value === '' && column.type !== 'text');
  const out = isNull ? null : coerceNonNull(column, value, context);
  if (out === null && column.notNull) throw columnValueError(column, context, value, 'violates NOT NULL');
  return out;
}

/** A declared default, coerced like any user value (for json, a string is JSON text). */
function userDefault(table: string, c: ColumnDefinition | undefined): SqlValue {
  if (c?.default === undefined || c.default === null || !isColumnType(c.type) || typeof c.name !== 'string') return (c?.default ?? null) as SqlValue;
  try {
    return coerceValue({ name: c.name, type: c.type }, c.default);
  } catch (e) {
    throw schemaError(table, c.name, `invalid default: ${(e as Error).message}`);
  }
}

/** Options of defineTable. */
export interface DefineTableOptions {
  name: string;
  columns: readonly ColumnDefinition[];
  /** Column names of the primary key in key order; omitted or empty → a hidden integer row id. */
  primaryKey?: readonly string[];
}

/**
 * Build and validate a table schema; column ids are 0, 1, … in declaration order and primary key columns
 * become NOT NULL. Throws ESQLSCHEMA naming the table and column at fault.
 * @example
 * const people = defineTable({
 *   name: 'people',
 *   columns: [{ name: 'id', type: 'integer' }, { name: 'name', type: 'text', notNull: true }],
 *   primaryKey: ['id'],
 * });
 */
export function defineTable(options: DefineTableOptions): TableSchema {
  const { name, columns, primaryKey = [] } = options;
  checkName('table', name, undefined);
  if (!Array.isArray(columns)) throw schemaError(name, undefined, 'columns must be an array');
  const pk: number[] = [];
  for (const keyName of primaryKey) {
    const i = columns.findIndex((c) => typeof c?.name === 'string' && foldName(c.name) === foldName(keyName));
    if (i < 0) throw schemaError(name, keyName, 'primary key column is not a column of the table');
    pk.push(i);
  }
  return validateSchema({
    name,
    columns: columns.map((c, id) => ({
      id,
      name: c?.name,
      type: c?.type,
      notNull: pk.includes(id) || c?.notNull === true,
      default: userDefault(name, c),
    })) as ColumnSchema[],
    primaryKey: pk,
    nextColumnId: columns.length,
  });
}

/**
 * Check every rule of a schema and return its normalised, frozen copy (defaults in their in-memory form).
 * Throws ESQLSCHEMA naming the table and column at fault.
 * @example validateSchema(JSON.parse(text)) // TableSchema, or throws
 */
export function validateSchema(schema: TableSchema): TableSchema {
  if (typeof schema !== 'object' || schema === null) throw schemaError(undefined, undefined, 'schema must be an object');
  const table = checkName('table', schema.name, undefined);
  const { nextColumnId } = schema;
  if (!Number.isSafeInteger(nextColumnId) || nextColumnId < 0) throw schemaError(table, undefined, `nextColumnId must be a non-negative integer, got ${describeValue(nextColumnId)}`);
  if (!Array.isArray(schema.columns) || schema.columns.length === 0) throw schemaError(table, undefined, 'a table needs at least one column');
  if (!Array.isArray(schema.primaryKey)) throw schemaError(table, undefined, 'primaryKey must be an array of column ids');
  const names = new Set<string>();
  const ids = new Set<number>();
  const columns: ColumnSchema[] = [];
  for (const c of schema.columns) {
    if (typeof c !== 'object' || c === null) throw schemaError(table, undefined, 'a column must be an object');
    const name = checkName('column', c.name, table);
    if (foldName(name) === ROWID_COLUMN) throw schemaError(table, name, `the name ${ROWID_COLUMN} is reserved for the hidden row id`);
    if (names.has(foldName(name))) throw schemaError(table, name, 'duplicate column name (names compare case-insensitively)');
    names.add(foldName(name));
    if (!Number.isSafeInteger(c.id) || c.id < 0 || c.id >= nextColumnId) throw schemaError(table, name, `column id must be an integer in 0…${nextColumnId - 1} (nextColumnId), got ${describeValue(c.id)}`);
    if (ids.has(c.id)) throw schemaError(table, name, `duplicate column id ${c.id}`);
    ids.add(c.id);
    if (!isColumnType(c.type)) throw schemaError(table, name, `unknown type ${describeValue(c.type)}; expected one of integer, real, text, boolean, bytes, json, date, datetime`);
    if (typeof c.notNull !== 'boolean') throw schemaError(table, name, 'notNull must be true or false');
    let def: SqlValue;
    try {
      // The schema holds defaults in in-memory form, where a json string is a JSON string value, not JSON text.
      def = coerceValue({ name, type: c.type }, c.type === 'json' && typeof c.default === 'string' ? JSON.stringify(c.default) : c.default);
    } catch (e) {
      throw schemaError(table, name, `invalid default: ${(e as Error).message}`);
    }
    columns.push(Object.freeze({ id: c.id, name, type: c.type, notNull: c.notNull, default: def }));
  }
  const pk: number[] = [];
  for (const id of schema.primaryKey) {
    const col = columns.find((c) => c.id === id);
    if (!col) throw schemaError(table, undefined, `primary key names column id ${describeValue(id)}, which the table does not have`);
    if (pk.includes(id)) throw schemaError(table, col.name, 'column appears twice in the primary key');
    if (col.type === 'json') throw schemaError(table, col.name, 'a json column cannot be part of the primary key (JSON has no SQL order)');
    if (!col.notNull) throw schemaError(table, col.name, 'primary key columns must be NOT NULL');
    pk.push(id);
  }
  const indexes = validateIndexes(table, schema.indexes, columns);
  return Object.freeze({ name: table, columns: Object.freeze(columns), primaryKey: Object.freeze(pk), nextColumnId, ...(indexes.length > 0 ? { indexes } : {}) });
}

function validateIndexes(table: string, indexes: unknown, columns: readonly ColumnSchema[]): readonly IndexSchema[] {
  if (indexes === undefined) return [];
  if (!Array.isArray(indexes)) throw schemaError(table, undefined, 'indexes must be an array');
  const names = new Set<string>();
  const out: IndexSchema[] = [];
  for (const ix of indexes as Partial<IndexSchema>[]) {
    if (typeof ix !== 'object' || ix === null) throw schemaError(table, undefined, 'an index must be an object');
    const name = ix.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH || !isWellFormedText(name) || /[\u0000-\u001f\u007f]/.test(name) || name.trim() !== name) {
      throw schemaError(table, undefined, `invalid index name ${describeValue(name)}`);
    }
    if (names.has(foldName(name))) throw schemaError(table, undefined, `duplicate index name ${JSON.stringify(name)}`);
    names.add(foldName(name));
    if (!Array.isArray(ix.columns) || ix.columns.length === 0) throw schemaError(table, undefined, `index ${JSON.stringify(name)} needs at least one column`);
    const seen = new Set<number>();
    for (const id of ix.columns) {
      const col = columns.find((c) => c.id === id);
      if (!col) throw schemaError(table, undefined, `index ${JSON.stringify(name)} names column id ${describeValue(id)}, which the table does not have`);
      if (seen.has(id)) throw schemaError(table, col.name, `column appears twice in index ${JSON.stringify(name)}`);
      if (col.type === 'json') throw schemaError(table, col.name, `a json column cannot be indexed (index ${JSON.stringify(name)}): JSON has no SQL order`);
      seen.add(id);
    }
    if (typeof ix.unique !== 'boolean') throw schemaError(table, undefined, `index ${JSON.stringify(name)}: unique must be true or false`);
    out.push(Object.freeze({ name, columns: Object.freeze([...ix.columns]), unique: ix.unique }));
  }
  return Object.freeze(out);
}

/**
 * The column named `name` (case-insensitive), or undefined.
 * @example findColumn(people, 'NAME')?.id // 1
 */
export function findColumn(schema: TableSchema, name: string): ColumnSchema | undefined {
  const folded = foldName(name);
  return schema.columns.find((c) => foldName(c.name) === folded);
}

/** The key columns of a table: its primary key, or the hidden row id. */
export interface KeyColumns {
  names: string[];
  types: KeyColumnType[];
  /** Column ids; empty when the key is the hidden row id. */
  ids: number[];
  hidden: boolean;
}

/**
 * Names and types of the columns whose values make up a row's key.
 * @example keyColumns(people) // { names: ['id'], types: ['integer'], ids: [0], hidden: false }
 */
export function keyColumns(schema: TableSchema): KeyColumns {
  if (schema.primaryKey.length === 0) return { names: [ROWID_COLUMN], types: ['integer'], ids: [], hidden: true };
  const cols = schema.primaryKey.map((id) => schema.columns.find((c) => c.id === id)!);
  return { names: cols.map((c) => c.name), types: cols.map((c) => c.type as KeyColumnType), ids: [...schema.primaryKey], hidden: false };
}

/**
 * Coerce a whole row given by column name: omitted columns take their default, unknown names are an
 * error, NOT NULL is checked. A hidden-row-id table also accepts `_rowid`. The result has every column,
 * in schema order.
 * @example coerceRow(people, { id: '7', name: 'Ada' }, { row: 2 }) // { id: 7, name: 'Ada' }
 */
export function coerceRow(schema: TableSchema, row: Readonly<Record<string, unknown>>, context: ValueContext = {}): Record<string, SqlValue> {
  const ctx = { table: schema.name, ...context };
  const out: Record<string, SqlValue> = {};
  const hidden = schema.primaryKey.length === 0;
  for (const name of Object.keys(row)) {
    if (hidden && name === ROWID_COLUMN) continue;
    if (!schema.columns.some((c) => c.name === name)) {
      const near = findColumn(schema, name);
      throw valueError(`table ${JSON.stringify(schema.name)}${ctx.row !== undefined ? `, row ${ctx.row}` : ''}: no column named ${JSON.stringify(name)}${near ? ` (did you mean ${JSON.stringify(near.name)}?)` : ''}`, {
        table: schema.name,
        row: ctx.row,
        column: name,
      });
    }
  }
  for (const c of schema.columns) {
    const given = row[c.name];
    if (given === undefined && c.notNull && c.default === null) {
      throw valueError(`${prefix(c, ctx)}: no value given, and the column is NOT NULL without a default`, { table: ctx.table, row: ctx.row, column: c.name, type: c.type });
    }
    out[c.name] = given === undefined ? copyValue(c.default) : coerceValue(c, given, ctx);
  }
  if (hidden && row[ROWID_COLUMN] !== undefined) out[ROWID_COLUMN] = coerceValue({ name: ROWID_COLUMN, type: 'integer', notNull: true }, row[ROWID_COLUMN], ctx);
  return out;
}

/**
 * A copy of a value that callers may mutate (json objects, bytes); other values are returned as they are.
 * Defaults belong to the frozen schema, so readers hand out copies.
 * @example copyValue(column.default)
 */
export function copyValue(v: SqlValue): SqlValue {
  return v !== null && typeof v === 'object' ? structuredClone(v) : v;
}

// ---------------------------------------------------------------------------------------------------
// Schema evolution. Each returns a new validated schema; rows need no rewrite.

/**
 * ALTER TABLE ADD COLUMN: the new column gets the next id and appears last; existing rows read as its
 * default. A NOT NULL column needs a non-NULL default (existing rows would otherwise break the rule).
 * @example addColumn(people, { name: 'email', type: 'text' })
 */
export function addColumn(schema: TableSchema, column: ColumnDefinition): TableSchema {
  if (column.notNull && (column.default === undefined || column.default === null)) {
    throw schemaError(schema.name, column.name, 'cannot add a NOT NULL column without a default: existing rows would hold NULL');
  }
  return validateSchema({
    ...schema,
    columns: [...schema.columns, { id: schema.nextColumnId, name: column.name, type: column.type, notNull: column.notNull === true, default: userDefault(schema.name, column) }],
    nextColumnId: schema.nextColumnId + 1,
  });
}

/**
 * ALTER TABLE DROP COLUMN: the id is retired (never reused); values stored under it are ignored and
 * dropped when a row is next written.
 * @example dropColumn(people, 'email')
 */
export function dropColumn(schema: TableSchema, name: string): TableSchema {
  const col = findColumn(schema, name);
  if (!col) throw schemaError(schema.name, name, 'no such column');
  if (schema.primaryKey.includes(col.id)) throw schemaError(schema.name, col.name, 'cannot drop a primary key column');
  const index = schema.indexes?.find((ix) => ix.columns.includes(col.id));
  if (index) throw schemaError(schema.name, col.name, `cannot drop a column of index ${JSON.stringify(index.name)}; drop the index first`);
  if (schema.columns.length === 1) throw schemaError(schema.name, col.name, 'cannot drop the only column');
  return validateSchema({ ...schema, columns: schema.columns.filter((c) => c !== col) });
}

/**
 * ALTER TABLE RENAME COLUMN.
 * @example renameColumn(people, { from: 'name', to: 'full_name' })
 */
export function renameColumn(schema: TableSchema, options: { from: string; to: string }): TableSchema {
  const col = findColumn(schema, options.from);
  if (!col) throw schemaError(schema.name, options.from, 'no such column');
  return validateSchema({ ...schema, columns: schema.columns.map((c) => (c === col ? { ...c, name: options.to } : c)) });
}

// ---------------------------------------------------------------------------------------------------
// Canonical serialisation.

/** A default in the schema JSON: JSON-native where that is exact, text otherwise. */
function defaultToJson(type: ColumnType, v: SqlValue): JsonValue {
  if (v === null) return null;
  switch (type) {
    case 'integer':
      return typeof v === 'bigint' ? String(v) : (v as number);
    case 'real':
      return Number.isFinite(v) ? (v as number) : String(v); // 'Infinity' / '-Infinity'
    case 'bytes':
      return toHex(v as Uint8Array);
    case 'json':
      return JSON.stringify(v);
    default:
      return v as JsonValue;
  }
}

function defaultFromJson(type: ColumnType, j: unknown, table: string, column: string): unknown {
  if (type === 'json' && j !== null) {
    try {
      return JSON.parse(j as string);
    } catch {
      throw schemaError(table, column, 'a json default must be JSON text');
    }
  }
  if (type === 'bytes' && j !== null) {
    if (typeof j !== 'string' || !/^([0-9a-f]{2})*$/.test(j)) throw schemaError(table, column, 'a bytes default must be lower-case hex text');
    return fromHex(j);
  }
  return j;
}

/**
 * The canonical bytes of a schema: UTF-8 JSON with fixed key order and no spaces. These bytes are the
 * schema chunk; its address goes into the dataset pointer.
 * @example fromUtf8(encodeSchema(people)) // '{"kind":"table","version":1,"name":"people","columns":[…],…}'
 */
export function encodeSchema(schema: TableSchema): Uint8Array {
  const s = validateSchema(schema);
  const doc = {
    kind: 'table',
    version: SCHEMA_FORMAT_VERSION,
    name: s.name,
    columns: s.columns.map((c) => ({ id: c.id, name: c.name, type: c.type, notNull: c.notNull, default: defaultToJson(c.type, c.default) })),
    primaryKey: s.primaryKey,
    nextColumnId: s.nextColumnId,
    ...(s.indexes && s.indexes.length > 0 ? { indexes: s.indexes.map((ix) => ({ name: ix.name, columns: ix.columns, unique: ix.unique })) } : {}),
  };
  return utf8(JSON.stringify(doc));
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parse and validate schema bytes. Only the canonical form is accepted, so one schema has one address.
 * Throws EBADENCODING for bytes that are not a canonical schema document, ESQLSCHEMA for a rule broken.
 * @example decodeSchema(encodeSchema(people)) // equal to people
 */
export function decodeSchema(bytes: Uint8Array): TableSchema {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(fatalUtf8.decode(bytes)) as Record<string, unknown>;
  } catch (e) {
    throw new ProllyError(ErrorCodes.BAD_ENCODING, `schema is not UTF-8 JSON: ${(e as Error).message}`, {});
  }
  if (typeof doc !== 'object' || doc === null || doc.kind !== 'table') throw new ProllyError(ErrorCodes.BAD_ENCODING, 'schema document is not {"kind":"table",…}', {});
  if (doc.version !== SCHEMA_FORMAT_VERSION) {
    throw new ProllyError(ErrorCodes.BAD_ENCODING, `schema version ${describeValue(doc.version)} is not supported (this build reads version ${SCHEMA_FORMAT_VERSION})`, { version: doc.version });
  }
  const table = typeof doc.name === 'string' ? doc.name : '?';
  const columns = Array.isArray(doc.columns)
    ? (doc.columns as Record<string, unknown>[]).map((c) => {
        const name = typeof c?.name === 'string' ? c.name : '?';
        const type = c?.type as ColumnType;
        return { ...c, default: isColumnType(type) ? defaultFromJson(type, c?.default, table, name) : c?.default };
      })
    : doc.columns;
  const schema = validateSchema({ ...(doc as object), columns } as unknown as TableSchema);
  if (!equalBytes(encodeSchema(schema), bytes)) throw new ProllyError(ErrorCodes.BAD_ENCODING, `schema of table ${JSON.stringify(table)} is not in canonical form`, { table });
  return schema;
}

// ---------------------------------------------------------------------------------------------------
// CSV type inference.

/** Candidate types from most to least specific; a column gets the first one every sampled cell fits. */
const INFERENCE_ORDER: readonly ColumnType[] = ['boolean', 'integer', 'real', 'date', 'datetime', 'json', 'text'];

function fitsText(type: ColumnType, s: string): boolean {
  const t = s.trim();
  switch (type) {
    case 'boolean':
      return /^(?:true|false)$/i.test(t);
    case 'integer':
      // A leading zero ('007', a zip code) would be lost as a number: keep such columns as text.
      if (!INT_TEXT.test(t) || /^[+-]?0\d/.test(t)) return false;
      return BigInt(t) >= INT64_MIN && BigInt(t) <= INT64_MAX;
    case 'real':
      return REAL_TEXT.test(t) && !/^[+-]?0\d/.test(t) && Number.isFinite(Number(t));
    case 'date':
    case 'datetime':
      try {
        if (type === 'date') dateToDays(t);
        else datetimeToMs(t);
        return true;
      } catch {
        return false;
      }
    case 'json':
      if (!/^[[{]/.test(t)) return false;
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    case 'text':
      return isWellFormedText(s);
    default:
      return false; // bytes are never guessed from text
  }
}

function fits(type: ColumnType, v: unknown): boolean {
  if (typeof v === 'string') return fitsText(type, v);
  switch (type) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX);
    case 'real':
      return typeof v === 'number' || (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX);
    case 'bytes':
      return v instanceof Uint8Array;
    case 'datetime':
      return v instanceof Date && !Number.isNaN(v.getTime());
    case 'json':
      return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date) && checkJson(v, new Set()) === undefined;
    case 'text':
      return typeof v === 'number' || typeof v === 'bigint';
    default:
      return false;
  }
}

/** Options of inferSchema. */
export interface InferSchemaOptions {
  /** Table name (default 'data'). */
  name?: string;
  /** Column names in order (default: the keys of the rows, in order of first appearance). */
  columns?: readonly string[];
  /** Primary key column names; omitted → a hidden row id (a guess could break on a later duplicate). */
  primaryKey?: readonly string[];
}

/**
 * Infer column types from sample rows (CSV cells as text, or JS values). Empty cells and nulls are
 * ignored; a column gets the most specific type every other cell fits, in the order boolean ('true' /
 * 'false'), integer (int64, no leading zeros), real, date, datetime, json (objects / arrays), text.
 * Bytes are only inferred from Uint8Array values. Columns are nullable except the primary key.
 * @example
 * inferSchema([{ id: '1', price: '2.5', day: '2024-01-31' }], { name: 'sales', primaryKey: ['id'] })
 * // columns id integer, price real, day date
 */
export function inferSchema(rows: readonly Readonly<Record<string, unknown>>[], options: InferSchemaOptions = {}): TableSchema {
  const names: string[] = options.columns ? [...options.columns] : [];
  if (!options.columns) {
    const seen = new Set<string>();
    for (const r of rows) {
      for (const k of Object.keys(r)) {
        if (!seen.has(k)) {
          seen.add(k);
          names.push(k);
        }
      }
    }
  }
  const columns: ColumnDefinition[] = names.map((name, i) => {
    const present = rows.map((r) => r[name]).filter((v) => v !== null && v !== undefined && v !== '');
    // A column with no sampled value stays text, the type every CSV cell fits.
    const type = present.length === 0 ? 'text' : ([...INFERENCE_ORDER, 'bytes'] as const).find((t) => present.every((v) => fits(t, v))) ?? 'text';
    return { name: name === '' ? `column_${i + 1}` : name, type };
  });
  return defineTable({ name: options.name ?? 'data', columns, primaryKey: options.primaryKey });
}

// ---------------------------------------------------------------------------------------------------
// Indexes and table renames.

/**
 * CREATE INDEX: add an index on columns given by name. Throws ESQLSCHEMA for an unknown column, a json
 * column or a duplicate index name.
 * @example addIndex(people, { name: 'people_by_name', columns: ['name'] })
 */
export function addIndex(schema: TableSchema, index: { name: string; columns: readonly string[]; unique?: boolean }): TableSchema {
  const ids = index.columns.map((n) => {
    const col = findColumn(schema, n);
    if (!col) throw schemaError(schema.name, n, `no such column (index ${JSON.stringify(index.name)})`);
    return col.id;
  });
  return validateSchema({ ...schema, indexes: [...(schema.indexes ?? []), { name: index.name, columns: ids, unique: index.unique === true }] });
}

/**
 * DROP INDEX.
 * @example dropIndex(people, 'people_by_name')
 */
export function dropIndex(schema: TableSchema, name: string): TableSchema {
  const ix = findIndex(schema, name);
  if (!ix) throw schemaError(schema.name, undefined, `no index named ${JSON.stringify(name)}`);
  return validateSchema({ ...schema, indexes: (schema.indexes ?? []).filter((i) => i !== ix) });
}

/**
 * The index named `name` (case-insensitive), or undefined.
 * @example findIndex(people, 'people_by_name')?.columns // [1]
 */
export function findIndex(schema: TableSchema, name: string): IndexSchema | undefined {
  return schema.indexes?.find((ix) => foldName(ix.name) === foldName(name));
}

/**
 * ALTER TABLE RENAME TO: the same schema under a new table name.
 * @example renameTable(people, 'persons').name // 'persons'
 */
export function renameTable(schema: TableSchema, name: string): TableSchema {
  return validateSchema({ ...schema, name });
}

/**
 * SQL identifiers compare case-insensitively (ASCII only, as in SQLite).
 * @example sameName('Orders', 'orders') // true
 */
export function sameName(a: string, b: string): boolean {
  return foldName(a) === foldName(b);
}

/**
 * Type inference over a stream of rows (inferSchema keeps every row; this keeps, per column, the set of
 * types every value so far fits). The result is the same as inferSchema over all the rows.
 * @example
 * const inf = new TypeInference();
 * for (const row of rows) inf.add(row);
 * const schema = inf.schema({ name: 'sales', primaryKey: ['id'] });
 */
export class TypeInference {
  private readonly names: string[] = [];
  private readonly candidates = new Map<string, ColumnType[]>();
  /** Rows seen. */
  rows = 0;

  /** Columns in order of first appearance (or as given). */
  constructor(columns: readonly string[] = []) {
    for (const c of columns) this.column(c);
  }

  private column(name: string): ColumnType[] {
    let c = this.candidates.get(name);
    if (!c) {
      c = [...INFERENCE_ORDER, 'bytes'];
      this.candidates.set(name, c);
      this.names.push(name);
    }
    return c;
  }

  /** Narrow the candidate types by one row (empty cells and nulls say nothing). */
  add(row: Readonly<Record<string, unknown>>): void {
    this.rows++;
    for (const name of Object.keys(row)) {
      const v = row[name];
      const c = this.column(name);
      if (v === null || v === undefined || v === '') continue;
      for (let i = c.length - 1; i >= 0; i--) if (!fits(c[i]!, v)) c.splice(i, 1);
    }
  }

  /** The inferred schema: per column the most specific type that every value fits (else text). */
  schema(options: InferSchemaOptions = {}): TableSchema {
    const columns: ColumnDefinition[] = this.names.map((name, i) => {
      const c = this.candidates.get(name)!;
      const seen = c.length < INFERENCE_ORDER.length + 1;
      const type: ColumnType = seen ? (c[0] ?? 'text') : 'text';
      return { name: name === '' ? `column_${i + 1}` : name, type };
    });
    return defineTable({ name: options.name ?? 'data', columns, primaryKey: options.primaryKey });
  }
}

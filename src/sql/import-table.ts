/**
 * `git prolly import <table> <file> --table [--pk COL[,COL…]]`: load CSV / NDJSON / JSON rows into a
 * table, streaming. A new table's column types are inferred from every row of a file (one extra read of
 * the file), or from the first rows of a stream; an existing table keeps its schema and the rows are
 * coerced to it. Rows whose key already exists replace the stored row (as the key-value import
 * upserts). Errors name the file, line and column; nothing is written unless every row is good.
 * Secondary indexes are not rebuilt here: they catch up from the old rows by a structural diff the
 * next time a query uses them.
 */
import { createReadStream } from 'node:fs';
import { INLINE_VALUE_MAX } from '../blob/blob-ref.js';
import { toTreeValue } from '../dataset/values.js';
import { parseCsv } from '../dataset/import/csv.js';
import { parseJsonArray, parseNdjson } from '../dataset/import/json.js';
import { formatOf, parseFormat, type ImportFormat } from '../dataset/import/records.js';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { ProllyTree, type Edit } from '../tree/prolly-tree.js';
import { decodeKey } from './key-codec.js';
import { encodeTableRow } from './row-codec.js';
import { coerceRow, findColumn, ROWID_COLUMN, sameName, TypeInference, type TableSchema } from './schema.js';
import type { TableState, TableStore } from './table-store.js';
import { checkUniqueTree, indexTreeFor } from './indexes.js';
import { TableHandle } from './table.js';

/** Options of {@link importTable}. */
export interface ImportTableOptions {
  /** The working tables. */
  store: TableStore;
  /** Table to create or append to. */
  table: string;
  /** A file path, or a stream of bytes (then `format` is required). */
  input: string | AsyncIterable<Uint8Array>;
  /** csv | ndjson | json (default: from the file extension). */
  format?: ImportFormat | string;
  /** Name of a stream input in error messages. */
  file?: string;
  /** Primary key columns of a new table (default: a hidden row id). */
  primaryKey?: readonly string[];
  /** The schema of a new table (instead of inferring it). */
  schema?: TableSchema;
  /** Empty the table first (its schema is kept). */
  replace?: boolean;
  /** Rows of a stream used to infer types (default 10,000). */
  sampleRows?: number;
  /** Rows per tree mutation (default 200,000). */
  batchRows?: number;
  /** Progress: bytes read and rows loaded so far; `phase` 'scan' while inferring types. */
  onProgress?: (p: { phase: 'scan' | 'load'; bytes: number; rows: number }) => void;
}

/** What an import did. */
export interface ImportTableResult {
  table: string;
  /** Rows read from the input. */
  rows: number;
  /** Rows in the table afterwards. */
  count: number;
  root: Uint8Array;
  created: boolean;
  schema: TableSchema;
}

interface InputRecord {
  line: number;
  row: Record<string, unknown>;
}

/** Records of an input as objects (CSV cells are text). */
async function* records(source: AsyncIterable<Uint8Array>, format: ImportFormat, file: string): AsyncGenerator<InputRecord[]> {
  const bad = (line: number, message: string): never => {
    throw new ProllyError(ErrorCodes.BAD_INPUT, `${file}:${line}: ${message}`, { file, line });
  };
  if (format === 'csv') {
    let header: string[] | undefined;
    for await (const batch of parseCsv(source, { file })) {
      const out: InputRecord[] = [];
      for (const r of batch) {
        if (!header) {
          header = r.fields;
          const seen = new Set<string>();
          for (const h of header) {
            if (h === '') bad(r.line, 'empty column name in the header');
            if ([...seen].some((s) => sameName(s, h))) bad(r.line, `duplicate column ${JSON.stringify(h)} in the header`);
            seen.add(h);
          }
          continue;
        }
        if (r.fields.length !== header.length) bad(r.line, `${r.fields.length} fields, but the header has ${header.length} columns`);
        const row: Record<string, unknown> = {};
        for (let i = 0; i < header.length; i++) row[header[i]!] = r.fields[i];
        out.push({ line: r.line, row });
      }
      if (out.length > 0) yield out;
    }
    if (!header) bad(1, 'empty CSV: expected a header row');
    return;
  }
  const parse = format === 'ndjson' ? parseNdjson : parseJsonArray;
  for await (const batch of parse(source, { file })) {
    const out: InputRecord[] = [];
    for (const { line, value } of batch) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(line, 'expected a JSON object per row');
      const row: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        // Nested objects and arrays go to json columns as they are; scalars keep their JSON types.
        row[k] = v;
      }
      out.push({ line, row });
    }
    if (out.length > 0) yield out;
  }
}

async function* counted(source: AsyncIterable<Uint8Array>, count: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const piece of source) {
    count(piece.length);
    yield piece;
  }
}

/** Map a record's field names onto the schema's column names (case-insensitive, as SQL names). */
function renameFields(schema: TableSchema, row: Record<string, unknown>, where: { file: string; line: number }, names: Map<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const hidden = schema.primaryKey.length === 0;
  for (const k in row) {
    const v = row[k];
    const known = names.get(k);
    if (known !== undefined) {
      out[known] = v;
      continue;
    }
    if (hidden && sameName(k, ROWID_COLUMN)) {
      out[ROWID_COLUMN] = v;
      continue;
    }
    const col = findColumn(schema, k);
    if (col) names.set(k, col.name);
    if (!col) {
      throw new ProllyError(ErrorCodes.BAD_INPUT, `${where.file}:${where.line}: table ${JSON.stringify(schema.name)} has no column ${JSON.stringify(k)} (columns: ${schema.columns.map((c) => c.name).join(', ')})`, {
        file: where.file,
        line: where.line,
        column: k,
      });
    }
    out[col.name] = v;
  }
  return out;
}

/**
 * Import rows into a table (creating it when it does not exist).
 * @example await importTable({ store, table: 'orders', input: 'orders.csv', primaryKey: ['id'] })
 */
export async function importTable(options: ImportTableOptions): Promise<ImportTableResult> {
  const { store, table } = options;
  const file = typeof options.input === 'string' ? options.input : (options.file ?? 'stdin');
  const format = options.format !== undefined ? parseFormat(String(options.format)) : formatOf(file);
  if (!format) throw invalidArgument(`cannot tell the format of ${file} from its extension; pass the format (csv, ndjson or json)`, { file });
  const existingName = (await store.listTables()).find((n) => n === table) ?? (await store.listTables()).find((n) => sameName(n, table));
  if (!existingName && (await store.hasDataset(table))) await store.getTable(table); // not a table: throws
  let state: TableState | undefined = existingName ? await store.getTable(existingName) : undefined;
  const name = existingName ?? table;
  let bytes = 0;
  const open = () => (typeof options.input === 'string' ? counted(createReadStream(options.input, { highWaterMark: 1 << 20 }), (n) => (bytes += n)) : counted(options.input, (n) => (bytes += n)));
  const progress = options.onProgress;

  // Schema: given, existing, or inferred (whole file; or the first rows of a stream, kept for loading).
  let schema = state?.schema ?? options.schema;
  let source: AsyncGenerator<InputRecord[]> | undefined;
  let buffered: InputRecord[][] = [];
  if (!schema) {
    const inference = new TypeInference();
    if (typeof options.input === 'string') {
      for await (const batch of records(open(), format, file)) {
        for (const r of batch) inference.add(r.row);
        progress?.({ phase: 'scan', bytes, rows: inference.rows });
      }
      bytes = 0;
    } else {
      source = records(open(), format, file);
      const limit = options.sampleRows ?? 10_000;
      while (inference.rows < limit) {
        const next = await source.next();
        if (next.done) break;
        buffered.push(next.value);
        for (const r of next.value) if (inference.rows < limit) inference.add(r.row);
      }
    }
    if (inference.rows === 0) throw new ProllyError(ErrorCodes.BAD_INPUT, `${file}: no rows to infer the columns of new table ${JSON.stringify(table)} from`, { file });
    schema = inference.schema({ name: table, primaryKey: options.primaryKey ? [...options.primaryKey] : undefined });
  } else if (options.primaryKey && state) {
    const current = state.schema.primaryKey.map((id) => state!.schema.columns.find((c) => c.id === id)!.name);
    if (current.length !== options.primaryKey.length || current.some((c, i) => !sameName(c, options.primaryKey![i]!))) {
      throw invalidArgument(`table ${name} already exists with primary key (${current.join(', ') || ROWID_COLUMN}); --pk ${options.primaryKey.join(',')} does not match`, { table: name });
    }
  }
  const nodes = await store.beginWrite();
  let tree = state && !options.replace ? await ProllyTree.open(nodes, state.root) : await ProllyTree.empty(nodes);
  const hidden = schema.primaryKey.length === 0;
  let nextRowid = 1;
  if (hidden && tree.count > 0) {
    for await (const [k] of tree.range({ reverse: true, limit: 1 })) nextRowid = Number(decodeKey(k, ['integer'])[0]) + 1;
  }
  const batchRows = options.batchRows ?? 200_000;
  const fieldNames = new Map<string, string>();
  let edits: Edit[] = [];
  let rows = 0;
  const flushEdits = async () => {
    if (edits.length === 0) return;
    tree = await tree.mutate(edits);
    edits = [];
  };
  const load = async (batch: InputRecord[]) => {
    for (const r of batch) {
      const input = renameFields(schema!, r.row, { file, line: r.line }, fieldNames);
      if (hidden) {
        if (input[ROWID_COLUMN] === undefined || input[ROWID_COLUMN] === null || input[ROWID_COLUMN] === '') input[ROWID_COLUMN] = nextRowid++;
      }
      let row;
      try {
        row = coerceRow(schema!, input, { table: name, row: r.line });
      } catch (e) {
        if (e instanceof ProllyError) throw new ProllyError(e.code, `${file}:${r.line}: ${e.message}`, { ...e.data, file, line: r.line });
        throw e;
      }
      if (hidden) nextRowid = Math.max(nextRowid, Number(row[ROWID_COLUMN]) + 1);
      const { key, value } = encodeTableRow(schema!, row);
      edits.push({ key, value: value.length <= INLINE_VALUE_MAX ? value : await toTreeValue(nodes.chunks, value) });
      rows++;
    }
    if (edits.length >= batchRows) await flushEdits();
    progress?.({ phase: 'load', bytes, rows });
  };
  for (const b of buffered) await load(b);
  buffered = [];
  for await (const batch of source ?? records(open(), format, file)) await load(batch);
  await flushEdits();
  const next: TableState = { schema, root: tree.root, count: tree.count };
  // UNIQUE indexes are checked before anything is recorded (other indexes catch up on first use).
  for (const index of schema.indexes ?? []) {
    if (!index.unique) continue;
    const handle = await TableHandle.open(nodes, name, next);
    const found = await indexTreeFor({ table: handle, index, cache: store.indexRoots, writable: true });
    await checkUniqueTree(handle, index, found!.tree);
  }
  await store.writeTables(new Map([[name, next]]));
  await store.indexRoots.save?.();
  return { table: name, rows, count: tree.count, root: tree.root, created: !state, schema };
}

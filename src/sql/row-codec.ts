/**
 * Row values (docs/FORMAT.md, "SQL row keys and rows"): the non-key columns of a row, stored by column id
 * so that schema changes need no rewrite.
 *
 *   row      = version:u8 (=1) slots:varint presence:⌈slots/8⌉ bytes cell*
 *   presence = bit i (byte i>>3, bit i&7, least significant first) set ⇔ column id i holds a non-NULL value;
 *              bits ≥ slots are zero
 *   cell     = tag:u8 payload, one per set bit, in column-id order
 *     0x01 integer   zigzag varint (int64)          0x02 real      8-byte IEEE-754 big-endian (never NaN or -0)
 *     0x03 false     (no payload)                    0x04 true      (no payload)
 *     0x05 text      varint length, UTF-8            0x06 bytes     varint length, bytes
 *     0x07 json      varint length, UTF-8 JSON text  0x08 date      zigzag varint days since 1970-01-01
 *     0x09 datetime  zigzag varint ms since epoch
 *
 * `slots` is the schema's nextColumnId when the row was written. A column whose id is ≥ slots was added
 * later and reads as its default; a cleared bit below slots is NULL; a set bit for an id the schema no
 * longer has (a dropped column) is skipped — cells are self-describing, so no retired type is needed.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { toHex, utf8 } from '../util/bytes.js';
import { decodeKey, encodeKey, type KeyInput } from './key-codec.js';
import { coerceValue, copyValue, keyColumns, ROWID_COLUMN, type ColumnSchema, type TableSchema } from './schema.js';
import { dateToDays, datetimeToMs, daysToDate, msToDatetime } from './temporal.js';
import { describeValue, INT64_MAX, INT64_MIN, isWellFormedText, normalizeInteger, valueError, type ColumnType, type SqlValue } from './types.js';
import { ByteWriter } from '../util/byte-writer.js';

/** Row format version byte. */
export const ROW_FORMAT_VERSION = 1;

/** Cell tag bytes. */
export const RowTag = {
  INTEGER: 0x01,
  REAL: 0x02,
  FALSE: 0x03,
  TRUE: 0x04,
  TEXT: 0x05,
  BYTES: 0x06,
  JSON: 0x07,
  DATE: 0x08,
  DATETIME: 0x09,
} as const;

/** A non-NULL cell as stored: its type (from the tag) and its value in in-memory form. */
export interface RowCell {
  type: ColumnType;
  value: Exclude<SqlValue, null>;
}

/** The decoded, schema-free content of a row value. */
export interface RowCells {
  /** Column-id slots the writer's schema had. */
  slots: number;
  /** Non-NULL cells by column id. */
  cells: Map<number, RowCell>;
}

/** A ByteWriter that also writes the row format's varints. */
class Writer extends ByteWriter {
  /** Unsigned LEB128 of a non-negative number or bigint up to 2^64-1. */
  uvarint(v: number | bigint): void {
    this.ensure(10);
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      while (v >= 0x80) {
        this.buf[this.len++] = (v & 0x7f) | 0x80;
        v = Math.floor(v / 128);
      }
      this.buf[this.len++] = v;
      return;
    }
    let b = BigInt(v);
    while (b >= 0x80n) {
      this.buf[this.len++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.len++] = Number(b);
  }
  /** Zigzag then LEB128, so small negatives stay short. */
  zigzag(v: number | bigint): void {
    if (typeof v === 'number' && Math.abs(v) < 2 ** 52) return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
    const b = BigInt(v);
    this.uvarint(b >= 0n ? b << 1n : (-b << 1n) - 1n);
  }
}

const F64 = new DataView(new ArrayBuffer(8));

function cellError(column: ColumnSchema, table: string, v: unknown, why: string): ProllyError {
  return valueError(`table ${JSON.stringify(table)}, column ${JSON.stringify(column.name)} (${column.type}): ${describeValue(v)} ${why}`, {
    table,
    column: column.name,
    type: column.type,
  });
}

/** Write one non-NULL value; strict about types (coercion is coerceValue's job, before encoding). */
function writeCell(w: Writer, column: ColumnSchema, v: unknown, table: string): void {
  const fail = (why: string): never => {
    throw cellError(column, table, v, why);
  };
  switch (column.type) {
    case 'integer':
      if (typeof v === 'number' ? !Number.isSafeInteger(v) : typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) fail('is not an int64 (a safe-integer number or a bigint)');
      w.byte(RowTag.INTEGER);
      return w.zigzag(v as number | bigint);
    case 'real':
      if (typeof v !== 'number' || Number.isNaN(v)) fail('is not a real number (NaN is stored as NULL)');
      w.byte(RowTag.REAL);
      F64.setFloat64(0, (v as number) === 0 ? 0 : (v as number));
      w.ensure(8);
      for (let i = 0; i < 8; i++) w.buf[w.len++] = F64.getUint8(i);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail('is not a boolean');
      return w.byte(v ? RowTag.TRUE : RowTag.FALSE);
    case 'text': {
      if (typeof v !== 'string' || !isWellFormedText(v)) fail('is not well-formed text');
      const b = utf8(v as string);
      w.byte(RowTag.TEXT);
      w.uvarint(b.length);
      return w.bytes(b);
    }
    case 'bytes':
      if (!(v instanceof Uint8Array)) fail('is not a Uint8Array');
      w.byte(RowTag.BYTES);
      w.uvarint((v as Uint8Array).length);
      return w.bytes(v as Uint8Array);
    case 'json': {
      // Through coerceValue so only JSON data is stored, never what JSON.stringify would silently drop.
      const text = JSON.stringify(coerceValue(column, typeof v === 'string' ? JSON.stringify(v) : v, { table }));
      const b = utf8(text);
      w.byte(RowTag.JSON);
      w.uvarint(b.length);
      return w.bytes(b);
    }
    case 'date':
      if (typeof v !== 'string' && !(v instanceof Date)) fail("is not a date ('YYYY-MM-DD' or Date)");
      w.byte(RowTag.DATE);
      return w.zigzag(wrap(column, table, () => dateToDays(v as string | Date)));
    case 'datetime':
      if (typeof v !== 'string' && !(v instanceof Date)) fail('is not a datetime (ISO 8601 text or Date)');
      w.byte(RowTag.DATETIME);
      return w.zigzag(wrap(column, table, () => datetimeToMs(v as string | Date)));
  }
}

function wrap<T>(column: ColumnSchema, table: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ProllyError) throw valueError(`table ${JSON.stringify(table)}, column ${JSON.stringify(column.name)} (${column.type}): ${e.message}`, { ...e.data, table, column: column.name });
    throw e;
  }
}

/** Per-schema work done once: the non-key columns in id order and in schema order. Schemas are frozen. */
interface RowPlan {
  byId: ColumnSchema[];
  inOrder: ColumnSchema[];
}
const plans = new WeakMap<TableSchema, RowPlan>();
function plan(schema: TableSchema): RowPlan {
  let p = plans.get(schema);
  if (!p) {
    const inOrder = schema.columns.filter((c) => !schema.primaryKey.includes(c.id));
    p = { inOrder, byId: [...inOrder].sort((a, b) => a.id - b.id) };
    if (Object.isFrozen(schema) && Object.isFrozen(schema.columns)) plans.set(schema, p); // only a frozen schema cannot change under the cache
  }
  return p;
}

/**
 * Encode the non-key columns of a row given by column name (values in in-memory form; run coerceRow
 * first for user input). Missing or null values are NULL. Key columns are ignored: the key holds them.
 * @example encodeRow(people, { id: 1, name: 'Ada' }) // [0x01, 0x02, 0x02, 0x05, 0x03, 0x41, 0x64, 0x61]
 */
export function encodeRow(schema: TableSchema, row: Readonly<Record<string, unknown>>): Uint8Array {
  const slots = schema.nextColumnId;
  const cols = plan(schema).byId.filter((c) => row[c.name] !== null && row[c.name] !== undefined);
  const w = new Writer();
  w.byte(ROW_FORMAT_VERSION);
  w.uvarint(slots);
  const bitmapAt = w.len;
  w.ensure(Math.ceil(slots / 8));
  w.len += Math.ceil(slots / 8);
  w.buf.fill(0, bitmapAt, w.len);
  for (const c of cols) {
    w.buf[bitmapAt + (c.id >> 3)]! |= 1 << (c.id & 7);
    writeCell(w, c, row[c.name], schema.name);
  }
  return w.buf.slice(0, w.len);
}

function bad(message: string, bytes: Uint8Array, offset: number): ProllyError {
  const hex = bytes.length > 64 ? toHex(bytes.subarray(0, 64)) + '…' : toHex(bytes);
  return new ProllyError(ErrorCodes.BAD_ENCODING, `row ${hex}: ${message} at byte ${offset}`, { row: toHex(bytes), offset });
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  need(n: number): void {
    if (n > this.bytes.length - this.pos) throw bad('truncated row', this.bytes, this.pos);
  }
  byte(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  /** Strict LEB128: minimal, at most 10 bytes, at most 2^64-1. */
  uvarint(): bigint | number {
    const start = this.pos;
    let n = 0;
    let big = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (i < 7) n += (b & 0x7f) * 2 ** (7 * i);
      big |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw bad('non-minimal varint', this.bytes, start);
        if (i === 9 && b > 1) throw bad('varint exceeds 2^64-1', this.bytes, start);
        return i < 7 ? n : big;
      }
    }
    throw bad('varint longer than 10 bytes', this.bytes, start);
  }
  length(): number {
    const at = this.pos;
    const n = this.uvarint();
    if (typeof n !== 'number' || n > this.bytes.length - this.pos) throw bad(`length ${n} runs past the end`, this.bytes, at);
    return n;
  }
  zigzag(): number | bigint {
    const z = this.uvarint();
    if (typeof z === 'number') return normalizeInteger(z % 2 === 0 ? z / 2 : -(z + 1) / 2);
    return normalizeInteger(z & 1n ? -((z + 1n) >> 1n) : z >> 1n);
  }
  text(at: number): string {
    const n = this.length();
    try {
      return fatalUtf8.decode(this.bytes.subarray(this.pos, (this.pos += n)));
    } catch {
      throw bad('text is not valid UTF-8', this.bytes, at);
    }
  }
  cell(): RowCell {
    const at = this.pos;
    const tag = this.byte();
    switch (tag) {
      case RowTag.INTEGER:
        return { type: 'integer', value: this.zigzag() };
      case RowTag.REAL: {
        this.need(8);
        for (let i = 0; i < 8; i++) F64.setUint8(i, this.bytes[this.pos++]!);
        const v = F64.getFloat64(0);
        if (Number.isNaN(v) || Object.is(v, -0)) throw bad(`real ${v === 0 ? '-0' : 'NaN'} is not canonical`, this.bytes, at);
        return { type: 'real', value: v };
      }
      case RowTag.FALSE:
      case RowTag.TRUE:
        return { type: 'boolean', value: tag === RowTag.TRUE };
      case RowTag.TEXT:
        return { type: 'text', value: this.text(at) };
      case RowTag.BYTES: {
        const n = this.length();
        return { type: 'bytes', value: this.bytes.slice(this.pos, (this.pos += n)) };
      }
      case RowTag.JSON: {
        const text = this.text(at);
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw bad('json cell is not valid JSON', this.bytes, at);
        }
        if (value === null || JSON.stringify(value) !== text) throw bad('json cell is not in canonical form', this.bytes, at);
        return { type: 'json', value: value as RowCell['value'] };
      }
      case RowTag.DATE:
      case RowTag.DATETIME: {
        const n = this.zigzag();
        try {
          return tag === RowTag.DATE ? { type: 'date', value: daysToDate(Number(n)) } : { type: 'datetime', value: msToDatetime(Number(n)) };
        } catch (e) {
          throw bad((e as Error).message, this.bytes, at);
        }
      }
      default:
        throw bad(`unknown cell tag 0x${tag.toString(16).padStart(2, '0')}`, this.bytes, at);
    }
  }
}

/**
 * Decode a row value without a schema: the slot count and the non-NULL cells by column id. Strict: throws
 * EBADENCODING on anything encodeRow would not produce.
 * @example decodeRowCells(encodeRow(people, { id: 1, name: 'Ada' })).cells.get(1) // { type: 'text', value: 'Ada' }
 */
export function decodeRowCells(bytes: Uint8Array): RowCells {
  const r = new Reader(bytes);
  const version = r.byte();
  if (version !== ROW_FORMAT_VERSION) throw bad(`row format version ${version} is not supported (this build reads ${ROW_FORMAT_VERSION})`, bytes, 0);
  const slotsAt = r.pos;
  const slots = r.uvarint();
  if (typeof slots !== 'number' || slots > 8 * (bytes.length - r.pos)) throw bad(`slot count ${slots} exceeds the row`, bytes, slotsAt);
  const bitmapAt = r.pos;
  const bitmapLen = Math.ceil(slots / 8);
  r.need(bitmapLen);
  r.pos += bitmapLen;
  if (slots % 8 !== 0 && bytes[bitmapAt + bitmapLen - 1]! >> slots % 8 !== 0) throw bad('presence bits set past the slot count', bytes, bitmapAt + bitmapLen - 1);
  const cells = new Map<number, RowCell>();
  for (let i = 0; i < bitmapLen; i++) {
    const byte = bytes[bitmapAt + i]!;
    if (byte === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) cells.set(i * 8 + bit, r.cell());
  }
  if (r.pos !== bytes.length) throw bad(`${bytes.length - r.pos} trailing bytes`, bytes, r.pos);
  return { slots, cells };
}

/** A stored cell read as `column`; an integer written before a column became real widens. */
function cellValue(column: ColumnSchema, cell: RowCell, table: string): SqlValue {
  if (cell.type === column.type) return cell.value;
  if (cell.type === 'integer' && column.type === 'real') return Number(cell.value);
  throw new ProllyError(ErrorCodes.BAD_ENCODING, `table ${JSON.stringify(table)}, column ${JSON.stringify(column.name)}: stored ${cell.type} value does not fit the column's type ${column.type}`, {
    table,
    column: column.name,
  });
}

/**
 * Decode the non-key columns of a row value under `schema`, by column name in schema order. Columns added
 * after the row was written take their default; dropped columns' values are ignored.
 * @example decodeRow(people, value) // { name: 'Ada' }
 */
export function decodeRow(schema: TableSchema, bytes: Uint8Array): Record<string, SqlValue> {
  const { slots, cells } = decodeRowCells(bytes);
  const out: Record<string, SqlValue> = {};
  for (const c of plan(schema).inOrder) {
    const cell = cells.get(c.id);
    out[c.name] = c.id >= slots ? copyValue(c.default) : cell ? cellValue(c, cell, schema.name) : null;
  }
  return out;
}

/**
 * Key and value bytes of a row for the table's tree. The key is the primary key tuple, or `_rowid` for a
 * table without one (the caller assigns row ids). Values must be in in-memory form (see coerceRow).
 * @example encodeTableRow(people, { id: 1, name: 'Ada' }) // { key: [0x15, 0x01], value: … }
 */
export function encodeTableRow(schema: TableSchema, row: Readonly<Record<string, unknown>>): { key: Uint8Array; value: Uint8Array } {
  const kc = keyColumns(schema);
  const values = kc.names.map((name) => row[name]);
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      const what = kc.hidden ? `the hidden row id ${ROWID_COLUMN} is missing` : `primary key column ${JSON.stringify(kc.names[i])} is NULL`;
      throw valueError(`table ${JSON.stringify(schema.name)}: ${what}`, { table: schema.name, column: kc.names[i] });
    }
  });
  let key: Uint8Array;
  try {
    key = encodeKey(values as KeyInput[], kc.types);
  } catch (e) {
    if (e instanceof ProllyError && e.code === ErrorCodes.SQL_VALUE && typeof e.data.column === 'number') {
      const name = kc.names[e.data.column]!;
      throw valueError(`table ${JSON.stringify(schema.name)}, column ${JSON.stringify(name)}: ${e.message}`, { ...e.data, table: schema.name, column: name });
    }
    throw e;
  }
  return { key, value: encodeRow(schema, row) };
}

/**
 * The full row (key columns and the rest, in schema order; `_rowid` first for a hidden-key table) from the
 * key and value bytes of a tree entry.
 * @example decodeTableRow(people, key, value) // { id: 1, name: 'Ada' }
 */
export function decodeTableRow(schema: TableSchema, key: Uint8Array, value: Uint8Array): Record<string, SqlValue> {
  const kc = keyColumns(schema);
  const keyValues = decodeKey(key, kc.types);
  const rest = decodeRow(schema, value);
  const out: Record<string, SqlValue> = {};
  if (kc.hidden) out[ROWID_COLUMN] = keyValues[0]!;
  for (const c of schema.columns) {
    const k = kc.ids.indexOf(c.id);
    out[c.name] = k >= 0 ? keyValues[k]! : rest[c.name]!;
  }
  return out;
}

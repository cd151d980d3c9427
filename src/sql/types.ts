/**
 * Value model shared by the SQL codecs and the schema (docs/FORMAT.md, "SQL row keys and rows").
 *
 * In-memory forms, one per column type (what `coerceValue` returns and what the decoders give back):
 *   integer  → number when it is a safe integer, bigint otherwise (full int64 range)
 *   real     → number (never NaN; -0 is stored as 0)
 *   text     → string (well-formed Unicode)
 *   boolean  → boolean
 *   bytes    → Uint8Array
 *   json     → the parsed JSON value (object, array, string, number, boolean); JSON null is SQL NULL
 *   date     → 'YYYY-MM-DD' string
 *   datetime → 'YYYY-MM-DDTHH:MM:SS.sssZ' string (UTC, millisecond precision)
 * and `null` for SQL NULL in every type.
 */
import { ErrorCodes, ProllyError } from '../errors.js';

/** The column types a table may declare. */
export const COLUMN_TYPES = ['integer', 'real', 'text', 'boolean', 'bytes', 'json', 'date', 'datetime'] as const;

/** One of COLUMN_TYPES. @example const t: ColumnType = 'integer'; */
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** Column types that may appear in a key (a primary key or an index key). JSON has no SQL order. */
export type KeyColumnType = Exclude<ColumnType, 'json'>;

/** A JSON value as `JSON.parse` returns it. @example const v: JsonValue = { a: [1, 'x'] }; */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Any value a SQL cell holds, in its in-memory form (see the module comment). */
export type SqlValue = null | boolean | number | bigint | string | Uint8Array | JsonValue[] | { [key: string]: JsonValue };

/** Smallest int64. */
export const INT64_MIN = -(2n ** 63n);
/** Largest int64. */
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * True when `t` names a column type.
 * @example isColumnType('real') // true
 */
export function isColumnType(t: unknown): t is ColumnType {
  return typeof t === 'string' && (COLUMN_TYPES as readonly string[]).includes(t);
}

/**
 * The in-memory form of an int64: a number when safe, else a bigint. Throws ESQLVALUE out of int64 range.
 * @example normalizeInteger(5n) // 5
 * @example normalizeInteger(2n ** 62n) // 4611686018427387904n
 */
export function normalizeInteger(v: number | bigint): number | bigint {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw valueError(`${v} is not a safe integer (use a bigint beyond ±2^53)`, { value: v });
    return v === 0 ? 0 : v; // -0 → 0
  }
  if (v < INT64_MIN || v > INT64_MAX) throw valueError(`${v} is outside the int64 range`, { value: String(v) });
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * An ESQLVALUE error; callers prefix the column / row they were working on.
 * @example throw valueError('"x" is not an integer', { value: 'x' });
 */
export function valueError(message: string, data: Record<string, unknown> = {}): ProllyError {
  return new ProllyError(ErrorCodes.SQL_VALUE, message, data);
}

/**
 * A short, printable rendering of a value for error messages.
 * @example describeValue(5n) // '5n'
 */
export function describeValue(v: unknown): string {
  if (v === null) return 'NULL';
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (v instanceof Uint8Array) return `bytes[${v.length}]`;
  if (v instanceof Date) return `Date(${Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString()})`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `array[${v.length}]`;
  return typeof v === 'object' ? 'object' : typeof v;
}

/**
 * True when a string is valid Unicode (no lone surrogate), so its UTF-8 bytes decode back to it.
 * (String.prototype.isWellFormed is in Node 20 but not in the ES2023 lib typings.)
 * @example isWellFormedText('a\uD800') // false
 */
export function isWellFormedText(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Order-preserving encoding of key tuples (docs/FORMAT.md, "SQL row keys and rows"): comparing two
 * encodings bytewise (memcmp) gives the SQL order of the tuples, so the prolly tree, which only compares
 * bytes, keeps a table sorted by primary key and can answer `pk = …`, prefix and range scans.
 *
 * Each column value is a tag byte and a payload, and no value's encoding is a prefix of another value's
 * encoding in the same column, so a tuple is the plain concatenation of its values and a tuple prefix is a
 * byte prefix of the key.
 *
 *   NULL        0x01                                    (sorts before every value)
 *   false/true  0x02 / 0x03
 *   integer     0x14 for 0; 0x14+n then n big-endian magnitude bytes for positives (n = 1..8, minimal);
 *               0x14-n then the n bytes of the magnitude's ones' complement for negatives
 *               (date = days since 1970-01-01, datetime = epoch ms, both as integers)
 *   real        0x20 then 8 bytes: IEEE-754 big-endian with the sign bit flipped (positives) or every bit
 *               flipped (negatives); -0 is written as 0, NaN is refused
 *   text        0x30 then UTF-8 with 0x00 escaped as 0x00 0xFF, ended by 0x00 0x01
 *   bytes       0x40 then the bytes escaped the same way, ended by 0x00 0x01
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { MAX_KEY_BYTES } from '../tree/node.js';
import { compareBytes, toHex, utf8 } from '../util/bytes.js';
import { dateToDays, datetimeToMs, daysToDate, msToDatetime } from './temporal.js';
import { describeValue, INT64_MAX, INT64_MIN, isWellFormedText, normalizeInteger, valueError, type KeyColumnType, type SqlValue } from './types.js';
import { ByteWriter } from '../util/byte-writer.js';

export type { KeyColumnType };

/** Tag bytes; every encoded column value starts with one. */
export const KeyTag = {
  NULL: 0x01,
  FALSE: 0x02,
  TRUE: 0x03,
  /** Integer zero; integers use the tags INT_ZERO-8 … INT_ZERO+8. */
  INT_ZERO: 0x14,
  REAL: 0x20,
  TEXT: 0x30,
  BYTES: 0x40,
} as const;

/** What encodeKey accepts for a column: a value in its in-memory form, or a Date for date / datetime. */
export type KeyInput = SqlValue | Date;

/** Bounds of a key scan: `start` inclusive, `end` exclusive; `end === null` means "to the last key". */
export interface KeyRange {
  start: Uint8Array;
  end: Uint8Array | null;
}


const F64 = new DataView(new ArrayBuffer(8));

function writeInteger(w: ByteWriter, v: number | bigint): void {
  if (typeof v === 'number' ? v === 0 : v === 0n) return w.byte(KeyTag.INT_ZERO);
  const negative = v < 0;
  // Magnitude bytes, most significant first; 2^63 (the magnitude of INT64_MIN) still fits in 8 bytes.
  const mag: number[] = [];
  if (typeof v === 'number') {
    let m = Math.abs(v);
    while (m > 0) {
      mag.push(m % 256);
      m = Math.floor(m / 256);
    }
  } else {
    let m = negative ? -v : v;
    while (m > 0n) {
      mag.push(Number(m & 0xffn));
      m >>= 8n;
    }
  }
  mag.reverse();
  w.byte(negative ? KeyTag.INT_ZERO - mag.length : KeyTag.INT_ZERO + mag.length);
  w.ensure(mag.length);
  for (const b of mag) w.buf[w.len++] = negative ? 255 - b : b;
}

function writeReal(w: ByteWriter, v: number): void {
  F64.setFloat64(0, v === 0 ? 0 : v); // -0 → +0 so the two equal values share one encoding
  w.byte(KeyTag.REAL);
  w.ensure(8);
  const negative = (F64.getUint8(0) & 0x80) !== 0;
  for (let i = 0; i < 8; i++) {
    const b = F64.getUint8(i);
    w.buf[w.len++] = negative ? b ^ 0xff : i === 0 ? b ^ 0x80 : b;
  }
}

function writeEscaped(w: ByteWriter, tag: number, data: Uint8Array): void {
  w.byte(tag);
  w.ensure(data.length + 2);
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === 0) {
      w.ensure(data.length - i + 3);
      w.buf[w.len++] = 0x00;
      w.buf[w.len++] = 0xff;
    } else {
      w.buf[w.len++] = b;
    }
  }
  w.buf[w.len++] = 0x00;
  w.buf[w.len++] = 0x01;
}

function badValue(column: number, type: KeyColumnType, v: unknown, why: string): ProllyError {
  return valueError(`key column ${column} (${type}): ${describeValue(v)} ${why}`, { column, type });
}

function writeValue(w: ByteWriter, v: KeyInput | undefined, type: KeyColumnType, column: number): void {
  if (v === null || v === undefined) return w.byte(KeyTag.NULL);
  switch (type) {
    case 'integer':
      if (typeof v !== 'number' && typeof v !== 'bigint') throw badValue(column, type, v, 'is not an integer');
      if (typeof v === 'number' && !Number.isSafeInteger(v)) throw badValue(column, type, v, 'is not a safe integer (use a bigint beyond ±2^53)');
      if (typeof v === 'bigint' && (v < INT64_MIN || v > INT64_MAX)) throw badValue(column, type, v, 'is outside the int64 range');
      return writeInteger(w, v);
    case 'real': {
      // A real column sorts every number as a float64; integers are welcome when a double holds them exactly.
      let n: number;
      if (typeof v === 'number') n = v;
      else if (typeof v === 'bigint' && BigInt(Number(v)) === v) n = Number(v);
      else throw badValue(column, type, v, 'is not a real number (or an integer a float64 holds exactly)');
      if (Number.isNaN(n)) throw badValue(column, type, v, 'is NaN, which has no SQL order (SQLite stores NaN as NULL)');
      return writeReal(w, n);
    }
    case 'boolean':
      if (typeof v !== 'boolean') throw badValue(column, type, v, 'is not a boolean');
      return w.byte(v ? KeyTag.TRUE : KeyTag.FALSE);
    case 'text':
      if (typeof v !== 'string') throw badValue(column, type, v, 'is not a string');
      if (!isWellFormedText(v)) throw badValue(column, type, v, 'has a lone surrogate (not valid Unicode)');
      return writeEscaped(w, KeyTag.TEXT, utf8(v));
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw badValue(column, type, v, 'is not a Uint8Array');
      return writeEscaped(w, KeyTag.BYTES, v);
    case 'date':
      if (typeof v !== 'string' && !(v instanceof Date)) throw badValue(column, type, v, "is not a date ('YYYY-MM-DD' or Date)");
      return writeInteger(w, withColumn(column, type, () => dateToDays(v)));
    case 'datetime':
      if (typeof v !== 'string' && !(v instanceof Date)) throw badValue(column, type, v, 'is not a datetime (ISO 8601 text or Date)');
      return writeInteger(w, withColumn(column, type, () => datetimeToMs(v)));
    default:
      throw valueError(`key column ${column}: type ${JSON.stringify(type)} cannot be part of a key`, { column, type });
  }
}

function withColumn<T>(column: number, type: KeyColumnType, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ProllyError) throw valueError(`key column ${column} (${type}): ${e.message}`, { ...e.data, column, type });
    throw e;
  }
}

function checkArity(values: readonly unknown[], types: readonly KeyColumnType[], exact: boolean): void {
  if (exact ? values.length !== types.length : values.length > types.length) {
    throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `key has ${values.length} values for ${types.length} column types`, { values: values.length, types: types.length });
  }
}

function encodeValues(values: readonly KeyInput[], types: readonly KeyColumnType[]): Uint8Array {
  const w = new ByteWriter(32);
  for (let i = 0; i < values.length; i++) writeValue(w, values[i], types[i]!, i);
  return w.result();
}

/**
 * Encode a key tuple. Throws ESQLVALUE naming the column index for a value that does not fit its type,
 * EKEYTOOLONG past MAX_KEY_BYTES.
 * @example encodeKey([1, 'a'], ['integer', 'text']) // [0x15, 0x01, 0x30, 0x61, 0x00, 0x01]
 */
export function encodeKey(values: readonly KeyInput[], types: readonly KeyColumnType[]): Uint8Array {
  checkArity(values, types, true);
  const key = encodeValues(values, types);
  if (key.length > MAX_KEY_BYTES) {
    throw new ProllyError(ErrorCodes.KEY_TOO_LONG, `encoded key of ${key.length} bytes exceeds ${MAX_KEY_BYTES} bytes`, { length: key.length });
  }
  return key;
}

function bad(message: string, key: Uint8Array, offset: number): ProllyError {
  const hex = key.length > 64 ? toHex(key.subarray(0, 64)) + '…' : toHex(key);
  return new ProllyError(ErrorCodes.BAD_ENCODING, `key ${hex}: ${message} at byte ${offset}`, { key: toHex(key), offset });
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one value per column; strict: refuses every non-canonical form, so decode∘encode is a bijection. */
class KeyReader {
  pos = 0;
  constructor(readonly key: Uint8Array) {}

  need(n: number): void {
    if (this.pos + n > this.key.length) throw bad('truncated value', this.key, this.pos);
  }

  integer(tag: number): number | bigint {
    const start = this.pos - 1;
    if (tag === KeyTag.INT_ZERO) return 0;
    const negative = tag < KeyTag.INT_ZERO;
    const n = negative ? KeyTag.INT_ZERO - tag : tag - KeyTag.INT_ZERO;
    this.need(n);
    let m = 0n;
    for (let i = 0; i < n; i++) {
      const b = this.key[this.pos + i]!;
      m = (m << 8n) | BigInt(negative ? 255 - b : b);
    }
    if ((negative ? 255 - this.key[this.pos]! : this.key[this.pos]!) === 0) throw bad('non-minimal integer', this.key, start);
    this.pos += n;
    const v = negative ? -m : m;
    if (v < INT64_MIN || v > INT64_MAX) throw bad('integer outside int64', this.key, start);
    return normalizeInteger(v);
  }

  escaped(): Uint8Array {
    const out: number[] = [];
    for (;;) {
      this.need(1);
      const b = this.key[this.pos++]!;
      if (b !== 0) {
        out.push(b);
        continue;
      }
      this.need(1);
      const next = this.key[this.pos++]!;
      if (next === 0x01) return Uint8Array.from(out);
      if (next !== 0xff) throw bad(`0x00 followed by 0x${next.toString(16).padStart(2, '0')} (expected 0xff or 0x01)`, this.key, this.pos - 2);
      out.push(0);
    }
  }

  value(type: KeyColumnType): SqlValue {
    this.need(1);
    const at = this.pos;
    const tag = this.key[this.pos++]!;
    if (tag === KeyTag.NULL) return null;
    const isInt = tag >= KeyTag.INT_ZERO - 8 && tag <= KeyTag.INT_ZERO + 8;
    switch (type) {
      case 'integer':
        if (isInt) return this.integer(tag);
        break;
      case 'date':
      case 'datetime':
        if (isInt) {
          const v = this.integer(tag);
          try {
            return type === 'date' ? daysToDate(Number(v)) : msToDatetime(Number(v));
          } catch (e) {
            throw bad(`${type} out of range: ${(e as Error).message}`, this.key, at);
          }
        }
        break;
      case 'boolean':
        if (tag === KeyTag.FALSE || tag === KeyTag.TRUE) return tag === KeyTag.TRUE;
        break;
      case 'real':
        if (tag === KeyTag.REAL) {
          this.need(8);
          const negative = (this.key[this.pos]! & 0x80) === 0; // encoded sign bit 0 ⇔ negative number
          for (let i = 0; i < 8; i++) {
            const b = this.key[this.pos + i]!;
            F64.setUint8(i, negative ? b ^ 0xff : i === 0 ? b ^ 0x80 : b);
          }
          const v = F64.getFloat64(0);
          if (Number.isNaN(v)) throw bad('NaN is not a valid key real', this.key, at);
          if (Object.is(v, -0)) throw bad('-0 must be written as 0', this.key, at);
          this.pos += 8;
          return v;
        }
        break;
      case 'text':
        if (tag === KeyTag.TEXT) {
          const raw = this.escaped();
          try {
            return fatalUtf8.decode(raw);
          } catch {
            throw bad('text is not valid UTF-8', this.key, at);
          }
        }
        break;
      case 'bytes':
        if (tag === KeyTag.BYTES) return this.escaped();
        break;
    }
    throw bad(`tag 0x${tag.toString(16).padStart(2, '0')} is not a ${type} value`, this.key, at);
  }
}

/**
 * Decode a key into values in their in-memory form (integers as numbers when safe, else bigints; dates and
 * datetimes as canonical ISO text). Throws EBADENCODING on anything encodeKey would not produce.
 * @example decodeKey(encodeKey([1, 'a'], ['integer', 'text']), ['integer', 'text']) // [1, 'a']
 */
export function decodeKey(key: Uint8Array, types: readonly KeyColumnType[]): SqlValue[] {
  const r = new KeyReader(key);
  const out: SqlValue[] = [];
  for (const t of types) out.push(r.value(t));
  if (r.pos !== key.length) throw bad(`${key.length - r.pos} trailing bytes after ${types.length} columns`, key, r.pos);
  return out;
}

/**
 * The smallest byte string greater than every string that starts with `prefix`, or null if none exists
 * (the prefix is empty or all 0xff).
 * @example prefixSuccessor(new Uint8Array([1, 0xff])) // [2]
 */
export function prefixSuccessor(prefix: Uint8Array): Uint8Array | null {
  let i = prefix.length - 1;
  while (i >= 0 && prefix[i] === 0xff) i--;
  if (i < 0) return null;
  const out = prefix.slice(0, i + 1);
  out[i]!++;
  return out;
}

/**
 * Bounds of all keys whose first `values.length` columns equal `values` (a NULL here matches keys whose
 * column IS NULL; SQL's `col = NULL` matches nothing and is the query planner's business).
 * @example prefixRange(['eu'], ['text', 'integer']) // { start: 30 65 75 00 01, end: 30 65 75 00 02 }
 */
export function prefixRange(values: readonly KeyInput[], types: readonly KeyColumnType[]): KeyRange {
  checkArity(values, types, false);
  const start = encodeValues(values, types);
  return { start, end: prefixSuccessor(start) };
}

/** One side of a range on a key column. */
export interface KeyBound {
  value: KeyInput;
  inclusive: boolean;
}

/** Options of keyRange. */
export interface KeyRangeOptions {
  /** Types of all key columns. */
  types: readonly KeyColumnType[];
  /** Values the leading columns must equal (may be empty). */
  equal?: readonly KeyInput[];
  /** Lower bound on the column after `equal`. */
  lower?: KeyBound;
  /** Upper bound on the column after `equal`. */
  upper?: KeyBound;
}

/**
 * Bounds of the keys whose leading columns equal `equal` and whose next column lies between `lower` and
 * `upper` with SQL semantics: a bound excludes NULLs in that column, and a NULL bound value matches nothing
 * (an empty range, start === end).
 * @example keyRange({ types: ['integer'], lower: { value: 10, inclusive: false } }) // id > 10
 * @example keyRange({ types: ['text', 'date'], equal: ['eu'], lower: { value: '2024-01-01', inclusive: true }, upper: { value: '2025-01-01', inclusive: false } })
 */
export function keyRange(options: KeyRangeOptions): KeyRange {
  const { types, equal = [], lower, upper } = options;
  const prefix = prefixRange(equal, types);
  if (!lower && !upper) return prefix;
  if (equal.length >= types.length) {
    throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `a range bound needs a key column after the ${equal.length} equal columns, but the key has ${types.length}`, {});
  }
  const col = equal.length;
  const type = types[col]!;
  const empty = { start: prefix.start, end: prefix.start };
  if ((lower && lower.value == null) || (upper && upper.value == null)) return empty; // comparing with NULL is never true
  const encodeAt = (v: KeyInput): Uint8Array => {
    const w = new ByteWriter(32);
    w.bytes(prefix.start);
    writeValue(w, v, type, col);
    return w.result();
  };
  // Without a lower bound, still skip the NULLs of this column: they are prefix + 0x01 and nothing else is.
  const start = lower
    ? lower.inclusive
      ? encodeAt(lower.value)
      : prefixSuccessor(encodeAt(lower.value))!
    : prefixSuccessor(concat(prefix.start, KeyTag.NULL))!;
  const end = upper ? (upper.inclusive ? prefixSuccessor(encodeAt(upper.value)) : encodeAt(upper.value)) : prefix.end;
  if (end !== null && compareBytes(start, end) >= 0) return { start, end: start };
  return { start, end };
}

function concat(a: Uint8Array, b: number): Uint8Array {
  const out = new Uint8Array(a.length + 1);
  out.set(a);
  out[a.length] = b;
  return out;
}

/** A comparison operator a scan can be narrowed by. */
export type ComparisonOp = '=' | '<' | '<=' | '>' | '>=';

/**
 * Bounds for `column op value` on the key column after `prefix` (the first column when there is none).
 * @example comparisonRange({ types: ['integer'], op: '<=', value: 5 }) // keys with id <= 5
 */
export function comparisonRange(options: { types: readonly KeyColumnType[]; op: ComparisonOp; value: KeyInput; prefix?: readonly KeyInput[] }): KeyRange {
  const { types, op, value, prefix = [] } = options;
  switch (op) {
    case '=':
      if (value == null) {
        const { start } = prefixRange(prefix, types); // `col = NULL` is never true
        return { start, end: start };
      }
      return prefixRange([...prefix, value], types);
    case '<':
      return keyRange({ types, equal: prefix, upper: { value, inclusive: false } });
    case '<=':
      return keyRange({ types, equal: prefix, upper: { value, inclusive: true } });
    case '>':
      return keyRange({ types, equal: prefix, lower: { value, inclusive: false } });
    case '>=':
      return keyRange({ types, equal: prefix, lower: { value, inclusive: true } });
    default:
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `unknown comparison operator ${JSON.stringify(op)}`, { op });
  }
}

/**
 * True when `key` lies within `range`.
 * @example keyInRange(encodeKey([3], ['integer']), comparisonRange({ types: ['integer'], op: '>', value: 2 })) // true
 */
export function keyInRange(key: Uint8Array, range: KeyRange): boolean {
  return compareBytes(key, range.start) >= 0 && (range.end === null || compareBytes(key, range.end) < 0);
}

/**
 * True when the range can hold no key.
 * @example isEmptyRange(keyRange({ types: ['integer'], lower: { value: null, inclusive: true } })) // true
 */
export function isEmptyRange(range: KeyRange): boolean {
  return range.end !== null && compareBytes(range.start, range.end) >= 0;
}

/**
 * SQL ordering of values and key tuples, computed on the values themselves (not their encodings). It is
 * the order the key codec must reproduce bytewise, and the order SQLite's ORDER BY gives with the BINARY
 * collation: NULL first; numbers by value (-0 = 0); text by Unicode code point (= UTF-8 byte order, which
 * differs from JavaScript's UTF-16 `<` for characters above U+FFFF); bytes by memcmp; false < true;
 * dates and datetimes by the instant they name.
 */
import { compareBytes } from '../util/bytes.js';
import { dateToDays, datetimeToMs } from './temporal.js';
import type { KeyInput } from './key-codec.js';
import type { KeyColumnType } from './types.js';

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Code point order of two strings without encoding them. */
function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return sign(a.length - i - (b.length - j));
}

/**
 * Compare two values of one column type: negative, zero or positive. NULL (null or undefined) sorts first
 * and equals NULL here (ORDER BY semantics, not `=`).
 * @example compareSqlValues(-0, 0, 'real') // 0
 * @example compareSqlValues('\u{10000}', '\uFFFF', 'text') // 1 (code point order)
 */
export function compareSqlValues(a: KeyInput | undefined, b: KeyInput | undefined, type: KeyColumnType): number {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an && bn ? 0 : an ? -1 : 1;
  switch (type) {
    case 'integer':
    case 'real': {
      const x = a as number | bigint;
      const y = b as number | bigint;
      return x < y ? -1 : x > y ? 1 : 0; // mixed number/bigint comparison is exact in JS
    }
    case 'boolean':
      return Number(a) - Number(b);
    case 'text':
      return compareCodePoints(a as string, b as string);
    case 'bytes':
      return sign(compareBytes(a as Uint8Array, b as Uint8Array));
    case 'date':
      return sign(dateToDays(a as string | Date) - dateToDays(b as string | Date));
    case 'datetime':
      return sign(datetimeToMs(a as string | Date) - datetimeToMs(b as string | Date));
  }
}

/**
 * Compare two key tuples column by column; a shorter tuple that is a prefix of the other sorts first.
 * @example compareKeyTuples([1, 'b'], [1, 'a'], ['integer', 'text']) // 1
 */
export function compareKeyTuples(a: readonly (KeyInput | undefined)[], b: readonly (KeyInput | undefined)[], types: readonly KeyColumnType[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareSqlValues(a[i], b[i], types[i]!);
    if (c !== 0) return c;
  }
  return sign(a.length - b.length);
}

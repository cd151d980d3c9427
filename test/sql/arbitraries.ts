/**
 * fast-check generators of SQL key values and tuples, plus the normal form a decoder gives back. Dates are
 * generated through JS Date (not our calendar code) so the codec is checked against an outside calendar.
 */
import fc from 'fast-check';
import type { KeyColumnType, KeyInput } from '../../src/sql/key-codec.js';
import { INT64_MAX, INT64_MIN, type SqlValue } from '../../src/sql/types.js';

export const KEY_TYPES: readonly KeyColumnType[] = ['integer', 'real', 'text', 'bytes', 'boolean', 'date', 'datetime'];

const MIN_DATE = new Date('0001-01-01T00:00:00.000Z');
const MAX_DATE = new Date('9999-12-31T23:59:59.999Z');

const intEdges = [
  INT64_MIN,
  INT64_MIN + 1n,
  INT64_MAX,
  INT64_MAX - 1n,
  -(2n ** 53n),
  -(2n ** 53n) + 1n,
  2n ** 53n,
  2n ** 53n - 1n,
  -256n,
  -255n,
  -1n,
  0n,
  1n,
  255n,
  256n,
  65535n,
  65536n,
];

/** An int64 as the codec accepts it: a safe number, or any bigint in range (small bigints too). */
const integerArb: fc.Arbitrary<KeyInput> = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.maxSafeInteger(),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.constantFrom(...intEdges),
  fc.constantFrom(...intEdges).map((b) => (b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b)),
);

const realArb: fc.Arbitrary<KeyInput> = fc.oneof(
  fc.double({ noNaN: true }),
  fc.constantFrom(-0, 0, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1, -1, 0.5, 2 ** 53),
  fc.integer({ min: -3, max: 3 }),
);

const tricky = ['\0', '\x01', '\xff', 'a', 'b', 'é', '\uffff', '\ud7ff', '\ue000', '\u{10000}', '\u{10ffff}', '😀'];
const textArb: fc.Arbitrary<KeyInput> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom(...tricky), maxLength: 5 }),
  fc.constantFrom('', '\0', 'a', 'a\0', 'a\0\0', 'a\x01', 'ab'),
);

const bytesArb: fc.Arbitrary<KeyInput> = fc.oneof(
  fc.uint8Array({ maxLength: 12 }),
  fc.array(fc.constantFrom(0, 1, 0xfe, 0xff), { maxLength: 5 }).map((a) => Uint8Array.from(a)),
);

const dateArb = fc.date({ min: MIN_DATE, max: MAX_DATE, noInvalidDate: true });

const arbs: Record<KeyColumnType, fc.Arbitrary<KeyInput>> = {
  integer: integerArb,
  real: realArb,
  text: textArb,
  bytes: bytesArb,
  boolean: fc.boolean(),
  date: dateArb.map((d) => d.toISOString().slice(0, 10)),
  datetime: fc.oneof(dateArb.map((d) => d.toISOString()), dateArb),
};

/** A value of `type`, NULL one time in eight. */
export function keyValueArb(type: KeyColumnType): fc.Arbitrary<KeyInput> {
  return fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 7, arbitrary: arbs[type] });
}

/** Small pools per type, so that generated tuples often share prefixes and tie on columns. */
export function smallKeyValueArb(type: KeyColumnType): fc.Arbitrary<KeyInput> {
  const pools: Record<KeyColumnType, KeyInput[]> = {
    integer: [null, -1, 0, 1, 2n ** 60n],
    real: [null, -Infinity, -0.5, 0, 0.5],
    text: [null, '', 'a', 'a\0', 'b'],
    bytes: [null, new Uint8Array([]), new Uint8Array([0]), new Uint8Array([0xff])],
    boolean: [null, false, true],
    date: [null, '1969-12-31', '1970-01-01', '2024-02-29'],
    datetime: [null, '1970-01-01T00:00:00.000Z', '1970-01-01T00:00:00.001Z', '2024-02-29T12:00:00.000Z'],
  };
  return fc.constantFrom(...pools[type]);
}

/** Column types of a key: 1 to 4 columns. */
export const keyTypesArb = fc.array(fc.constantFrom(...KEY_TYPES), { minLength: 1, maxLength: 4 });

/** A tuple for `types`. */
export function tupleArb(types: readonly KeyColumnType[], small = false): fc.Arbitrary<KeyInput[]> {
  return fc.tuple(...types.map((t) => (small ? smallKeyValueArb(t) : keyValueArb(t))));
}

/** The form decodeKey returns for an encoded value: int64 normal form, -0 → 0, canonical date text. */
export function normalizeKeyValue(v: KeyInput | undefined, type: KeyColumnType): SqlValue {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'integer': {
      const b = BigInt(v as number | bigint);
      return b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b;
    }
    case 'real':
      return Number(v) === 0 ? 0 : Number(v);
    case 'datetime':
      return v instanceof Date ? v.toISOString() : new Date(v as string).toISOString();
    default:
      return v as SqlValue;
  }
}

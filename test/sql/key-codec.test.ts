import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { compareKeyTuples, compareSqlValues } from '../../src/sql/compare.js';
import {
  comparisonRange,
  decodeKey,
  encodeKey,
  isEmptyRange,
  keyInRange,
  keyRange,
  prefixRange,
  prefixSuccessor,
  type ComparisonOp,
  type KeyColumnType,
  type KeyInput,
  type KeyRange,
} from '../../src/sql/key-codec.js';
import { compareBytes, fromHex, toHex } from '../../src/util/bytes.js';
import { keyTypesArb, normalizeKeyValue, tupleArb } from './arbitraries.js';

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

function isPrefix(p: Uint8Array, b: Uint8Array): boolean {
  return p.length <= b.length && compareBytes(p, b.subarray(0, p.length)) === 0;
}

describe('key codec: order', () => {
  it('memcmp of encodings equals SQL order of random mixed-type tuples', () => {
    fc.assert(
      fc.property(
        keyTypesArb.chain((types) => fc.tuple(fc.constant(types), tupleArb(types), tupleArb(types))),
        ([types, a, b]) => {
          expect(sign(compareBytes(encodeKey(a, types), encodeKey(b, types)))).toBe(sign(compareKeyTuples(a, b, types)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('holds on tuples that often tie on leading columns', () => {
    fc.assert(
      fc.property(
        keyTypesArb.chain((types) => fc.tuple(fc.constant(types), tupleArb(types, true), tupleArb(types, true))),
        ([types, a, b]) => {
          expect(sign(compareBytes(encodeKey(a, types), encodeKey(b, types)))).toBe(sign(compareKeyTuples(a, b, types)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('sorts a hand-picked list of edge values in the expected order', () => {
    const ordered: [KeyColumnType, KeyInput[]][] = [
      ['integer', [null, -(2n ** 63n), -(2n ** 63n) + 1n, -(2n ** 53n), -65536, -257, -256, -255, -1, 0, 1, 255, 256, 2 ** 53 - 1, 2n ** 53n, 2n ** 63n - 1n]],
      ['real', [null, -Infinity, -Number.MAX_VALUE, -1, -Number.MIN_VALUE, 0, Number.MIN_VALUE, 1, 2 ** 53, Number.MAX_VALUE, Infinity]],
      ['text', [null, '', '\0', '\0\0', '\x01', 'a', 'a\0', 'a\0b', 'a\x01', 'ab', 'é', '\uffff', '😀']],
      ['bytes', [null, new Uint8Array([]), new Uint8Array([0]), new Uint8Array([0, 0]), new Uint8Array([0, 0xff]), new Uint8Array([1]), new Uint8Array([0xff])]],
      ['boolean', [null, false, true]],
      ['date', [null, '0001-01-01', '1969-12-31', '1970-01-01', '2024-02-29', '9999-12-31']],
      ['datetime', [null, '0001-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000Z', '1970-01-01T00:00:00.001Z', '9999-12-31T23:59:59.999Z']],
    ];
    for (const [type, values] of ordered) {
      const encoded = values.map((v) => encodeKey([v], [type]));
      for (let i = 1; i < encoded.length; i++) expect(compareBytes(encoded[i - 1]!, encoded[i]!), `${type} ${i}`).toBeLessThan(0);
    }
  });

  it('orders text by code point (UTF-8), not by UTF-16 code unit', () => {
    // U+FFFF < U+10000 by code point, but '\uFFFF' > '\uD800\uDC00' as JS strings.
    expect('\uffff' > '\u{10000}').toBe(true);
    expect(compareBytes(encodeKey(['\uffff'], ['text']), encodeKey(['\u{10000}'], ['text']))).toBeLessThan(0);
    expect(compareSqlValues('\uffff', '\u{10000}', 'text')).toBeLessThan(0);
  });

  it('gives -0 and 0, 5 and 5n, equal datetimes with different offsets one encoding', () => {
    expect(toHex(encodeKey([-0], ['real']))).toBe(toHex(encodeKey([0], ['real'])));
    expect(toHex(encodeKey([5n], ['integer']))).toBe(toHex(encodeKey([5], ['integer'])));
    expect(toHex(encodeKey([5n], ['real']))).toBe(toHex(encodeKey([5], ['real'])));
    expect(toHex(encodeKey(['2024-01-01T01:00:00+01:00'], ['datetime']))).toBe(toHex(encodeKey(['2024-01-01T00:00:00.000Z'], ['datetime'])));
    expect(toHex(encodeKey([new Date(Date.UTC(2024, 0, 1))], ['date']))).toBe(toHex(encodeKey(['2024-01-01'], ['date'])));
  });
});

describe('key codec: round trip and composition', () => {
  it('decode(encode(x)) returns x in its normal form', () => {
    fc.assert(
      fc.property(
        keyTypesArb.chain((types) => fc.tuple(fc.constant(types), tupleArb(types))),
        ([types, values]) => {
          const decoded = decodeKey(encodeKey(values, types), types);
          expect(decoded).toEqual(values.map((v, i) => normalizeKeyValue(v, types[i]!)));
          // and the normal form encodes to the same bytes
          expect(toHex(encodeKey(decoded, types))).toBe(toHex(encodeKey(values, types)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a tuple prefix encodes to a byte prefix of the whole key', () => {
    fc.assert(
      fc.property(
        keyTypesArb.chain((types) => fc.tuple(fc.constant(types), tupleArb(types), fc.nat(types.length))),
        ([types, values, k]) => {
          const whole = encodeKey(values, types);
          const head = encodeKey(values.slice(0, k), types.slice(0, k));
          expect(isPrefix(head, whole)).toBe(true);
          expect(toHex(prefixRange(values.slice(0, k), types).start)).toBe(toHex(head));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('decodes integers as numbers when safe and bigints beyond', () => {
    expect(decodeKey(encodeKey([2n ** 53n - 1n], ['integer']), ['integer'])).toEqual([2 ** 53 - 1]);
    expect(decodeKey(encodeKey([2n ** 53n], ['integer']), ['integer'])).toEqual([2n ** 53n]);
    expect(decodeKey(encodeKey([-(2n ** 63n)], ['integer']), ['integer'])).toEqual([-(2n ** 63n)]);
  });
});

describe('key codec: strict decoding and errors', () => {
  const rejects = (hex: string, types: KeyColumnType[], message: RegExp) => {
    expect(() => decodeKey(fromHex(hex), types)).toThrow(message);
    try {
      decodeKey(fromHex(hex), types);
    } catch (e) {
      expect((e as ProllyError).code).toBe('EBADENCODING');
    }
  };

  it('refuses non-canonical and malformed keys', () => {
    rejects('1500', ['integer'], /non-minimal integer/); // 0 written in one byte
    rejects('13ff', ['integer'], /non-minimal integer/); // -0 as a negative
    rejects('1d0000000000000001', ['integer'], /tag 0x1d/); // 9 magnitude bytes
    rejects('0c7ffffffffffffffe', ['integer'], /outside int64/); // -(2^63 + 1)
    rejects('1c8000000000000000', ['integer'], /outside int64/); // 2^63
    rejects('207fffffffffffffff', ['real'], /-0 must be written as 0/);
    rejects('20fff8000000000000', ['real'], /NaN/);
    rejects('306100', ['text'], /truncated/);
    rejects('30610002', ['text'], /0x00 followed by 0x02/);
    rejects('30ff0001', ['text'], /not valid UTF-8/);
    rejects('150101', ['integer'], /1 trailing bytes/);
    rejects('3000 01'.replace(' ', ''), ['integer'], /tag 0x30 is not a integer/);
    rejects('1501', ['integer', 'text'], /truncated/);
    rejects('1c7fffffffffffffff', ['date'], /date out of range/);
  });

  it('names the key column and the problem for bad values', () => {
    const cases: [KeyInput[], KeyColumnType[], RegExp][] = [
      [['x'], ['integer'], /key column 0 \(integer\): "x" is not an integer/],
      [[1.5], ['integer'], /key column 0 \(integer\): 1.5 is not a safe integer/],
      [[2 ** 60], ['integer'], /not a safe integer/],
      [[2n ** 63n], ['integer'], /outside the int64 range/],
      [[1, NaN], ['integer', 'real'], /key column 1 \(real\): NaN is NaN/],
      [[2n ** 53n + 1n], ['real'], /float64 holds exactly/],
      [['a\ud800'], ['text'], /lone surrogate/],
      [['2024-02-30'], ['date'], /key column 0 \(date\): "2024-02-30" is not a valid calendar date/],
      [['10000-01-01'], ['date'], /is not a date/],
      [['2024-01-01T00:00:00.0001Z'], ['datetime'], /sub-millisecond/],
      [[{ a: 1 }], ['json' as KeyColumnType], /cannot be part of a key/],
    ];
    for (const [values, types, message] of cases) {
      expect(() => encodeKey(values, types)).toThrow(message);
      try {
        encodeKey(values, types);
      } catch (e) {
        expect((e as ProllyError).code).toBe('ESQLVALUE');
      }
    }
    expect(() => encodeKey([1], ['integer', 'text'])).toThrow(/1 values for 2 column types/);
  });

  it('refuses keys longer than the tree accepts', () => {
    expect(encodeKey(['x'.repeat(4093)], ['text']).length).toBe(4096);
    expect(() => encodeKey(['x'.repeat(4094)], ['text'])).toThrow(/4097 bytes exceeds 4096/);
  });
});

/** SQL truth of `key[col] op value` (NULL never matches a comparison). */
function satisfies(v: KeyInput | undefined, op: ComparisonOp, value: KeyInput, type: KeyColumnType): boolean {
  if (v === null || v === undefined || value === null) return false;
  const c = compareSqlValues(v, value, type);
  return op === '=' ? c === 0 : op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}

describe('key codec: scan ranges', () => {
  it('prefixRange covers exactly the keys whose leading columns equal the prefix', () => {
    fc.assert(
      fc.property(
        keyTypesArb.chain((types) =>
          fc.tuple(fc.constant(types), fc.array(tupleArb(types, true), { minLength: 1, maxLength: 30 }), tupleArb(types, true), fc.nat(types.length)),
        ),
        ([types, keys, probe, k]) => {
          const prefix = probe.slice(0, k);
          const range = prefixRange(prefix, types);
          for (const key of keys) {
            const expected = compareKeyTuples(key.slice(0, k), prefix, types) === 0;
            expect(keyInRange(encodeKey(key, types), range)).toBe(expected);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('comparisonRange covers exactly the keys where prefix matches and `col op value` holds', () => {
    fc.assert(
      fc.property(
        keyTypesArb.chain((types) =>
          fc.tuple(
            fc.constant(types),
            fc.array(tupleArb(types, true), { minLength: 1, maxLength: 30 }),
            tupleArb(types, true),
            fc.nat(types.length - 1),
            fc.constantFrom<ComparisonOp>('=', '<', '<=', '>', '>='),
          ),
        ),
        ([types, keys, probe, k, op]) => {
          const prefix = probe.slice(0, k);
          const value = probe[k]!;
          const range = comparisonRange({ types, prefix, op, value });
          let matched = 0;
          for (const key of keys) {
            const expected = compareKeyTuples(key.slice(0, k), prefix, types) === 0 && satisfies(key[k], op, value, types[k]!);
            if (expected) matched++;
            expect(keyInRange(encodeKey(key, types), range), `${JSON.stringify(key.map(String))} ${op} ${String(value)}`).toBe(expected);
          }
          if (value === null) expect(isEmptyRange(range)).toBe(true);
          return matched >= 0;
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('keyRange with both bounds is the intersection (BETWEEN) and empty when crossed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<KeyColumnType>('integer', 'real', 'text', 'date').chain((t) =>
          fc.tuple(fc.constant(t), fc.array(tupleArb([t, 'integer'], true), { maxLength: 20 }), tupleArb([t], true), tupleArb([t], true), fc.boolean(), fc.boolean()),
        ),
        ([t, keys, [lo], [hi], li, ui]) => {
          const types: KeyColumnType[] = [t, 'integer'];
          const range = keyRange({ types, lower: { value: lo!, inclusive: li }, upper: { value: hi!, inclusive: ui } });
          for (const key of keys) {
            const expected = satisfies(key[0], li ? '>=' : '>', lo!, t) && satisfies(key[0], ui ? '<=' : '<', hi!, t);
            expect(keyInRange(encodeKey(key, types), range)).toBe(expected);
          }
          if (lo !== null && hi !== null && compareSqlValues(lo, hi, t) > 0) expect(isEmptyRange(range)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('prefixSuccessor skips trailing 0xff bytes and has no successor for all-0xff', () => {
    expect(toHex(prefixSuccessor(fromHex('01ff'))!)).toBe('02');
    expect(toHex(prefixSuccessor(fromHex('0a0b'))!)).toBe('0a0c');
    expect(prefixSuccessor(fromHex('ffff'))).toBeNull();
    expect(prefixSuccessor(new Uint8Array())).toBeNull();
    expect(prefixRange([], ['integer'])).toEqual({ start: new Uint8Array(), end: null });
  });
});

describe('key codec: known-answer vectors (fixtures/vectors/sql-keys.json)', () => {
  const doc = JSON.parse(readFileSync(new URL('../../fixtures/vectors/sql-keys.json', import.meta.url), 'utf8')) as {
    keys: { types: KeyColumnType[]; values: unknown[]; hex: string }[];
    ranges: { types: KeyColumnType[]; equal: unknown[]; op: ComparisonOp | null; value: unknown; start: string; end: string | null }[];
  };
  const fromVector = (v: unknown, t: KeyColumnType): KeyInput => {
    if (v === null) return null;
    if (t === 'integer') return BigInt(v as string);
    if (t === 'real') return typeof v === 'string' ? ({ '-0': -0, Infinity: Infinity, '-Infinity': -Infinity } as Record<string, number>)[v]! : (v as number);
    if (t === 'bytes') return fromHex(v as string);
    return v as KeyInput;
  };

  it('has vectors', () => {
    expect(doc.keys.length).toBeGreaterThan(30);
    expect(doc.ranges.length).toBeGreaterThan(5);
  });

  it('encodes every vector to its bytes and decodes them back', () => {
    for (const v of doc.keys) {
      const values = v.values.map((x, i) => fromVector(x, v.types[i]!));
      expect(toHex(encodeKey(values, v.types)), JSON.stringify(v)).toBe(v.hex);
      expect(decodeKey(fromHex(v.hex), v.types)).toEqual(values.map((x, i) => normalizeKeyValue(x, v.types[i]!)));
    }
  });

  it('reproduces every range vector', () => {
    for (const r of doc.ranges) {
      const equal = r.equal.map((x, i) => fromVector(x, r.types[i]!));
      const got: KeyRange = r.op ? comparisonRange({ types: r.types, prefix: equal, op: r.op, value: fromVector(r.value, r.types[equal.length]!) }) : prefixRange(equal, r.types);
      expect({ start: toHex(got.start), end: got.end && toHex(got.end) }, JSON.stringify(r)).toEqual({ start: r.start, end: r.end });
    }
  });
});

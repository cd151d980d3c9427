import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { encodeKey } from '../../src/sql/key-codec.js';
import { decodeRow, decodeRowCells, decodeTableRow, encodeRow, encodeTableRow } from '../../src/sql/row-codec.js';
import { addColumn, decodeSchema, defineTable, dropColumn, renameColumn, ROWID_COLUMN, type TableSchema } from '../../src/sql/schema.js';
import type { ColumnType, KeyColumnType, SqlValue } from '../../src/sql/types.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { KEY_TYPES, keyValueArb, normalizeKeyValue } from './arbitraries.js';

const ALL_TYPES: readonly ColumnType[] = [...KEY_TYPES, 'json'];

function valueArb(type: ColumnType): fc.Arbitrary<unknown> {
  return type === 'json' ? fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 3 })) : keyValueArb(type);
}

function normalize(v: unknown, type: ColumnType): SqlValue {
  if (v === null || v === undefined) return null;
  if (type === 'json') return JSON.parse(JSON.stringify(v)) as SqlValue;
  return normalizeKeyValue(v as never, type as KeyColumnType);
}

/** A random table: 1–8 columns of any type, a primary key over some non-json columns or none. */
const schemaArb: fc.Arbitrary<TableSchema> = fc
  .array(fc.constantFrom(...ALL_TYPES), { minLength: 1, maxLength: 8 })
  .chain((types) => fc.tuple(fc.constant(types), fc.subarray(types.map((t, i) => ({ t, i })).filter((c) => c.t !== 'json')), fc.boolean()))
  .map(([types, pk, shuffle]) =>
    defineTable({
      name: 't',
      columns: types.map((type, i) => ({ name: `c${i}`, type })),
      primaryKey: (shuffle ? [...pk].reverse() : pk).map((c) => `c${c.i}`),
    }),
  );

function rowArb(schema: TableSchema): fc.Arbitrary<Record<string, unknown>> {
  const entries = schema.columns.map((c) => {
    const arb = schema.primaryKey.includes(c.id) ? valueArb(c.type).filter((v) => v !== null) : valueArb(c.type);
    return [c.name, arb] as const;
  });
  const record = fc.record(Object.fromEntries(entries) as Record<string, fc.Arbitrary<unknown>>);
  return schema.primaryKey.length === 0 ? fc.tuple(record, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(([r, id]) => ({ ...r, [ROWID_COLUMN]: id })) : record;
}

function expectedRow(schema: TableSchema, row: Record<string, unknown>): Record<string, SqlValue> {
  const out: Record<string, SqlValue> = {};
  if (schema.primaryKey.length === 0) out[ROWID_COLUMN] = normalize(row[ROWID_COLUMN], 'integer');
  for (const c of schema.columns) out[c.name] = normalize(row[c.name], c.type);
  return out;
}

describe('row codec: round trips', () => {
  it('decodeTableRow(encodeTableRow(row)) gives the row back in normal form, canonically', () => {
    fc.assert(
      fc.property(
        schemaArb.chain((s) => fc.tuple(fc.constant(s), rowArb(s))),
        ([schema, row]) => {
          const { key, value } = encodeTableRow(schema, row);
          const decoded = decodeTableRow(schema, key, value);
          expect(decoded).toEqual(expectedRow(schema, row));
          expect(Object.keys(decoded)).toEqual(Object.keys(expectedRow(schema, row)));
          const again = encodeTableRow(schema, decoded);
          expect(toHex(again.key)).toBe(toHex(key));
          expect(toHex(again.value)).toBe(toHex(value));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('is compact: a row of small integers costs a tag and a byte or two per value', () => {
    const s = defineTable({ name: 'm', columns: ['id', 'a', 'b', 'c'].map((name) => ({ name, type: 'integer' as const })), primaryKey: ['id'] });
    const value = encodeRow(s, { id: 1, a: 1, b: -2, c: 300 });
    // version, slots, 1 bitmap byte, then 0x01 02 | 0x01 03 | 0x01 d8 04
    expect(toHex(value)).toBe('01040e' + '0102' + '0103' + '01d804');
    expect(decodeRow(s, value)).toEqual({ a: 1, b: -2, c: 300 });
  });

  it('stores NULLs as cleared bits only', () => {
    const s = defineTable({ name: 'n', columns: [{ name: 'id', type: 'integer' }, { name: 'x', type: 'text' }, { name: 'y', type: 'json' }], primaryKey: ['id'] });
    expect(toHex(encodeRow(s, { id: 1, x: null }))).toBe('010300');
    expect(decodeRow(s, fromHex('010300'))).toEqual({ x: null, y: null });
  });
});

describe('row codec: schema evolution', () => {
  const v1 = defineTable({
    name: 'people',
    columns: [
      { name: 'id', type: 'integer' },
      { name: 'name', type: 'text' },
      { name: 'age', type: 'integer' },
      { name: 'tags', type: 'json' },
    ],
    primaryKey: ['id'],
  });

  it('ADD COLUMN: old rows read the default, new rows keep an explicit NULL', () => {
    const old = encodeTableRow(v1, { id: 1, name: 'Ada', age: 36, tags: ['x'] });
    const v2 = addColumn(v1, { name: 'country', type: 'text', default: 'UK' });
    expect(decodeTableRow(v2, old.key, old.value)).toEqual({ id: 1, name: 'Ada', age: 36, tags: ['x'], country: 'UK' });
    const fresh = encodeTableRow(v2, { id: 2, name: 'Bob', age: null, tags: null, country: null });
    expect(decodeTableRow(v2, fresh.key, fresh.value).country).toBeNull();
    // The old value was not rewritten and still reads the same under the old schema.
    expect(decodeTableRow(v1, old.key, old.value)).toEqual({ id: 1, name: 'Ada', age: 36, tags: ['x'] });
  });

  it('RENAME COLUMN needs no rewrite: the same bytes read under the new name', () => {
    const row = { id: 1, name: 'Ada', age: 36, tags: null };
    const before = encodeTableRow(v1, row);
    const v2 = renameColumn(v1, { from: 'name', to: 'full_name' });
    expect(decodeTableRow(v2, before.key, before.value)).toEqual({ id: 1, full_name: 'Ada', age: 36, tags: null });
    expect(toHex(encodeTableRow(v2, { id: 1, full_name: 'Ada', age: 36, tags: null }).value)).toBe(toHex(before.value));
  });

  it('DROP COLUMN: the value is ignored, and a re-added column of the same name does not resurrect it', () => {
    const old = encodeTableRow(v1, { id: 1, name: 'Ada', age: 36, tags: null });
    const v2 = dropColumn(v1, 'age');
    expect(decodeTableRow(v2, old.key, old.value)).toEqual({ id: 1, name: 'Ada', tags: null });
    const v3 = addColumn(v2, { name: 'age', type: 'text' });
    expect(v3.columns.find((c) => c.name === 'age')!.id).toBe(4);
    expect(decodeTableRow(v3, old.key, old.value)).toEqual({ id: 1, name: 'Ada', tags: null, age: null });
  });

  it('any sequence of ADD / DROP / RENAME keeps every surviving value and defaults the added ones', () => {
    type Op = { kind: 'add'; type: ColumnType; def: unknown } | { kind: 'drop'; pick: number } | { kind: 'rename'; pick: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.constantFrom(...ALL_TYPES).chain((type) => valueArb(type).map((def) => ({ kind: 'add' as const, type, def }))),
      fc.nat().map((pick) => ({ kind: 'drop' as const, pick })),
      fc.nat().map((pick) => ({ kind: 'rename' as const, pick })),
    );
    fc.assert(
      fc.property(
        schemaArb.chain((s) => fc.tuple(fc.constant(s), rowArb(s), fc.array(opArb, { maxLength: 6 }))),
        ([schema, row, ops]) => {
          const { key, value } = encodeTableRow(schema, row);
          // Track, by column id, what each column must read as after the changes.
          const expected = new Map<number, SqlValue>(schema.columns.map((c) => [c.id, normalize(row[c.name], c.type)]));
          let s = schema;
          let n = 0;
          for (const op of ops) {
            if (op.kind === 'add') {
              // A default is user input: for json, a string is JSON text (so a JSON string value is quoted).
              const def = op.type === 'json' && typeof op.def === 'string' ? JSON.stringify(op.def) : op.def;
              s = addColumn(s, { name: `added${n++}`, type: op.type, default: def });
              expected.set(s.nextColumnId - 1, normalize(op.def, op.type));
            } else {
              const candidates = s.columns.filter((c) => op.kind === 'rename' || !s.primaryKey.includes(c.id));
              if (candidates.length === 0 || (op.kind === 'drop' && s.columns.length === 1)) continue;
              const col = candidates[op.pick % candidates.length]!;
              s = op.kind === 'drop' ? dropColumn(s, col.name) : renameColumn(s, { from: col.name, to: `renamed${n++}` });
            }
          }
          const decoded = decodeTableRow(s, key, value);
          for (const c of s.columns) expect(decoded[c.name], c.name).toEqual(expected.get(c.id));
          expect(Object.keys(decoded).filter((k) => k !== ROWID_COLUMN)).toEqual(s.columns.map((c) => c.name));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('an integer stored before a column became real reads as a number', () => {
    const s = defineTable({ name: 'r', columns: [{ name: 'id', type: 'integer' }, { name: 'x', type: 'integer' }], primaryKey: ['id'] });
    const bytes = encodeRow(s, { x: 2n ** 60n });
    const asReal: TableSchema = { ...s, columns: s.columns.map((c) => (c.name === 'x' ? { ...c, type: 'real' } : c)) };
    expect(decodeRow(asReal, bytes)).toEqual({ x: 2 ** 60 });
    const asText: TableSchema = { ...s, columns: s.columns.map((c) => (c.name === 'x' ? { ...c, type: 'text' } : c)) };
    expect(() => decodeRow(asText, bytes)).toThrow(/column "x": stored integer value does not fit the column's type text/);
  });
});

describe('row codec: strict decoding and errors', () => {
  const rejects = (hex: string, message: RegExp) => {
    let err: unknown;
    try {
      decodeRowCells(fromHex(hex));
    } catch (e) {
      err = e;
    }
    expect(err, hex).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('EBADENCODING');
    expect((err as ProllyError).message).toMatch(message);
  };

  it('refuses bytes encodeRow would not produce', () => {
    rejects('', /truncated/);
    rejects('020100', /version 2 is not supported/);
    rejects('0103', /slot count 3 exceeds the row/); // bitmap missing
    rejects('010108', /presence bits set past the slot count/);
    rejects('01010101', /truncated/); // integer cell without payload
    rejects('0101010180', /truncated/); // varint cut short
    rejects('010101018000', /non-minimal varint/);
    rejects('010101010200', /1 trailing bytes/);
    rejects('01010111', /unknown cell tag 0x11/);
    rejects('010101028000000000000000', /-0 is not canonical/);
    rejects('01010102fff8000000000000', /NaN is not canonical/);
    rejects('0101010502ff00', /not valid UTF-8/);
    rejects('010101070a' + toHex(utf8('{ "a": 1 }')), /json cell is not in canonical form/);
    rejects('01010107046e756c6c', /json cell is not in canonical form/); // JSON null is SQL NULL: a cleared bit
    rejects('01010101' + 'ffffffffffffffffff7f', /varint exceeds 2\^64-1/);
    rejects('010101051000', /length 16 runs past the end/);
    rejects('0101010880ade204', /outside the years/);
  });

  it('names the table and column of a value that does not fit', () => {
    const s = defineTable({
      name: 'orders',
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'total', type: 'real' },
        { name: 'day', type: 'date' },
        { name: 'meta', type: 'json' },
      ],
      primaryKey: ['id'],
    });
    expect(() => encodeRow(s, { total: '12' })).toThrow('table "orders", column "total" (real): "12" is not a real number');
    expect(() => encodeRow(s, { day: '2024-02-30' })).toThrow(/table "orders", column "day" \(date\): "2024-02-30" is not a valid calendar date/);
    expect(() => encodeRow(s, { meta: { f: () => 1 } })).toThrow(/column "meta" \(json\).*function/);
    expect(() => encodeTableRow(s, { id: null })).toThrow('table "orders": primary key column "id" is NULL');
    expect(() => encodeTableRow(s, { id: 'seven' })).toThrow(/table "orders", column "id": key column 0 \(integer\): "seven" is not an integer/);
    const hidden = defineTable({ name: 'log', columns: [{ name: 'line', type: 'text' }] });
    expect(() => encodeTableRow(hidden, { line: 'x' })).toThrow('table "log": the hidden row id _rowid is missing');
    const { key, value } = encodeTableRow(hidden, { [ROWID_COLUMN]: 7, line: 'x' });
    expect(decodeTableRow(hidden, key, value)).toEqual({ _rowid: 7, line: 'x' });
  });
});

describe('row codec: known-answer vectors (fixtures/vectors/sql-rows.json)', () => {
  const schemaDoc = JSON.parse(readFileSync(new URL('../../fixtures/vectors/sql-schema.json', import.meta.url), 'utf8')) as { text: string };
  const rowsDoc = JSON.parse(readFileSync(new URL('../../fixtures/vectors/sql-rows.json', import.meta.url), 'utf8')) as {
    rows: { row: Record<string, unknown>; slots?: number; key: string; value: string }[];
  };
  const schema = decodeSchema(utf8(schemaDoc.text));
  const fromVector = (v: unknown, t: ColumnType): unknown => {
    if (v === null || v === undefined) return v;
    if (t === 'integer') return BigInt(v as string | number);
    if (t === 'real' && typeof v === 'string') return ({ '-0': -0, Infinity: Infinity, '-Infinity': -Infinity } as Record<string, number>)[v];
    if (t === 'bytes') return fromHex(v as string);
    return v;
  };

  it('encodes and decodes every row vector exactly', () => {
    expect(rowsDoc.rows.length).toBeGreaterThanOrEqual(5);
    for (const vec of rowsDoc.rows) {
      const row = Object.fromEntries(schema.columns.map((c) => [c.name, fromVector(vec.row[c.name], c.type)]));
      const decoded = decodeTableRow(schema, fromHex(vec.key), fromHex(vec.value));
      if (vec.slots === undefined) {
        const { key, value } = encodeTableRow(schema, row);
        expect(toHex(key)).toBe(vec.key);
        expect(toHex(value), JSON.stringify(vec.row)).toBe(vec.value);
        expect(decoded).toEqual(Object.fromEntries(schema.columns.map((c) => [c.name, normalize(row[c.name], c.type)])));
      } else {
        // Written before the last columns existed: those read as their defaults, the others as written or NULL.
        expect(decodeRowCells(fromHex(vec.value)).slots).toBe(vec.slots);
        for (const c of schema.columns) {
          const want = c.id >= vec.slots ? c.default : normalize(row[c.name], c.type);
          expect(decoded[c.name], c.name).toEqual(want);
        }
      }
    }
  });
});

describe('docs/FORMAT.md worked examples', () => {
  it('match the codecs', () => {
    const hex = (b: Uint8Array) => toHex(b);
    expect(hex(encodeKey([1], ['integer']))).toBe('1501');
    expect(hex(encodeKey([-1], ['integer']))).toBe('13fe');
    expect(hex(encodeKey([256], ['integer']))).toBe('160100');
    expect(hex(encodeKey([-256], ['integer']))).toBe('12feff');
    expect(hex(encodeKey([-(2n ** 63n)], ['integer']))).toBe('0c7fffffffffffffff');
    expect(hex(encodeKey([1.5], ['real']))).toBe('20bff8000000000000');
    expect(hex(encodeKey(['a\0b'], ['text']))).toBe('306100ff620001');
    expect(hex(encodeKey(['eu', 42], ['text', 'integer']))).toBe('30657500' + '01152a');
    const s = defineTable({ name: 'p', columns: [{ name: 'id', type: 'integer' }, { name: 'name', type: 'text' }], primaryKey: ['id'] });
    const { key, value } = encodeTableRow(s, { id: 1, name: 'Ada' });
    expect([hex(key), hex(value)]).toEqual(['1501', '0102020503416461']);
  });
});

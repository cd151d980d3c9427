import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import {
  addColumn,
  coerceRow,
  coerceValue,
  decodeSchema,
  defineTable,
  dropColumn,
  encodeSchema,
  findColumn,
  inferSchema,
  keyColumns,
  renameColumn,
  type ColumnDefinition,
  type TableSchema,
} from '../../src/sql/schema.js';
import { COLUMN_TYPES, type ColumnType } from '../../src/sql/types.js';
import { fromUtf8, toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { keyValueArb, normalizeKeyValue } from './arbitraries.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof ProllyError ? e.code : 'not a ProllyError';
  }
  return undefined;
}

const people = defineTable({
  name: 'people',
  columns: [
    { name: 'id', type: 'integer' },
    { name: 'name', type: 'text', notNull: true },
    { name: 'score', type: 'real', default: 0.5 },
    { name: 'meta', type: 'json', default: '{"tags":[]}' },
  ],
  primaryKey: ['id'],
});

describe('schema: definition and validation', () => {
  it('assigns ids in order, makes key columns NOT NULL, normalises defaults', () => {
    expect(people.columns.map((c) => [c.id, c.name, c.type, c.notNull])).toEqual([
      [0, 'id', 'integer', true],
      [1, 'name', 'text', true],
      [2, 'score', 'real', false],
      [3, 'meta', 'json', false],
    ]);
    expect(people.columns[3]!.default).toEqual({ tags: [] });
    expect(people.primaryKey).toEqual([0]);
    expect(people.nextColumnId).toBe(4);
    expect(keyColumns(people)).toEqual({ names: ['id'], types: ['integer'], ids: [0], hidden: false });
    expect(keyColumns(defineTable({ name: 'log', columns: [{ name: 'line', type: 'text' }] }))).toEqual({ names: ['_rowid'], types: ['integer'], ids: [], hidden: true });
    expect(findColumn(people, 'NAME')?.id).toBe(1);
    expect(Object.isFrozen(people) && Object.isFrozen(people.columns)).toBe(true);
  });

  it('refuses invalid schemas with a message naming the table and column', () => {
    const bad: [ColumnDefinition[], string[] | undefined, string][] = [
      [[{ name: 'a', type: 'integer' }, { name: 'A', type: 'text' }], undefined, 'table "t", column "A": duplicate column name (names compare case-insensitively)'],
      [[{ name: 'a', type: 'varchar' as ColumnType }], undefined, 'table "t", column "a": unknown type "varchar"'],
      [[{ name: 'doc', type: 'json' }], ['doc'], 'table "t", column "doc": a json column cannot be part of the primary key'],
      [[{ name: 'a', type: 'integer' }], ['b'], 'table "t", column "b": primary key column is not a column of the table'],
      [[{ name: 'a', type: 'integer' }], ['a', 'A'], 'table "t", column "a": column appears twice in the primary key'],
      [[{ name: '_ROWID', type: 'integer' }], undefined, 'table "t", column "_ROWID": the name _rowid is reserved'],
      [[{ name: '', type: 'integer' }], undefined, 'table "t", column "": column name must be a non-empty string'],
      [[{ name: 'a\nb', type: 'integer' }], undefined, 'control character'],
      [[{ name: ' a', type: 'integer' }], undefined, 'leading or trailing spaces'],
      [[{ name: 'n', type: 'integer', default: 'many' }], undefined, 'table "t", column "n": invalid default: column "n" (integer): "many" is not an integer'],
      [[{ name: 'd', type: 'date', default: '2023-02-29' }], undefined, 'table "t", column "d": invalid default'],
      [[], undefined, 'table "t": a table needs at least one column'],
    ];
    for (const [columns, primaryKey, message] of bad) {
      expect(() => defineTable({ name: 't', columns, primaryKey }), message).toThrow(message);
      expect(codeOf(() => defineTable({ name: 't', columns, primaryKey }))).toBe('ESQLSCHEMA');
    }
    expect(() => defineTable({ name: 'x'.repeat(129), columns: [{ name: 'a', type: 'text' }] })).toThrow(/table name is longer than 128/);
  });

  it('ALTER helpers keep ids stable and refuse what would break rows', () => {
    const added = addColumn(people, { name: 'email', type: 'text' });
    expect(findColumn(added, 'email')!.id).toBe(4);
    const dropped = dropColumn(added, 'score');
    expect(dropped.columns.map((c) => c.id)).toEqual([0, 1, 3, 4]);
    expect(dropped.nextColumnId).toBe(5);
    expect(renameColumn(dropped, { from: 'email', to: 'mail' }).columns.map((c) => [c.id, c.name])).toContainEqual([4, 'mail']);
    expect(() => addColumn(people, { name: 'must', type: 'text', notNull: true })).toThrow('table "people", column "must": cannot add a NOT NULL column without a default');
    expect(addColumn(people, { name: 'must', type: 'text', notNull: true, default: '' }).columns.at(-1)!.default).toBe('');
    expect(() => dropColumn(people, 'id')).toThrow('table "people", column "id": cannot drop a primary key column');
    expect(() => dropColumn(people, 'nope')).toThrow('table "people", column "nope": no such column');
    expect(() => renameColumn(people, { from: 'name', to: 'ID' })).toThrow(/column "ID": duplicate column name/);
    expect(() => addColumn(people, { name: 'x', type: 'integer', default: 1.5 })).toThrow(/column "x": invalid default: .*1.5 is not an integer/);
  });
});

describe('schema: canonical serialisation', () => {
  const columnArb: fc.Arbitrary<ColumnDefinition> = fc.constantFrom(...COLUMN_TYPES).chain((type) =>
    fc.record({
      name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).filter((s) => s.trim() === s && !/[\u0000-\u001f\u007f]/.test(s) && s.toLowerCase() !== '_rowid'),
      type: fc.constant(type),
      notNull: fc.boolean(),
      default:
        type === 'json'
          ? fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)))
          : keyValueArb(type).filter((v) => !(type === 'real' && Number.isNaN(v))),
    }),
  );
  const schemaArb: fc.Arbitrary<TableSchema> = fc
    .uniqueArray(columnArb, { minLength: 1, maxLength: 6, selector: (c) => c.name.replace(/[A-Z]/g, (x) => x.toLowerCase()) })
    .chain((columns) => fc.tuple(fc.constant(columns), fc.subarray(columns.filter((c) => c.type !== 'json').map((c) => c.name))))
    .map(([columns, primaryKey]) => defineTable({ name: 'table', columns, primaryKey }));

  it('decode(encode(schema)) equals the schema and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(schemaArb, (schema) => {
        const bytes = encodeSchema(schema);
        const back = decodeSchema(bytes);
        expect(back).toEqual(schema);
        expect(toHex(encodeSchema(back))).toBe(toHex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('accepts only the canonical form, so a schema has exactly one address', () => {
    const text = fromUtf8(encodeSchema(people));
    expect(text.startsWith('{"kind":"table","version":1,"name":"people","columns":[{"id":0,')).toBe(true);
    const variants = [
      JSON.stringify(JSON.parse(text), null, 1), // whitespace
      text.replace('"kind":"table","version":1', '"version":1,"kind":"table"'), // key order
      text.replace('"default":0.5', '"default":5e-1'), // number spelling
      text.replace('"default":"{\\"tags\\":[]}"', '"default":"{ \\"tags\\": [] }"'), // json default spelling
    ];
    for (const v of variants) {
      expect(v).not.toBe(text);
      expect(() => decodeSchema(utf8(v)), v).toThrow(/not in canonical form/);
    }
    expect(() => decodeSchema(utf8(text.replace('"version":1', '"version":2')))).toThrow(/schema version 2 is not supported/);
    expect(() => decodeSchema(new Uint8Array([0xff]))).toThrow(/not UTF-8 JSON/);
    expect(codeOf(() => decodeSchema(utf8(text.replace('"type":"real"', '"type":"float"'))))).toBe('ESQLSCHEMA');
  });

  it('reproduces the known-answer vector (fixtures/vectors/sql-schema.json)', () => {
    const doc = JSON.parse(readFileSync(new URL('../../fixtures/vectors/sql-schema.json', import.meta.url), 'utf8')) as { schema: unknown; text: string; address: string };
    const schema = decodeSchema(utf8(doc.text));
    expect(fromUtf8(encodeSchema(schema))).toBe(doc.text);
    expect(toHex(sha256(encodeSchema(schema)))).toBe(doc.address);
    expect(JSON.parse(doc.text)).toEqual(doc.schema);
    expect(schema.columns.find((c) => c.name === 'big')!.default).toBe(-(2n ** 63n));
    expect(schema.columns.find((c) => c.name === 'meta')!.default).toEqual({ tags: [] });
  });
});

describe('schema: coerceValue', () => {
  const col = (type: ColumnType, notNull = false) => ({ name: 'c', type, notNull });

  it('converts lossless inputs to the in-memory form', () => {
    const ok: [ColumnType, unknown, unknown][] = [
      ['integer', '42', 42],
      ['integer', ' -7 ', -7],
      ['integer', '9223372036854775807', 2n ** 63n - 1n],
      ['integer', 2n, 2],
      ['integer', true, 1],
      ['integer', -0, 0],
      ['real', '2.5', 2.5],
      ['real', '-1e3', -1000],
      ['real', '-inf', -Infinity],
      ['real', 3n, 3],
      ['real', -0, 0],
      ['real', NaN, null],
      ['text', 12, '12'],
      ['text', '', ''],
      ['boolean', 'Yes', true],
      ['boolean', 'f', false],
      ['boolean', 0, false],
      ['bytes', '\\x00ff', new Uint8Array([0, 255])],
      ['json', '{"a":[1,2]}', { a: [1, 2] }],
      ['json', [1, 'x'], [1, 'x']],
      ['json', 'null', null],
      ['date', '2024-02-29', '2024-02-29'],
      ['date', new Date(Date.UTC(2024, 1, 29)), '2024-02-29'],
      ['datetime', '2024-02-29 23:00-01:00', '2024-03-01T00:00:00.000Z'],
      ['datetime', 0, '1970-01-01T00:00:00.000Z'],
      ['datetime', new Date(1), '1970-01-01T00:00:00.001Z'],
      ['integer', '', null],
      ['integer', undefined, null],
    ];
    for (const [type, input, want] of ok) expect(coerceValue(col(type), input), `${type} ${String(input)}`).toEqual(want);
    const buf = Buffer.from([1, 2]);
    const copy = coerceValue(col('bytes'), buf) as Uint8Array;
    buf[0] = 9;
    expect(copy).toEqual(new Uint8Array([1, 2])); // a copy, not a view of the caller's buffer
  });

  it('refuses lossy or ambiguous inputs, naming table, row and column', () => {
    const ctx = { table: 'people', row: 3 };
    const bad: [ColumnType, unknown, string][] = [
      ['integer', 1.5, 'table "people", row 3, column "c" (integer): 1.5 is not an integer'],
      ['integer', 2 ** 60, 'is beyond ±2^53 and has lost precision; pass a bigint'],
      ['integer', '9223372036854775808', 'is outside the int64 range'],
      ['integer', '1e3', 'is not an integer'],
      ['real', 'abc', '"abc" is not a real number'],
      ['text', true, 'true is not text'],
      ['text', 'a\ud800', 'lone surrogate'],
      ['boolean', 2, '2 is not a boolean'],
      ['bytes', '00ff', 'is not bytes'],
      ['json', '{a:1}', 'is not valid JSON text'],
      ['json', { a: undefined }, 'is not JSON data: it holds undefined'],
      ['json', { d: new Date(0) }, 'holds a Date object'],
      ['json', [Infinity], 'holds Infinity'],
      ['json', 1n, 'holds a bigint'],
      ['date', '2024-02-30', 'table "people", row 3, column "c" (date): "2024-02-30" is not a valid calendar date'],
      ['datetime', '31/12/2024', 'is not an ISO 8601 datetime'],
    ];
    for (const [type, input, message] of bad) {
      expect(() => coerceValue(col(type), input, ctx), `${type} ${String(input)}`).toThrow(message);
      expect(codeOf(() => coerceValue(col(type), input, ctx))).toBe('ESQLVALUE');
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => coerceValue(col('json'), cyclic)).toThrow(/is cyclic/);
    expect(() => coerceValue(col('integer', true), null, ctx)).toThrow('table "people", row 3, column "c" (integer): NULL violates NOT NULL');
    expect(() => coerceValue(col('real', true), NaN)).toThrow(/NaN violates NOT NULL/);
  });

  it('is idempotent: coercing an in-memory value gives it back', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ColumnType>('integer', 'real', 'text', 'boolean', 'bytes', 'date', 'datetime').chain((t) => fc.tuple(fc.constant(t), keyValueArb(t as never))),
        ([type, v]) => {
          const once = coerceValue(col(type), v);
          expect(once).toEqual(normalizeKeyValue(v, type as never));
          expect(coerceValue(col(type), once)).toEqual(once);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('coerceRow fills defaults, checks NOT NULL and refuses unknown columns', () => {
    expect(coerceRow(people, { id: '7', name: 'Ada' })).toEqual({ id: 7, name: 'Ada', score: 0.5, meta: { tags: [] } });
    expect(coerceRow(people, { id: 1, name: 'Bo', score: null })).toEqual({ id: 1, name: 'Bo', score: null, meta: { tags: [] } });
    expect(() => coerceRow(people, { id: 1 }, { row: 4 })).toThrow('table "people", row 4, column "name" (text): no value given, and the column is NOT NULL without a default');
    expect(() => coerceRow(people, { id: 1, name: 'x', Score: 1 })).toThrow('table "people": no column named "Score" (did you mean "score"?)');
    const log = defineTable({ name: 'log', columns: [{ name: 'line', type: 'text' }] });
    expect(coerceRow(log, { _rowid: '5', line: 'x' })).toEqual({ line: 'x', _rowid: 5 });
  });
});

describe('schema: CSV type inference', () => {
  it('picks the most specific type every sampled cell fits', () => {
    const rows = [
      { id: '1', price: '2', qty: '3', flag: 'true', day: '2024-01-31', at: '2024-01-31', zip: '02134', doc: '{"a":1}', note: 'hi', blank: '', mixed: '1' },
      { id: '2', price: '2.50', qty: '-4', flag: 'FALSE', day: '2024-02-29', at: '2024-02-01T10:00:00Z', zip: '10001', doc: '[1,2]', note: '3', blank: '', mixed: 'x' },
      { id: '3', price: '', qty: '9223372036854775807', flag: '', day: '', at: '2024-02-01 10:00', zip: '', doc: '', note: '', blank: '', mixed: '' },
    ];
    const s = inferSchema(rows, { name: 'sales', primaryKey: ['id'] });
    const types = Object.fromEntries(s.columns.map((c) => [c.name, c.type]));
    expect(types).toEqual({
      id: 'integer',
      price: 'real',
      qty: 'integer',
      flag: 'boolean',
      day: 'date',
      at: 'datetime',
      zip: 'text', // a leading zero would be lost as a number
      doc: 'json',
      note: 'text',
      blank: 'text',
      mixed: 'text',
    });
    expect(s.name).toBe('sales');
    expect(keyColumns(s).names).toEqual(['id']);
    expect(s.columns.filter((c) => c.notNull).map((c) => c.name)).toEqual(['id']);
    // Every sampled cell coerces under the inferred schema.
    rows.forEach((r, i) => expect(() => coerceRow(s, r, { row: i + 1 })).not.toThrow());
  });

  it('overflowing integers become real, and JS values are typed by their JS type', () => {
    expect(inferSchema([{ n: '9223372036854775808' }]).columns[0]!.type).toBe('real');
    const s = inferSchema([{ a: 1, b: 1.5, c: true, d: new Uint8Array([1]), e: { x: 1 }, f: new Date(0), g: 5n }]);
    expect(s.columns.map((c) => c.type)).toEqual(['integer', 'real', 'boolean', 'bytes', 'json', 'datetime', 'integer']);
    expect(inferSchema([], { columns: ['a', ''] }).columns.map((c) => [c.name, c.type])).toEqual([
      ['a', 'text'],
      ['column_2', 'text'],
    ]);
    expect(keyColumns(inferSchema([{ a: '1' }])).hidden).toBe(true);
  });

  it('every cell of the sample coerces under the inferred schema (property)', () => {
    const cellArb = fc.oneof(
      fc.constantFrom('', 'true', 'False', '0', '007', '-3', '1.5', '1e5', '.5', '2024-01-01', '2024-01-01T00:00:00Z', '{"a":1}', '[1]', 'x', '9223372036854775808'),
      fc.string({ maxLength: 6 }),
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ a: cellArb, b: cellArb, c: cellArb }), { minLength: 1, maxLength: 10 }), (rows) => {
        const s = inferSchema(rows);
        rows.forEach((r, i) => coerceRow(s, r, { row: i + 1 }));
      }),
      { numRuns: 1000 },
    );
  });
});

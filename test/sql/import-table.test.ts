/** importTable: type inference, appends, replacement, errors, and indexes catching up afterwards. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SqlSession } from '../../src/sql/engine.js';
import { schemaFromCreateTable } from '../../src/sql/ddl.js';
import { importTable } from '../../src/sql/import-table.js';
import { MemoryTableStore } from '../../src/sql/table-store.js';
import { utf8 } from '../../src/util/bytes.js';

const dir = mkdtempSync(join(tmpdir(), 'prolly-import-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function* stream(text: string): AsyncIterable<Uint8Array> {
  yield utf8(text);
}

async function rows(store: MemoryTableStore, sql: string): Promise<unknown[][]> {
  const r = await new SqlSession({ store }).query(sql);
  return r.kind === 'rows' ? r.rows : [];
}

describe('importTable', () => {
  test('infers types from every row of a file (a late real widens an integer column)', async () => {
    const store = new MemoryTableStore();
    const lines = ['id,qty,code,day,tags'];
    for (let i = 1; i <= 3000; i++) lines.push(`${i},${i === 2999 ? '2.5' : i},${i === 1 ? '007' : i},2024-01-${String((i % 28) + 1).padStart(2, '0')},"[1, ${i}]"`);
    const r = await importTable({ store, table: 'stock', input: file('stock.csv', lines.join('\n') + '\n'), primaryKey: ['id'] });
    expect(r).toMatchObject({ table: 'stock', rows: 3000, count: 3000, created: true });
    expect(r.schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'integer'],
      ['qty', 'real'],
      ['code', 'text'],
      ['day', 'date'],
      ['tags', 'json'],
    ]);
    expect(await rows(store, 'SELECT qty, code, tags FROM stock WHERE id = 1')).toEqual([[1, '007', [1, 1]]]);
  });

  test('appends to an existing table, coercing to its schema and replacing rows with the same key', async () => {
    const store = new MemoryTableStore();
    await new SqlSession({ store }).execute("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL DEFAULT 1); INSERT INTO p VALUES (1, 'old', 5)");
    const r = await importTable({ store, table: 'P', input: stream('{"id": 1, "name": "new"}\n{"ID": "2", "Name": "two", "score": "3.5"}\n'), format: 'ndjson' });
    expect(r).toMatchObject({ table: 'p', rows: 2, count: 2, created: false });
    expect(await rows(store, 'SELECT * FROM p ORDER BY id')).toEqual([
      [1, 'new', 1],
      [2, 'two', 3.5],
    ]);
    await expect(importTable({ store, table: 'p', input: stream('{"id": 3, "nam": "x"}\n'), format: 'ndjson', file: 'in.ndjson' })).rejects.toThrow(/in\.ndjson:1: table "p" has no column "nam"/);
    await expect(importTable({ store, table: 'p', input: stream('{"id": 3}\n'), format: 'ndjson', file: 'in.ndjson' })).rejects.toThrow(/in\.ndjson:1: .*column "name" \(text\): no value given/);
    expect((await store.getTable('p'))!.count).toBe(2);
    await importTable({ store, table: 'p', input: stream('id,name\n9,nine\n'), format: 'csv', replace: true });
    expect(await rows(store, 'SELECT id, name FROM p')).toEqual([[9, 'nine']]);
  });

  test('a given schema (a CREATE TABLE statement) instead of inference', async () => {
    const store = new MemoryTableStore();
    const schema = schemaFromCreateTable('CREATE TABLE ignored (code TEXT PRIMARY KEY, n REAL NOT NULL, email TEXT UNIQUE)', 'codes');
    await importTable({ store, table: 'codes', input: stream('code,n,email\n007,1,a@x\n008,2,b@x\n'), format: 'csv', schema });
    expect(await rows(store, 'SELECT code, n FROM codes ORDER BY code')).toEqual([
      ['007', 1],
      ['008', 2],
    ]);
    expect((await store.getTable('codes'))!.schema.indexes!.map((i) => [i.name, i.unique])).toEqual([['codes_email_key', true]]);
    const before = (await store.getTable('codes'))!.root;
    await expect(importTable({ store, table: 'codes', input: stream('code,n,email\n009,3,a@x\n'), format: 'csv' })).rejects.toThrow(/UNIQUE index codes_email_key: .*\(email\) = \("a@x"\)/);
    expect((await store.getTable('codes'))!.root).toEqual(before);
  });

  test('from a stream, types come from the first rows; a later row that does not fit names its line', async () => {
    const store = new MemoryTableStore();
    // Sampling stops after the first parsed batch (4,096 CSV rows) that reaches sampleRows.
    const text = 'n\n' + Array.from({ length: 5000 }, (_, i) => String(i)).join('\n') + '\nbanana\n';
    await expect(importTable({ store, table: 'nums', input: stream(text), format: 'csv', sampleRows: 10, file: 'nums.csv' })).rejects.toThrow(/nums\.csv:5002: .*"banana" is not an integer/);
    expect(await store.getTable('nums')).toBeUndefined();
  });

  test('hidden row ids continue after the existing rows; indexes catch up after an import', async () => {
    const store = new MemoryTableStore();
    const session = new SqlSession({ store });
    await importTable({ store, table: 'ev', input: stream('kind\n' + Array.from({ length: 400 }, (_, i) => `k${i % 20}`).join('\n') + '\n'), format: 'csv' });
    await session.execute('CREATE INDEX ev_kind ON ev (kind)');
    await importTable({ store, table: 'ev', input: stream('kind\nk3\nnew\n'), format: 'csv' });
    const r = await session.query("SELECT COUNT(*) FROM ev WHERE kind = 'k3'");
    expect(r.kind === 'rows' && r.rows).toEqual([[21]]);
    expect(r.kind === 'rows' && r.plan[0]).toMatchObject({ access: 'index-point', indexSource: 'caught-up' });
    expect(await rows(store, "SELECT _rowid FROM ev WHERE kind = 'new'")).toEqual([[402]]);
  });
});

/**
 * The SQL engine over in-memory tables: DDL, DML, constraints and atomicity, transactions, indexes,
 * types, errors. (Results against SQLite: oracle.test.ts; push-down: pushdown.test.ts; git: cli.test.ts.)
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { SqlSession, type StatementResult } from '../../src/sql/engine.js';
import { MemoryTableStore, type RevisionSource, type TableStore } from '../../src/sql/table-store.js';
import { toHex } from '../../src/util/bytes.js';

let store: MemoryTableStore;
let session: SqlSession;

beforeEach(() => {
  store = new MemoryTableStore();
  session = new SqlSession({ store });
});

async function rows(sql: string, params?: unknown[]): Promise<unknown[][]> {
  const r = await session.query(sql, params);
  if (r.kind !== 'rows') throw new Error(`expected rows from ${sql}`);
  return r.rows;
}

async function fails(sql: string, code: string, message?: RegExp): Promise<ProllyError> {
  try {
    await session.execute(sql);
  } catch (e) {
    expect(e).toBeInstanceOf(ProllyError);
    expect((e as ProllyError).code).toBe(code);
    if (message) expect((e as ProllyError).message).toMatch(message);
    return e as ProllyError;
  }
  throw new Error(`expected ${sql} to fail with ${code}`);
}

async function rootOf(name: string): Promise<string> {
  return toHex((await store.getTable(name))!.root);
}

describe('tables', () => {
  test('CREATE TABLE with every type, NOT NULL, defaults and a primary key; the schema is stored with the table', async () => {
    await session.execute(`CREATE TABLE t (
      id INTEGER PRIMARY KEY, r REAL DEFAULT -1.5, s TEXT NOT NULL DEFAULT 'x', b BOOLEAN DEFAULT TRUE,
      bl BLOB, j JSON, d DATE, dt DATETIME)`);
    const state = await store.getTable('t');
    expect(state!.schema.columns.map((c) => [c.name, c.type, c.notNull])).toEqual([
      ['id', 'integer', true],
      ['r', 'real', false],
      ['s', 'text', true],
      ['b', 'boolean', false],
      ['bl', 'bytes', false],
      ['j', 'json', false],
      ['d', 'date', false],
      ['dt', 'datetime', false],
    ]);
    await session.execute(`INSERT INTO t (id, bl, j, d, dt) VALUES (1, x'00ff', '{"a":[1,2]}', '2024-02-29', '2024-01-01T10:00:00+02:00')`);
    expect(await rows('SELECT * FROM t')).toEqual([[1, -1.5, 'x', true, new Uint8Array([0, 255]), { a: [1, 2] }, '2024-02-29', '2024-01-01T08:00:00.000Z']]);
    expect(await rows("SELECT id FROM t WHERE bl = x'00ff'")).toEqual([[1]]);
  });

  test('a table without a primary key gets hidden, increasing row ids', async () => {
    await session.execute("CREATE TABLE log (msg TEXT); INSERT INTO log VALUES ('a'), ('b'); INSERT INTO log VALUES ('c')");
    expect(await rows('SELECT * FROM log')).toEqual([['a'], ['b'], ['c']]);
    expect(await rows('SELECT _rowid, msg FROM log ORDER BY _rowid DESC')).toEqual([
      [3, 'c'],
      [2, 'b'],
      [1, 'a'],
    ]);
    await session.execute("DELETE FROM log WHERE msg = 'b'");
    expect(await rows('SELECT COUNT(*) FROM log')).toEqual([[2]]);
  });

  test('composite primary key, case-insensitive names, and column names that are alasql keywords', async () => {
    await session.execute('CREATE TABLE Readings (Sensor TEXT, "date" DATE, value REAL, PRIMARY KEY (sensor, date))');
    await session.execute("INSERT INTO readings VALUES ('a', '2024-01-02', 1.5), ('a', '2024-01-01', 2), ('b', '2024-01-01', 3)");
    expect(await rows("SELECT DATE, VALUE FROM READINGS WHERE SENSOR = 'a' ORDER BY date")).toEqual([
      ['2024-01-01', 2],
      ['2024-01-02', 1.5],
    ]);
    expect(await rows('SELECT sensor, SUM(value) AS total, COUNT(*) AS count FROM readings GROUP BY sensor ORDER BY sensor')).toEqual([
      ['a', 3.5],
      ['b', 3],
    ].map(([s, t]) => [s, t, s === 'a' ? 2 : 1]));
  });

  test('rows over 1 KiB are stored as blobs and read back by scans, point reads and updates', async () => {
    await session.execute('CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT)');
    const big = 'x'.repeat(5000) + 'é';
    await session.query('INSERT INTO docs VALUES (?, ?)', [1, big]);
    await session.execute("INSERT INTO docs VALUES (2, 'small'), (3, 'tiny')");
    expect(await rows('SELECT id, LENGTH(body) AS n FROM docs ORDER BY id')).toEqual([
      [1, 5001],
      [2, 5],
      [3, 4],
    ]);
    expect(await rows('SELECT body FROM docs WHERE id = 1')).toEqual([[big]]);
    await session.execute("UPDATE docs SET body = body || '!' WHERE id = 1");
    expect(await rows('SELECT LENGTH(body) FROM docs WHERE id >= 1 AND id < 2')).toEqual([[5002]]);
  });

  test('a key-value dataset is not a table, and its name is taken', async () => {
    store.otherDatasets.add('users');
    await fails('SELECT * FROM users', 'ESQLNAME', /dataset "users" is a kv dataset, not a table/);
    await fails('CREATE TABLE users (id INTEGER PRIMARY KEY)', 'ESQLNAME', /already exists/);
  });

  test('DROP TABLE, IF EXISTS, IF NOT EXISTS', async () => {
    await session.execute('CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE IF NOT EXISTS a (x TEXT)');
    expect((await store.getTable('a'))!.schema.columns[0]!.name).toBe('id');
    await fails('CREATE TABLE a (y TEXT)', 'ESQLNAME', /already exists/);
    await session.execute('DROP TABLE a; DROP TABLE IF EXISTS a');
    expect(await store.getTable('a')).toBeUndefined();
    await fails('DROP TABLE a', 'ESQLNAME', /no such table: a/);
  });

  test('ALTER TABLE ADD, DROP and RENAME COLUMN change the schema, not the rows', async () => {
    await session.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, tmp TEXT); INSERT INTO p VALUES (1, 'Ada', 'x')");
    const root = await rootOf('p');
    await session.execute("ALTER TABLE p ADD COLUMN age INTEGER NOT NULL DEFAULT 36; ALTER TABLE p DROP COLUMN tmp; ALTER TABLE p RENAME COLUMN name TO full_name");
    expect(await rootOf('p')).toBe(root);
    expect(await rows('SELECT * FROM p')).toEqual([[1, 'Ada', 36]]);
    expect((await store.getTable('p'))!.schema.columns.map((c) => c.name)).toEqual(['id', 'full_name', 'age']);
    await session.execute("INSERT INTO p (id, full_name) VALUES (2, 'Alan')");
    expect(await rows('SELECT age FROM p WHERE id = 2')).toEqual([[36]]);
    await fails('ALTER TABLE p DROP COLUMN id', 'ESQLSCHEMA', /primary key/);
    await fails('ALTER TABLE p ADD COLUMN x INTEGER NOT NULL', 'ESQLSCHEMA', /NOT NULL column without a default/);
    await session.execute('ALTER TABLE p RENAME TO people');
    expect(await store.getTable('p')).toBeUndefined();
    expect(await rows('SELECT COUNT(*) FROM people')).toEqual([[2]]);
  });
});

describe('statements', () => {
  beforeEach(async () => {
    await session.execute(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL DEFAULT 0, tag TEXT DEFAULT 'none');
      INSERT INTO t (id, name, score) VALUES (1, 'a', 1.5), (2, 'b', NULL), (3, 'c', -2)`);
  });

  test('INSERT applies defaults to omitted columns and keeps an explicit NULL', async () => {
    await session.execute("INSERT INTO t (id, name) VALUES (4, 'd'); INSERT INTO t (id, name, tag) VALUES (5, 'e', NULL)");
    expect(await rows('SELECT id, score, tag FROM t WHERE id >= 4 ORDER BY id')).toEqual([
      [4, 0, 'none'],
      [5, 0, null],
    ]);
  });

  test('INSERT … SELECT and INSERT with expressions and parameters', async () => {
    await session.execute('CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT, score REAL)');
    const r = (await session.execute('INSERT INTO u SELECT id + 10, UPPER(name), score * 2 FROM t WHERE id < 3'))[0]!;
    expect(r.kind === 'changes' && r.changes).toBe(2);
    await session.execute("INSERT INTO u VALUES (20, 'x' || 'y', 1 + 2 * 3)");
    await session.query('INSERT INTO u (id, name) VALUES (?, ?)', [21, 'param']);
    expect(await rows('SELECT * FROM u ORDER BY id')).toEqual([
      [11, 'A', 3],
      [12, 'B', null],
      [20, 'xy', 7],
      [21, 'param', null],
    ]);
  });

  test('a duplicate key aborts the whole INSERT, naming the key column and the row', async () => {
    const before = await rootOf('t');
    const e = await fails("INSERT INTO t (id, name) VALUES (7, 'x'), (8, 'y'), (2, 'dup')", 'ESQLCONSTRAINT', /row 3.*duplicate primary key \(id\) = \(2\)/);
    expect(e.data).toMatchObject({ table: 't', column: 'id', row: 3 });
    await fails("INSERT INTO t (id, name) VALUES (9, 'x'), (9, 'y')", 'ESQLCONSTRAINT', /row 2 \(same key as row 1\)/);
    expect(await rootOf('t')).toBe(before);
    expect(await rows('SELECT COUNT(*) FROM t')).toEqual([[3]]);
  });

  test('NOT NULL and type violations abort the statement, naming the column and the row', async () => {
    const before = await rootOf('t');
    const e = await fails("INSERT INTO t (id, name) VALUES (10, 'ok'), (11, NULL)", 'ESQLVALUE', /row 2, column "name" \(text\): NULL violates NOT NULL/);
    expect(e.data).toMatchObject({ table: 't', column: 'name', row: 2 });
    await fails("INSERT INTO t (id, name, score) VALUES (12, 'x', 'high')", 'ESQLVALUE', /column "score" \(real\): "high" is not a real number/);
    await fails("UPDATE t SET name = NULL WHERE id = 3", 'ESQLVALUE', /row id=3, column "name"/);
    await fails("INSERT INTO t (id, nam) VALUES (13, 'x')", 'ESQLNAME', /no column "nam"/);
    expect(await rootOf('t')).toBe(before);
  });

  test('UPDATE and DELETE with WHERE; an UPDATE may move a key, and a key clash changes nothing', async () => {
    await session.execute("UPDATE t SET score = score * 10, tag = 'x' WHERE score IS NOT NULL");
    expect(await rows('SELECT id, score, tag FROM t ORDER BY id')).toEqual([
      [1, 15, 'x'],
      [2, null, 'none'],
      [3, -20, 'x'],
    ]);
    await session.execute('UPDATE t SET id = id + 1');
    expect(await rows('SELECT id FROM t ORDER BY id')).toEqual([[2], [3], [4]]);
    const before = await rootOf('t');
    await fails('UPDATE t SET id = 4 WHERE id = 2', 'ESQLCONSTRAINT', /the row id=2: duplicate primary key/);
    expect(await rootOf('t')).toBe(before);
    const d = (await session.execute('DELETE FROM t WHERE id IN (2, 4, 99)'))[0]!;
    expect(d.kind === 'changes' && d.changes).toBe(2);
    expect(await rows('SELECT id, name FROM t')).toEqual([[3, 'b']]);
    await session.execute('DELETE FROM t');
    expect(await rows('SELECT COUNT(*) FROM t')).toEqual([[0]]);
  });

  test('UPDATE and DELETE with subqueries', async () => {
    await session.execute("CREATE TABLE bad (name TEXT); INSERT INTO bad VALUES ('a'), ('c')");
    await session.execute('UPDATE t SET score = (SELECT MAX(score) FROM t) WHERE id = 2');
    expect(await rows('SELECT score FROM t WHERE id = 2')).toEqual([[1.5]]);
    await session.execute('DELETE FROM t WHERE name IN (SELECT name FROM bad)');
    expect(await rows('SELECT id FROM t')).toEqual([[2]]);
  });

  test('INSERT OR REPLACE replaces the row with the same key', async () => {
    await session.execute("INSERT OR REPLACE INTO t (id, name) VALUES (2, 'B'), (9, 'new')");
    expect(await rows('SELECT id, name, score FROM t ORDER BY id')).toEqual([
      [1, 'a', 1.5],
      [2, 'B', 0],
      [3, 'c', -2],
      [9, 'new', 0],
    ]);
  });

  test('unknown tables and columns are errors, not NULLs', async () => {
    await fails('SELECT * FROM nope', 'ESQLNAME', /no such table: nope \(tables: t\)/);
    await fails('SELECT nme FROM t', 'ESQLNAME', /no such column: nme/);
    await fails('SELECT t.x FROM t', 'ESQLNAME', /no such column: t\.x/);
    expect(await rows('SELECT name AS n FROM t ORDER BY n LIMIT 1')).toEqual([['a']]);
  });

  test('syntax errors name the line, the column and the token', async () => {
    const e = await fails("SELECT id,\n  name\nFROM t WHERE id = = 2", 'ESQLSYNTAX', /line 3, column 19 near "="/);
    expect(e.data).toMatchObject({ line: 3, column: 19, token: '=' });
    const f = await fails('SELECT 1;\n  SELECT * FROM t WHERE id = = 2', 'ESQLSYNTAX', /line 2, column 30 near "="/);
    expect(f.data).toMatchObject({ line: 2, column: 30 });
    await fails("SELECT 'open", 'ESQLSYNTAX', /unterminated string/);
    await fails('CREATE TABLE x (id INTEGR)', 'ESQLSYNTAX', /unknown type INTEGR/);
  });

  test('statements before a failing one keep their effect; the failing one changes nothing', async () => {
    await expect(session.execute("INSERT INTO t (id, name) VALUES (20, 'ok'); INSERT INTO t (id, name) VALUES (1, 'dup'); INSERT INTO t (id, name) VALUES (21, 'never')")).rejects.toThrow(/duplicate/);
    expect(await rows('SELECT id FROM t WHERE id >= 20')).toEqual([[20]]);
  });
});

describe('transactions', () => {
  beforeEach(async () => {
    await session.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')");
  });

  test('ROLLBACK leaves the table exactly as it was', async () => {
    const before = await rootOf('t');
    await session.execute("BEGIN; INSERT INTO t VALUES (2, 'b'); UPDATE t SET v = 'z' WHERE id = 1; CREATE TABLE extra (x TEXT)");
    expect(session.inTransaction).toBe(true);
    expect(await rows('SELECT * FROM t ORDER BY id')).toEqual([
      [1, 'z'],
      [2, 'b'],
    ]);
    expect(await rootOf('t')).toBe(before); // nothing stored yet
    await session.execute('ROLLBACK');
    expect(session.inTransaction).toBe(false);
    expect(await rootOf('t')).toBe(before);
    expect(await rows('SELECT * FROM t')).toEqual([[1, 'a']]);
    expect(await store.getTable('extra')).toBeUndefined();
  });

  test('COMMIT stores every change; a failed statement inside keeps the transaction and its earlier changes', async () => {
    await session.execute("BEGIN; INSERT INTO t VALUES (2, 'b')");
    await expect(session.execute("INSERT INTO t VALUES (3, 'c'), (1, 'dup')")).rejects.toThrow(/duplicate/);
    await session.execute('DELETE FROM t WHERE id = 1; COMMIT');
    expect(await rows('SELECT * FROM t')).toEqual([[2, 'b']]);
    const other = new SqlSession({ store });
    expect((await other.query('SELECT * FROM t')).kind === 'rows').toBe(true);
    expect(((await other.query('SELECT * FROM t')) as { rows: unknown[][] }).rows).toEqual([[2, 'b']]);
  });

  test('transaction misuse is an error; closing a session rolls back', async () => {
    await fails('COMMIT', 'ESQLUNSUPPORTED', /no transaction is open/);
    await fails('ROLLBACK', 'ESQLUNSUPPORTED', /no transaction is open/);
    await session.execute('BEGIN');
    await fails('BEGIN', 'ESQLUNSUPPORTED', /already open/);
    await session.execute("INSERT INTO t VALUES (5, 'e')");
    expect(await session.close()).toBe(true);
    expect((await store.getTable('t'))!.count).toBe(1);
  });
});

describe('indexes', () => {
  beforeEach(async () => {
    await session.execute('CREATE TABLE people (id INTEGER PRIMARY KEY, city TEXT, age INTEGER, email TEXT)');
    const values = Array.from({ length: 3000 }, (_, i) => `(${i}, '${['Oslo', 'Lima', 'Pune', 'Kyiv'][i % 4]}', ${i % 90}, 'u${i}@x.org')`).join(', ');
    await session.execute(`INSERT INTO people VALUES ${values}`);
    await session.execute('CREATE INDEX people_city_age ON people (city, age)');
  });

  async function plan(sql: string): Promise<StatementResult & { kind: 'rows' }> {
    const r = await session.query(sql);
    if (r.kind !== 'rows') throw new Error('rows expected');
    return r;
  }

  test('an index serves equality and ranges on its columns; EXPLAIN shows it', async () => {
    const ex = await plan("EXPLAIN SELECT * FROM people WHERE city = 'Lima' AND age BETWEEN 10 AND 12");
    expect(ex.columns).toEqual(['table', 'alias', 'revision', 'access', 'index', 'condition', 'ranges', 'est_rows']);
    expect(ex.rows[0]!.slice(3, 6)).toEqual(['index-range', 'people_city_age', "city = 'Lima' AND age >= 10 AND age <= 12"]);
    const r = await plan("SELECT id FROM people WHERE city = 'Lima' AND age BETWEEN 10 AND 12 ORDER BY id");
    expect(r.plan[0]!.access).toBe('index-range');
    const all = (await plan('SELECT id, city, age FROM people')).rows.filter((x) => x[1] === 'Lima' && (x[2] as number) >= 10 && (x[2] as number) <= 12).map((x) => [x[0]]);
    expect(r.rows).toEqual(all);
    expect(r.plan[0]!.rowsRead).toBe(all.length);
  });

  test('DML keeps the index in step with the rows', async () => {
    await session.execute("UPDATE people SET city = 'Rome' WHERE id < 10; DELETE FROM people WHERE id BETWEEN 10 AND 19; INSERT INTO people VALUES (5000, 'Rome', 1, 'n@x.org')");
    const viaIndex = await plan("SELECT id FROM people WHERE city = 'Rome' ORDER BY id");
    expect(viaIndex.plan[0]!.access).toBe('index-range');
    expect(viaIndex.rows).toEqual([...Array.from({ length: 10 }, (_, i) => [i]), [5000]]);
    const lima = await plan("SELECT COUNT(*) FROM people WHERE city = 'Lima'");
    expect(lima.plan[0]!.access).toBe('index-range');
    const scan = (await plan('SELECT city FROM people')).rows.filter((x) => x[0] === 'Lima').length;
    expect(lima.rows[0]![0]).toBe(scan);
  });

  test('UNIQUE indexes refuse duplicates; DROP INDEX', async () => {
    await session.execute('CREATE UNIQUE INDEX people_email ON people (email)');
    const before = await rootOf('people');
    await fails("INSERT INTO people VALUES (6000, 'Oslo', 1, 'u5@x.org')", 'ESQLCONSTRAINT', /UNIQUE index people_email already has \(email\) = \("u5@x.org"\)/);
    await fails("UPDATE people SET email = 'u7@x.org' WHERE id = 8", 'ESQLCONSTRAINT', /people_email/);
    expect(await rootOf('people')).toBe(before);
    await session.execute("UPDATE people SET email = 'fresh@x.org' WHERE id = 8");
    await fails('CREATE UNIQUE INDEX people_age ON people (age)', 'ESQLCONSTRAINT', /more than one row with \(age\)/);
    await session.execute('DROP INDEX people_email');
    expect((await store.getTable('people'))!.schema.indexes!.map((i) => i.name)).toEqual(['people_city_age']);
    await fails('DROP INDEX people_email', 'ESQLNAME', /no such index/);
  });
});

describe('time travel and system tables', () => {
  test('AS OF reads another revision, and one query can join two revisions; prolly_diff lists changed rows', async () => {
    await session.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    const revs = new Map<string, TableStore>([['v1', store.snapshot('v1')]]);
    await session.execute("UPDATE t SET v = 'B' WHERE id = 2; DELETE FROM t WHERE id = 3; INSERT INTO t VALUES (4, 'd')");
    revs.set('v2', store.snapshot('v2'));
    const revisions: RevisionSource = { tablesAt: async (rev) => revs.get(rev) ?? Promise.reject(new ProllyError('EBADREV', `unknown revision ${rev}`)) };
    const s = new SqlSession({ store, revisions });
    const r = await s.query("SELECT n.id, o.v AS before, n.v AS after FROM t AS OF 'v2' AS n JOIN t AS OF 'v1' AS o ON o.id = n.id ORDER BY n.id");
    expect(r.kind === 'rows' && r.rows).toEqual([
      [1, 'a', 'a'],
      [2, 'b', 'B'],
    ]);
    const d = await s.query("SELECT diff_type, from_id, to_id, from_v, to_v FROM prolly_diff('t', 'v1', 'v2') ORDER BY COALESCE(to_id, from_id)");
    expect(d.kind === 'rows' && d.rows).toEqual([
      ['modified', 2, 2, 'b', 'B'],
      ['removed', 3, null, 'c', null],
      ['added', null, 4, null, 'd'],
    ]);
    const at = new SqlSession({ store, revisions, at: 'v1' });
    expect(((await at.query('SELECT COUNT(*) FROM t')) as { rows: unknown[][] }).rows).toEqual([[3]]);
    await expect(at.execute("INSERT INTO t VALUES (9, 'x')")).rejects.toMatchObject({ code: 'EREADONLY' });
    await expect(s.execute("DELETE FROM `t@v1`")).rejects.toMatchObject({ code: 'EREADONLY' });
    const tables = await s.query('SELECT name, rows, primary_key FROM prolly_tables');
    expect(tables.kind === 'rows' && tables.rows).toEqual([['t', 3, 'id']]);
  });
});

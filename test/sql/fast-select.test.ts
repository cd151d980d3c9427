/**
 * The CLI's fast path for primary-key SELECTs (src/sql/fast-select.ts) against the engine: on every
 * query it answers, its columns and rows (values, types, order) must be the engine's; queries outside
 * its subset, or that the engine rejects, must be declined. Hand-written cases cover NULLs, composite
 * keys, column lists, aliases, every key type, keyword-named columns, blob-sized rows and Unicode text
 * ranges; a seeded generator adds a thousand more.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { SYSTEM_TABLES, DIFF_FUNCTION } from '../../src/sql/analyze.js';
import { SqlSession } from '../../src/sql/engine.js';
import { ENGINE_SPECIAL_TABLES, fastSelect, parseFastSelect } from '../../src/sql/fast-select.js';
import { formatRows, OUTPUT_FORMATS } from '../../src/sql/format.js';
import { splitStatements } from '../../src/sql/lexer.js';
import { MemoryTableStore } from '../../src/sql/table-store.js';
import { mulberry32 } from '../../src/util/prng.js';

const store = new MemoryTableStore();
let session: SqlSession;

const BIG = 'x'.repeat(1500); // stored as a blob (rows over 1 KiB)

beforeAll(async () => {
  session = new SqlSession({ store });
  await session.execute(`
    CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, flag BOOLEAN, doc JSON, day DATE, at DATETIME, data BYTES);
    INSERT INTO t VALUES
      (-5, 'neg', -1.5, 0, '{"a":1}', '2024-01-01', '2024-01-01T10:00:00.000Z', x'00ff'),
      (0, 'zero', 0, 1, '[1,2]', '2024-02-29', NULL, NULL),
      (1, 'one', 1.25, NULL, NULL, NULL, NULL, x''),
      (2, NULL, NULL, 1, '"str"', '2023-12-31', '2023-12-31T23:59:59.999Z', NULL),
      (3, '3', 3, 0, '3', '2024-03-01', NULL, x'01'),
      (7, 'seven', 7.5, 1, '{"b":[true,null]}', '2024-07-07', NULL, NULL),
      (10, 'ten', 10, 0, NULL, '2024-10-10', NULL, NULL),
      (11, '', -0.0, 1, 'null', NULL, NULL, NULL),
      (9007199254740993, 'big', 1e300, 1, NULL, NULL, NULL, NULL);
    CREATE TABLE c2 (region TEXT, day DATE, n INTEGER, v REAL, note TEXT, PRIMARY KEY (region, day, n));
    CREATE TABLE names (name TEXT PRIMARY KEY, note TEXT);
    CREATE TABLE r (x REAL PRIMARY KEY, label TEXT);
    CREATE TABLE ix (id INTEGER PRIMARY KEY, cat TEXT, amount INTEGER);
    CREATE INDEX ix_cat ON ix (cat);
    CREATE TABLE kw (key TEXT PRIMARY KEY, value TEXT, date DATE, total INTEGER);
    CREATE TABLE "MixedCase" ("Id" INTEGER PRIMARY KEY, "Val" TEXT);
    CREATE TABLE norow (a INTEGER, b TEXT);
    CREATE TABLE days (day DATE PRIMARY KEY, n INTEGER);
    CREATE TABLE stamps (at DATETIME PRIMARY KEY, n INTEGER);
    CREATE TABLE bools (b BOOLEAN PRIMARY KEY, n INTEGER);
    CREATE TABLE blobs (k BYTES PRIMARY KEY, n INTEGER);
    CREATE TABLE "my-table" (id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE wide (id INTEGER PRIMARY KEY, body TEXT);
  `);
  const c2: string[] = [];
  for (const region of ['eu', 'us', 'ap', 'EU']) {
    for (let d = 1; d <= 4; d++) for (let n = 0; n < 3; n++) c2.push(`('${region}', '2024-0${d}-01', ${n}, ${d * n === 4 ? 'NULL' : d + n / 10}, ${n === 1 ? 'NULL' : `'${region}${d}${n}'`})`);
  }
  await session.execute(`INSERT INTO c2 VALUES ${c2.join(', ')}`);
  const words = ['a', 'A', 'b', 'ab', 'abc', 'B', 'z', 'Z', '', ' ', '0', '10', '9', 'é', 'ä', 'ß', '中', '\uFF21', '\uE000', '😀', '𝔸', "it's", 'a b', 'naïve'];
  await session.execute(`INSERT INTO names VALUES ${words.map((w, i) => `('${w.replace(/'/g, "''")}', ${i % 3 === 0 ? 'NULL' : `'n${i}'`})`).join(', ')}`);
  await session.execute(`INSERT INTO r VALUES ${[-10.5, -1, -0.25, 0, 0.1, 0.25, 1, 1.5, 2, 100, 1e20].map((x, i) => `(${x}, ${i % 4 === 0 ? 'NULL' : `'r${i}'`})`).join(', ')}`);
  await session.execute(`INSERT INTO ix VALUES ${Array.from({ length: 50 }, (_, i) => `(${i}, '${['a', 'b', 'c'][i % 3]}', ${i % 7 === 0 ? 'NULL' : i * 3})`).join(', ')}`);
  await session.execute(`INSERT INTO kw VALUES ('k1', 'v1', '2024-01-01', 1), ('k2', NULL, NULL, 2), ('K3', 'v3', '2024-03-03', NULL)`);
  await session.execute(`INSERT INTO "MixedCase" VALUES (1, 'x'), (2, NULL), (3, 'z')`);
  await session.execute(`INSERT INTO norow VALUES (1, 'a'), (2, 'b')`);
  await session.execute(`INSERT INTO days VALUES ('2024-01-01', 1), ('2024-01-02', 2), ('2024-02-01', 3), ('2025-01-01', NULL)`);
  await session.execute(`INSERT INTO stamps VALUES ('2024-01-01T00:00:00.000Z', 1), ('2024-01-01T12:30:00.000Z', 2), ('2024-06-01T00:00:00.000Z', 3)`);
  await session.execute(`INSERT INTO bools VALUES (0, 10), (1, 11)`);
  await session.execute(`INSERT INTO blobs VALUES (x'00', 1), (x'0102', 2), (x'ff', 3)`);
  await session.execute(`INSERT INTO "my-table" VALUES (1, 'one'), (2, 'two')`);
  await session.execute(`INSERT INTO wide VALUES ${Array.from({ length: 12 }, (_, i) => `(${i}, '${i % 3 === 1 ? BIG + i : `short ${i}`}')`).join(', ')}`);
});

type Outcome = { answered: boolean; engineError?: string };

/** Run a query both ways; when the fast path answers, its result must be the engine's. */
async function compare(sql: string): Promise<Outcome> {
  const fast = await fastSelect({ store, sql });
  let engine;
  try {
    engine = await session.query(sql);
  } catch (e) {
    expect(fast, `fast path answered a query the engine rejects: ${sql} (${(e as Error).message})`).toBeUndefined();
    return { answered: false, engineError: (e as Error).message };
  }
  if (!fast) return { answered: false };
  expect(engine.kind, sql).toBe('rows');
  if (engine.kind !== 'rows') return { answered: true };
  expect({ sql, columns: fast.columns, rows: fast.rows }).toEqual({ sql, columns: engine.columns, rows: engine.rows });
  for (const format of OUTPUT_FORMATS) expect(formatRows(format, fast.columns, fast.rows), `${format}: ${sql}`).toBe(formatRows(format, engine.columns, engine.rows));
  expect(fast.plan[0]!.access, sql).toBe(engine.plan[0]!.access);
  return { answered: true };
}

describe('fast path: primary-key SELECTs answered exactly as the engine answers them', () => {
  const answered = [
    'SELECT * FROM t WHERE id = 7',
    'SELECT * FROM t WHERE id = 2',
    'SELECT * FROM t WHERE id = 11',
    'SELECT * FROM t WHERE id = 42',
    'SELECT * FROM t WHERE id = -5',
    'SELECT * FROM t WHERE id = - 5',
    'SELECT * FROM t WHERE id = 0',
    'SELECT * FROM t WHERE id = -0',
    'SELECT * FROM t WHERE id = 7.0',
    'SELECT * FROM t WHERE id = 7.5',
    'SELECT * FROM t WHERE 7 = id',
    'select * from t where id = 3',
    'SeLeCt * FrOm T wHeRe ID = 3',
    'SELECT id, name FROM t WHERE id = 1',
    'SELECT name, id FROM t WHERE id = 1',
    'SELECT NAME, Score FROM t WHERE ID = 10',
    'SELECT doc, data, flag, day, at FROM t WHERE id IN (-5, 0, 1, 2, 3, 7)',
    'SELECT id AS k, name AS label FROM t WHERE id = 1',
    'SELECT t.id, t.name FROM t WHERE t.id = 1',
    'SELECT T.id FROM t WHERE T.id = 1',
    'SELECT x.id, x.score FROM t AS x WHERE x.id IN (1, 2)',
    'SELECT x.id FROM t AS x WHERE id = 1',
    'SELECT "id", `name` FROM "t" WHERE "id" = 3',
    'SELECT * FROM t WHERE id IN (3, 1, 2, 1)',
    'SELECT * FROM t WHERE id IN (100, 200)',
    'SELECT * FROM t WHERE id > 2',
    'SELECT * FROM t WHERE id >= 2 AND id < 10',
    'SELECT * FROM t WHERE id > 2.5 AND id <= 7.5',
    'SELECT * FROM t WHERE 3 < id AND id < 11',
    'SELECT * FROM t WHERE id BETWEEN 0 AND 7',
    'SELECT * FROM t WHERE id BETWEEN 7 AND 0',
    'SELECT * FROM t WHERE id < 0',
    'SELECT * FROM t WHERE id > 5 AND id < 3',
    'SELECT * FROM t WHERE id = 1 AND id = 2',
    'SELECT * FROM t WHERE (id = 1)',
    'SELECT * FROM t WHERE (id >= 1 AND id <= 3) AND name = \'one\'',
    'SELECT * FROM t WHERE id IN (1, 2, 3) AND name = \'one\'',
    'SELECT * FROM t WHERE id IN (0, 1, 2, 3) AND score > 0',
    'SELECT * FROM t WHERE id IN (0, 1, 2, 3) AND score >= 0',
    'SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND flag = 1',
    'SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND flag = 0',
    "SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND day = '2024-02-29'",
    "SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND day > '2024-02'",
    "SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND name > 'p'",
    "SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND name = '3'",
    'SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND name = 3',
    "SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND doc = '3'",
    'SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND doc = 3',
    "SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND doc = 'str'",
    "SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND data = '01'",
    'SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND score IN (0, 1.25, 3)',
    "SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND name IN ('one', 'ten', '')",
    'SELECT * FROM t WHERE id IN (0, 1, 2, 3, 7, 11) AND score BETWEEN 0 AND 5',
    "SELECT * FROM c2 WHERE region = 'eu' AND day = '2024-02-01' AND n = 2",
    "SELECT * FROM c2 WHERE region = 'eu' AND day = '2024-02-01'",
    "SELECT * FROM c2 WHERE region = 'eu'",
    "SELECT * FROM c2 WHERE region = 'EU'",
    "SELECT * FROM c2 WHERE region IN ('eu', 'us') AND day = '2024-03-01' AND n IN (0, 2)",
    "SELECT * FROM c2 WHERE region = 'eu' AND day > '2024-02-01'",
    "SELECT * FROM c2 WHERE region = 'eu' AND day BETWEEN '2024-02-01' AND '2024-03-01' AND n = 1",
    "SELECT * FROM c2 WHERE region >= 'eu' AND n = 1",
    "SELECT * FROM c2 WHERE region < 'f' AND v > 2",
    "SELECT note, v FROM c2 WHERE region = 'us' AND v IN (1.1, 2.2, 3)",
    "SELECT * FROM c2 WHERE n = 1 AND region = 'ap' AND day = '2024-04-01'",
    "SELECT * FROM c2 WHERE region = 'eu' AND day = '2024-2-01'",
    "SELECT * FROM names WHERE name = 'é'",
    "SELECT * FROM names WHERE name = 'it''s'",
    "SELECT * FROM names WHERE name > 'a'",
    "SELECT * FROM names WHERE name >= '\uFF21'",
    "SELECT * FROM names WHERE name < '\uE000'",
    "SELECT * FROM names WHERE name > '\uE000'",
    "SELECT * FROM names WHERE name BETWEEN 'a' AND 'z'",
    "SELECT * FROM names WHERE name BETWEEN '' AND ' '",
    "SELECT * FROM names WHERE name IN ('😀', '𝔸', 'a', 'missing')",
    "SELECT note FROM names WHERE name > 'a' AND note > 'n1'",
    'SELECT * FROM r WHERE x = 0',
    'SELECT * FROM r WHERE x = -1',
    'SELECT * FROM r WHERE x = 0.1',
    'SELECT * FROM r WHERE x > -1 AND x < 2',
    'SELECT * FROM r WHERE x >= 1.5',
    'SELECT * FROM r WHERE x IN (0, 1, 2, 100)',
    'SELECT * FROM ix WHERE id = 7',
    'SELECT * FROM ix WHERE id > 40',
    'SELECT * FROM ix WHERE id IN (1, 2, 3) AND amount > 3',
    "SELECT key, value, date, total FROM kw WHERE key = 'k1'",
    "SELECT * FROM kw WHERE key IN ('k1', 'k2', 'K3')",
    "SELECT * FROM kw WHERE key > 'a' AND value = 'v1'",
    "SELECT value AS v FROM kw WHERE key = 'k2'",
    'SELECT * FROM MixedCase WHERE id = 1',
    'SELECT * FROM mixedcase WHERE Id = 2',
    'SELECT Val FROM "MixedCase" WHERE "Id" = 3',
    'SELECT val AS out FROM MIXEDCASE WHERE ID IN (1, 2, 3)',
    "SELECT * FROM days WHERE day = '2024-01-02'",
    "SELECT * FROM days WHERE day >= '2024-01-02'",
    "SELECT * FROM days WHERE day < '2024-02-01' AND n > 1",
    "SELECT * FROM stamps WHERE at = '2024-01-01T12:30:00.000Z'",
    "SELECT * FROM stamps WHERE at > '2024-01-01T00:00:00.000Z'",
    'SELECT * FROM "my-table" WHERE id = 2',
    'SELECT * FROM wide WHERE id = 1',
    'SELECT * FROM wide WHERE id IN (0, 1, 2, 3, 4)',
    'SELECT * FROM wide WHERE id >= 0',
    'SELECT id FROM wide WHERE id BETWEEN 3 AND 9',
    'SELECT * FROM t WHERE id = 7;',
    '  -- a comment\n SELECT /* inline */ * FROM t\n WHERE id = 7  ;  ',
  ];
  test('hand-written queries', async () => {
    const missed: string[] = [];
    for (const sql of answered) if (!(await compare(sql)).answered) missed.push(sql);
    expect(missed).toEqual([]);
  });

  const declined = [
    'SELECT * FROM t',
    'SELECT * FROM t WHERE name = \'one\'',
    'SELECT * FROM t WHERE score > 1',
    'SELECT * FROM t WHERE id = 1 OR id = 2',
    'SELECT * FROM t WHERE id = NULL',
    'SELECT * FROM t WHERE id IN (1, NULL)',
    'SELECT * FROM t WHERE id IS NULL',
    'SELECT * FROM t WHERE NOT id = 1',
    'SELECT * FROM t WHERE id NOT IN (1, 2)',
    'SELECT * FROM t WHERE id = 1 ORDER BY id',
    'SELECT * FROM t WHERE id = 1 LIMIT 1',
    'SELECT COUNT(*) FROM t WHERE id = 1',
    'SELECT id + 1 FROM t WHERE id = 1',
    'SELECT DISTINCT id FROM t WHERE id = 1',
    'SELECT id, id FROM t WHERE id = 1',
    'SELECT id, ID FROM t WHERE id = 1',
    'SELECT id AS name, name FROM t WHERE id = 1',
    'SELECT *, id FROM t WHERE id = 1',
    'SELECT t.* FROM t WHERE id = 1',
    'SELECT nope FROM t WHERE id = 1',
    'SELECT * FROM t WHERE nope = 1',
    'SELECT * FROM nope WHERE id = 1',
    'SELECT other.id FROM t WHERE id = 1',
    'SELECT t.id FROM t AS x WHERE id = 1',
    'SELECT * FROM t x WHERE id = 1',
    'SELECT * FROM t AS OF \'HEAD\' WHERE id = 1',
    'SELECT * FROM t WHERE id = 0x10',
    'SELECT * FROM t WHERE id = 1e1',
    'SELECT * FROM t WHERE id = .5',
    'SELECT * FROM t WHERE id = 99999999999999999999',
    'SELECT * FROM t WHERE id = 9007199254740993',
    "SELECT * FROM t WHERE id = 'a\\'b'",
    'SELECT * FROM t WHERE id = "id"',
    'SELECT * FROM t WHERE id = id',
    'SELECT * FROM t WHERE id == 1',
    'SELECT * FROM t WHERE id <> 1',
    'SELECT * FROM t WHERE id = ?',
    'SELECT * FROM t WHERE id = 1; SELECT * FROM t WHERE id = 2',
    'SELECT * FROM t WHERE t . id = 1',
    'SELECT * FROM t WHERE id = TRUE',
    "SELECT * FROM blobs WHERE k = x'00'",
    'SELECT * FROM bools WHERE b = 1',
    'SELECT * FROM norow WHERE _rowid = 1',
    'SELECT * FROM norow WHERE a = 1',
    "SELECT * FROM ix WHERE cat = 'a'",
    "SELECT * FROM ix WHERE id = 1 AND cat = 'a'",
    'SELECT * FROM prolly_tables WHERE name = 1',
    "SELECT * FROM prolly_diff('t', 'HEAD') WHERE id = 1",
    'SELECT * FROM [t] WHERE id = 1',
    'SELECT * FROM t WHERE id IN (1, 2.5, 3)',
    'SELECT * FROM names WHERE name = 10',
    "SELECT * FROM t WHERE id = '3'",
    'SELECT id AS k, name AS "Full Name" FROM t WHERE id = 1',
    'INSERT INTO t VALUES (100, \'x\', 1, 1, NULL, NULL, NULL, NULL)',
    'EXPLAIN SELECT * FROM t WHERE id = 1',
    'SELECT * FROM t WHERE id = 1 AND',
    "SELECT * FROM t WHERE id = 'unterminated",
  ];
  test('queries outside the subset are declined, and the engine still answers them', async () => {
    const taken: string[] = [];
    for (const sql of declined) if ((await compare(sql)).answered) taken.push(sql);
    expect(taken).toEqual([]);
  });

  test('a large IN list on a small table: the engine scans, so the fast path declines', async () => {
    const list = Array.from({ length: 40 }, (_, i) => i).join(', ');
    const r = await compare(`SELECT * FROM "my-table" WHERE id IN (${list})`);
    expect(r.answered).toBe(false);
  });

  test('generated queries (seeded)', async () => {
    const rand = mulberry32(20251121);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const tables: Record<string, { pk: string[]; cols: string[]; lits: Record<string, string[]> }> = {
      t: {
        pk: ['id'],
        cols: ['id', 'name', 'score', 'flag', 'doc', 'day', 'at'],
        lits: {
          id: ['-5', '0', '1', '2', '3', '7', '10', '11', '4', '-1', '2.5', '9007199254740993', "'3'", '- 5'],
          name: ["'one'", "'3'", "''", '3', "'zero'", "'p'"],
          score: ['0', '1.25', '-1.5', '7.5', '3', "'3'"],
          flag: ['0', '1', "'1'"],
          doc: ['3', "'3'", "'str'", '1'],
          day: ["'2024-01-01'", "'2024-02-29'", "'2024'", "'2024-07-07'", '2024'],
          at: ["'2024-01-01T10:00:00.000Z'", "'2024'", "'2023-12-31T23:59:59.999Z'"],
        },
      },
      c2: {
        pk: ['region', 'day', 'n'],
        cols: ['region', 'day', 'n', 'v', 'note'],
        lits: {
          region: ["'eu'", "'us'", "'ap'", "'EU'", "'e'", "'zz'", '1'],
          day: ["'2024-01-01'", "'2024-02-01'", "'2024-03-01'", "'2024-04-01'", "'2024-02-15'", "'2024-2-01'"],
          n: ['0', '1', '2', '3', '1.5', '-1'],
          v: ['1', '1.1', '2.2', '3', '4.2', "'1'"],
          note: ["'eu10'", "'us22'", "''", "'zz'"],
        },
      },
      names: {
        pk: ['name'],
        cols: ['name', 'note'],
        lits: { name: ["'a'", "'A'", "'ab'", "'é'", "'\uFF21'", "'\uE000'", "'😀'", "''", "' '", "'z'", "'10'", '10'], note: ["'n1'", "'n2'", "''"] },
      },
      r: { pk: ['x'], cols: ['x', 'label'], lits: { x: ['0', '-1', '0.25', '1.5', '100', '-0.25', '2', '1e20'], label: ["'r1'", "'r2'"] } },
      wide: { pk: ['id'], cols: ['id', 'body'], lits: { id: ['0', '1', '4', '7', '10', '11', '12'], body: ["'short 3'", "'x'"] } },
    };
    const ops = ['=', '=', '=', '<', '<=', '>', '>='];
    const cond = (table: string, col: string, qual: string): string => {
      const spec = tables[table]!;
      const c = `${qual}${rand() < 0.2 ? col.toUpperCase() : col}`;
      const lit = () => pick(spec.lits[col]!);
      const k = rand();
      if (k < 0.15) return `${c} IN (${Array.from({ length: 1 + Math.floor(rand() * 4) }, lit).join(', ')})`;
      if (k < 0.25) return `${c} BETWEEN ${lit()} AND ${lit()}`;
      if (k < 0.35) return `${lit()} ${pick(ops)} ${c}`;
      if (k < 0.4) return `(${c} ${pick(ops)} ${lit()})`;
      return `${c} ${pick(ops)} ${lit()}`;
    };
    let answeredCount = 0;
    const N = 1000;
    for (let q = 0; q < N; q++) {
      const table = pick(Object.keys(tables));
      const spec = tables[table]!;
      const alias = rand() < 0.2 ? 'q' : undefined;
      const qual = alias && rand() < 0.5 ? 'q.' : rand() < 0.1 ? `${table}.` : '';
      const cols = rand() < 0.5 ? '*' : Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(spec.cols)).filter((c, i, a) => a.indexOf(c) === i).map((c, i) => (rand() < 0.2 ? `${c} AS c${i}` : c)).join(', ');
      const conds: string[] = [];
      // Mostly key conditions (so most queries are answered), sometimes others.
      for (const pk of spec.pk) if (rand() < 0.8) conds.push(cond(table, pk, qual));
      if (conds.length === 0 || rand() < 0.4) conds.push(cond(table, pick(spec.cols), qual));
      const sql = `SELECT ${cols} FROM ${table}${alias ? ` AS ${alias}` : ''} WHERE ${conds.join(' AND ')}`;
      if ((await compare(sql)).answered) answeredCount++;
    }
    // The generator aims at the subset: most queries must have been answered (and checked).
    console.log(`fast path answered ${answeredCount} of ${N} generated queries`);
    expect(answeredCount).toBeGreaterThan(N / 2);
  }, 60_000);

  test('a column named like a word of the subset turns the fast path off for that store', async () => {
    const other = new MemoryTableStore();
    const s = new SqlSession({ store: other });
    await s.execute('CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE b (id INTEGER PRIMARY KEY, "between" INTEGER); INSERT INTO a VALUES (1, \'x\')');
    expect(await fastSelect({ store: other, sql: 'SELECT * FROM a WHERE id = 1' })).toBeUndefined();
    const plain = new MemoryTableStore();
    const p = new SqlSession({ store: plain });
    await p.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO a VALUES (1, 'x')");
    expect((await fastSelect({ store: plain, sql: 'SELECT * FROM a WHERE id = 1' }))?.rows).toEqual([[1, 'x']]);
  });

  test('the names the engine reserves are the ones the fast path avoids', () => {
    expect([...ENGINE_SPECIAL_TABLES].sort()).toEqual([...SYSTEM_TABLES, DIFF_FUNCTION].sort());
  });

  test('parseFastSelect reads the subset and nothing else', () => {
    const parse = (sql: string) => parseFastSelect(splitStatements(sql)[0]!.tokens);
    expect(parse("SELECT a, t.b AS c FROM t AS x WHERE a = 1 AND 'k' < b AND c IN (1, -2) AND d BETWEEN 1 AND 2")).toEqual({
      columns: [{ column: { name: 'a' } }, { column: { qualifier: 't', name: 'b' }, as: 'c' }],
      table: 't',
      alias: 'x',
      where: [
        { kind: 'compare', column: { name: 'a' }, op: '=', value: 1, columnFirst: true, text: 'a = 1' },
        { kind: 'compare', column: { name: 'b' }, op: '<', value: 'k', columnFirst: false, text: "'k' < b" },
        { kind: 'in', column: { name: 'c' }, values: [1, -2], text: 'c IN ( 1 , - 2 )' },
        { kind: 'between', column: { name: 'd' }, low: 1, high: 2, text: 'd BETWEEN 1 AND 2' },
      ],
    });
    expect(parse('SELECT * FROM t WHERE a = 1 ORDER BY a')).toBeUndefined();
    expect(parse('SELECT * FROM t')).toBeUndefined();
    expect(parse('SELECT * FROM t WHERE (a = 1')).toBeUndefined();
  });
});

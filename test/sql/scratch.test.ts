import { test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { SqlSession } from '../../src/sql/engine.js';
import { MemoryTableStore } from '../../src/sql/table-store.js';

test('probe', async () => {
  const s = new SqlSession({ store: new MemoryTableStore() });
  const setup = "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, r REAL, n INTEGER); INSERT INTO t VALUES (1, 'a', 1.5, 1), (2, 'é', -2.5, NULL), (3, '😀', NULL, 3), (4, 'ﬀ', 2.5, 4), (5, NULL, 0.0, 0), (6, 'B', 10, -7)";
  await s.execute(setup);
  const qs = [
    'SELECT ROUND(r) AS x FROM t ORDER BY id', 'SELECT UPPER(s) AS x FROM t ORDER BY id', 'SELECT LENGTH(s) AS x FROM t ORDER BY id',
    'SELECT s FROM t ORDER BY s', 'SELECT n / 2 AS x, n % 2 AS y FROM t ORDER BY id', 'SELECT CAST(r AS INTEGER) AS x FROM t ORDER BY id',
    'SELECT id FROM t WHERE n NOT IN (1, NULL) ORDER BY id', 'SELECT id FROM t WHERE n = NULL', "SELECT id FROM t WHERE s LIKE '_' ORDER BY id",
    'SELECT GROUP_CONCAT(s) AS x FROM t', 'SELECT id FROM t WHERE n IN (SELECT n FROM t WHERE id > 3) ORDER BY id', 'SELECT 1 + 2 * 3 AS x, 10 - 2 - 3 AS y',
    "SELECT 'a' || 1 AS x, 1 || 2 AS y", 'SELECT r * 2 AS x FROM t ORDER BY id', 'SELECT COUNT(*) AS c, SUM(r) AS s, TOTAL(r) AS t FROM t', 'SELECT id, r FROM t ORDER BY r DESC',
    "SELECT SUBSTR(s, 2) AS x FROM t ORDER BY id", "SELECT TRIM('  x  ') AS a, REPLACE('abc', 'b', 'x') AS b, INSTR('abc', 'c') AS c", 'SELECT ABS(-3) AS a, -n AS b FROM t ORDER BY id',
    'SELECT MAX(s) AS m FROM t', 'SELECT n FROM t WHERE n BETWEEN -10 AND 1 ORDER BY n', "SELECT CASE n WHEN 1 THEN 'one' WHEN 3 THEN 'three' ELSE 'other' END AS x FROM t ORDER BY id",
    'SELECT 9007199254740993 AS big', 'SELECT id FROM t WHERE r > 1 AND NOT (n > 2) ORDER BY id', 'SELECT AVG(n) AS a FROM t', 'SELECT id FROM t ORDER BY n NULLS LAST, id',
    'SELECT COUNT(*) AS c FROM t a, t b', 'SELECT id FROM t t1 WHERE NOT EXISTS (SELECT 1 FROM t t2 WHERE t2.n > t1.n) ORDER BY id',
  ];
  const db = '/tmp/probe.sqlite';
  spawnSync('rm', ['-f', db]);
  spawnSync('sqlite3', [db], { input: setup });
  for (const q of qs) {
    let ours: string;
    try {
      const r = await s.query(q);
      ours = JSON.stringify(r.kind === 'rows' ? r.rows : r, (k, v) => (typeof v === 'bigint' ? String(v) + 'n' : v));
    } catch (e) { ours = 'ERR ' + (e as Error).message; }
    const sq = spawnSync('sqlite3', ['-json', db, q], { encoding: 'utf8' });
    const theirs = sq.status === 0 ? JSON.stringify((JSON.parse(sq.stdout || '[]') as object[]).map((o) => Object.values(o))) : 'ERR ' + sq.stderr.trim();
    console.log(ours === theirs ? 'SAME' : 'DIFF', q, '\n   ours  ', ours, '\n   sqlite', theirs);
  }
});

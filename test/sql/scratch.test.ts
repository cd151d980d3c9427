import { test } from 'vitest';
import { SqlSession } from '../../src/sql/engine.js';
import { MemoryTableStore } from '../../src/sql/table-store.js';

test('scratch', async () => {
  const s = new SqlSession({ store: new MemoryTableStore() });
  const show = async (sql: string) => {
    try {
      const r = await s.execute(sql);
      for (const x of r) console.log(sql, '=>', JSON.stringify(x.kind === 'rows' ? { c: x.columns, r: x.rows, p: x.plan.map((p) => `${p.access}:${p.index ?? ''}:${p.condition}:${p.rowsRead}`) } : x, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
    } catch (e) {
      console.log(sql, 'ERR', (e as Error).message);
    }
  };
  await show('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, g INTEGER)');
  const vals = Array.from({ length: 2000 }, (_, i) => `(${i}, 'n${i % 50}', ${i % 7 === 0 ? 'NULL' : i / 4}, ${i % 10})`).join(',');
  await show(`INSERT INTO t VALUES ${vals}`);
  await show('SELEC * FROM t');
  await show('SELECT * FROM t WHERE');
  await show('SELECT *\nFROM t\nWHERE id = = 3');
  await show('CREATE INDEX t_name ON t (name)');
  await show("EXPLAIN SELECT * FROM t WHERE name = 'n3'");
  await show("SELECT COUNT(*) FROM t WHERE name = 'n3'");
  await show("SELECT COUNT(*) FROM t WHERE name >= 'n3' AND name < 'n4'");
  await show("UPDATE t SET name = 'zz' WHERE id = 3");
  await show("SELECT id FROM t WHERE name = 'zz'");
  await show("SELECT COUNT(*) FROM t WHERE name = 'n3'");
  await show('SELECT 7/2 AS a, 7 % 0 AS c, 8 / 3.0 AS d');
  await show('SELECT g, COUNT(*) AS n, SUM(id)/COUNT(*) AS av FROM t GROUP BY g ORDER BY g LIMIT 3');
  await show('SELECT a.id, b.id AS bid FROM t AS a JOIN t AS b ON b.id = a.g WHERE a.id < 3');
  await show('SELECT * FROM t WHERE id BETWEEN 5 AND 7 OR id = 100');
  await show('SELECT * FROM t WHERE id BETWEEN 5 AND 7');
});

/**
 * `git prolly sql` and `git prolly import --table` through the real CLI in throwaway git repositories:
 * output formats, scripts from files and stdin, errors, transactions, and time travel, diffs, the log
 * and branches across real commits.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, makeRepo, type TestRepo } from '../cli/helpers.js';

beforeAll(ensureBuilt, 300_000);

describe('git prolly sql', () => {
  let r: TestRepo;
  const pointer = () => readFileSync(join(r.dir, '.prolly', 'datasets', 'orders'), 'utf8');
  beforeAll(() => {
    r = makeRepo({ init: true });
    r.ok(['sql', "CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT NOT NULL, amount REAL, note TEXT); INSERT INTO orders VALUES (1, 'eu', 10.5, NULL), (2, 'us', NULL, ''), (3, 'eu', 7, 'a, \"b\"')"]);
    r.ok(['commit', '-m', 'orders v1']);
  });
  afterAll(() => r.cleanup());

  it('prints aligned tables with visible NULLs, and json, ndjson and csv', () => {
    expect(r.ok(['sql', 'SELECT id, amount, note FROM orders ORDER BY id'])).toBe(
      ['id | amount | note', '---+--------+-------', ' 1 |   10.5 | NULL', ' 2 |   NULL |', ' 3 |      7 | a, "b"', '(3 rows)', ''].join('\n'),
    );
    expect(JSON.parse(r.ok(['sql', 'SELECT id, amount FROM orders WHERE id < 3 ORDER BY id', '--format', 'json']))).toEqual([
      { id: 1, amount: 10.5 },
      { id: 2, amount: null },
    ]);
    expect(JSON.parse(r.ok(['sql', 'SELECT COUNT(*) AS n FROM orders', '--json']))).toEqual([{ n: 3 }]);
    expect(r.ok(['sql', 'SELECT id, note FROM orders ORDER BY id', '--format', 'ndjson']).trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { id: 1, note: null },
      { id: 2, note: '' },
      { id: 3, note: 'a, "b"' },
    ]);
    expect(r.ok(['sql', 'SELECT id, note FROM orders ORDER BY id', '--format', 'csv'])).toBe('id,note\r\n1,\r\n2,""\r\n3,"a, ""b"""\n');
  });

  it('reads SQL from a file and from piped stdin; --verbose shows the plan', () => {
    writeFileSync(join(r.dir, 'q.sql'), "-- a comment\nSELECT region, COUNT(*) AS n\n  FROM orders\n GROUP BY region\n ORDER BY region;\n");
    expect(r.ok(['sql', '-f', 'q.sql', '--format', 'csv'])).toBe('region,n\r\neu,2\r\nus,1\n');
    const piped = r.prolly(['sql', '--format', 'csv', '--verbose'], { input: 'SELECT amount FROM orders WHERE id = 3;' });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe('amount\r\n7\n');
    expect(piped.stderr).toMatch(/plan: orders @working, pk-point, id = 3, est\. 1 rows, read 1 rows/);
    expect(piped.stderr).toMatch(/1 rows, \d+ nodes read from the store/);
  });

  it('primary-key SELECTs skip the SQL engine and print exactly what the engine prints', () => {
    // --verbose always runs the engine; its stdout must match the fast path's, byte for byte.
    const queries = [
      'SELECT * FROM orders WHERE id = 2',
      'SELECT * FROM orders WHERE id = 42',
      'SELECT id, amount AS a, note FROM orders WHERE id IN (3, 1, 2)',
      "SELECT o.note FROM orders AS o WHERE o.id >= 1 AND o.id < 3 AND region = 'eu'",
      'SELECT * FROM orders WHERE id BETWEEN 2 AND 3',
    ];
    for (const [i, q] of queries.entries()) {
      for (const format of i === 0 ? ['table', 'json', 'ndjson', 'csv'] : ['table']) {
        const fast = r.prolly(['sql', q, '--format', format], { env: { NODE_DEBUG: 'module' } });
        const engine = r.prolly(['sql', q, '--format', format, '--verbose']);
        expect(fast.code, fast.stderr).toBe(0);
        expect(fast.stdout, `${q} (${format})`).toBe(engine.stdout);
        // NODE_DEBUG=module lists every CommonJS module loaded: alasql is one.
        expect(fast.stderr).not.toContain('alasql');
      }
    }
    // --at reads the table as of a revision, on the fast path too.
    r.ok(['sql', "UPDATE orders SET note = 'changed' WHERE id = 1"]);
    for (const q of ['SELECT note FROM orders WHERE id = 1', 'SELECT * FROM orders WHERE id IN (1, 3)']) {
      const fast = r.prolly(['sql', q, '--at', 'HEAD', '--format', 'json'], { env: { NODE_DEBUG: 'module' } });
      expect(fast.stdout).toBe(r.prolly(['sql', q, '--at', 'HEAD', '--format', 'json', '--verbose']).stdout);
      expect(fast.stderr).not.toContain('alasql');
    }
    expect(JSON.parse(r.ok(['sql', 'SELECT note FROM orders WHERE id = 1', '--at', 'HEAD', '--json']))).toEqual([{ note: null }]);
    expect(JSON.parse(r.ok(['sql', 'SELECT note FROM orders WHERE id = 1', '--json']))).toEqual([{ note: 'changed' }]);
    r.ok(['sql', 'UPDATE orders SET note = NULL WHERE id = 1']);
    const badRev = r.prolly(['sql', 'SELECT * FROM orders WHERE id = 1', '--at', 'no-such-rev']);
    expect(badRev.code).toBe(2);
    expect(badRev.stderr).toBe(r.prolly(['sql', 'SELECT * FROM orders WHERE id = 1', '--at', 'no-such-rev', '--verbose']).stderr);
    const other = r.prolly(['sql', 'SELECT * FROM orders WHERE note IS NULL'], { env: { NODE_DEBUG: 'module' } });
    expect(other.code).toBe(0);
    expect(other.stderr).toContain('alasql');
    // The engine's alasql came through the per-user code cache (src/sql/code-cache.ts).
    expect(readdirSync(join(r.home, '.cache', 'git-prolly')).filter((f) => f.startsWith('alasql-') && f.endsWith('.v8cache'))).toHaveLength(1);
    // Errors still come from the engine.
    const missing = r.prolly(['sql', 'SELECT nope FROM orders WHERE id = 1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such column: nope');
  });

  it('EXPLAIN shows the access path', () => {
    const out = JSON.parse(r.ok(['sql', "EXPLAIN SELECT * FROM orders WHERE id BETWEEN 2 AND 3", '--json'])) as Record<string, unknown>[];
    expect(out[0]).toMatchObject({ table: 'orders', access: 'pk-range', condition: 'id >= 2 AND id <= 3', ranges: 1, est_rows: 2 });
  });

  it('a syntax error exits 2 with line, column, token and a caret; nothing changes', () => {
    const before = pointer();
    const bad = r.prolly(['sql', "INSERT INTO orders VALUES (9, 'x', 1, NULL);\nSELECT * FROM orders WHERE id = = 1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('git-prolly: SQL syntax error at line 2, column 33 near "=": unexpected token');
    expect(bad.stderr).toContain('  SELECT * FROM orders WHERE id = = 1\n                                  ^');
    // The INSERT before the error ran (statements run in order, as in sqlite3); undo it.
    r.ok(['sql', 'DELETE FROM orders WHERE id = 9']);
    expect(pointer()).toBe(before);
  });

  it('a failed statement changes nothing; ROLLBACK and an unfinished transaction leave the table as it was', () => {
    const before = pointer();
    const dup = r.prolly(['sql', "INSERT INTO orders VALUES (4, 'ap', 1, NULL), (1, 'dup', 2, NULL)"]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/table "orders", row 2: duplicate primary key \(id\) = \(1\)/);
    expect(pointer()).toBe(before);
    const nn = r.prolly(['sql', 'INSERT INTO orders (id, amount) VALUES (5, 1)']);
    expect(nn.stderr).toMatch(/row 1, column "region" \(text\): no value given/);
    r.ok(['sql', "BEGIN; DELETE FROM orders; INSERT INTO orders VALUES (8, 'x', 1, NULL); ROLLBACK"]);
    expect(pointer()).toBe(before);
    const open = r.prolly(['sql', 'BEGIN; DELETE FROM orders']);
    expect(open.code).toBe(0);
    expect(open.stderr).toContain('the open transaction was rolled back');
    expect(pointer()).toBe(before);
    r.ok(['sql', "BEGIN; UPDATE orders SET note = 'done' WHERE id = 2; COMMIT"]);
    expect(r.ok(['sql', 'SELECT note FROM orders WHERE id = 2', '--format', 'csv'])).toBe('note\r\ndone\n');
    r.ok(['sql', "UPDATE orders SET note = '' WHERE id = 2"]);
    expect(pointer()).toBe(before);
  });

  it('time travel: --at, AS OF, and diffs between commits and branches; log and branches tables', () => {
    r.ok(['sql', "UPDATE orders SET amount = 99 WHERE id = 2; DELETE FROM orders WHERE id = 3; INSERT INTO orders VALUES (4, 'ap', 3.5, NULL)"]);
    r.ok(['commit', '-m', 'orders v2']);
    expect(JSON.parse(r.ok(['sql', 'SELECT id FROM orders ORDER BY id', '--at', 'HEAD~1', '--json']))).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    const both = JSON.parse(r.ok(['sql', "SELECT n.id, o.amount AS before, n.amount AS after FROM orders n JOIN orders AS OF 'HEAD~1' AS o ON o.id = n.id ORDER BY n.id", '--json']));
    expect(both).toEqual([
      { id: 1, before: 10.5, after: 10.5 },
      { id: 2, before: null, after: 99 },
    ]);
    const diff = JSON.parse(r.ok(['sql', "SELECT diff_type, from_id, to_id, from_amount, to_amount FROM prolly_diff('orders', 'HEAD~1', 'HEAD') ORDER BY COALESCE(to_id, from_id)", '--json']));
    expect(diff).toEqual([
      { diff_type: 'modified', from_id: 2, to_id: 2, from_amount: null, to_amount: 99 },
      { diff_type: 'removed', from_id: 3, to_id: null, from_amount: 7, to_amount: null },
      { diff_type: 'added', from_id: null, to_id: 4, from_amount: null, to_amount: 3.5 },
    ]);
    // A branch with its own change; the diff between branches, from either side.
    r.gitOk(['checkout', '-q', '-b', 'feature']);
    r.ok(['sql', "UPDATE orders SET region = 'EU' WHERE region = 'eu'"]);
    r.ok(['commit', '-m', 'upper-case regions']);
    r.gitOk(['checkout', '-q', 'main']);
    expect(JSON.parse(r.ok(['sql', "SELECT from_region, to_region FROM prolly_diff('orders', 'main', 'feature')", '--json']))).toEqual([{ from_region: 'eu', to_region: 'EU' }]);
    expect(JSON.parse(r.ok(['sql', "SELECT COUNT(*) AS n FROM orders AS OF 'feature' WHERE region = 'EU'", '--json']))).toEqual([{ n: 1 }]);
    const branches = JSON.parse(r.ok(['sql', 'SELECT name, current FROM prolly_branches ORDER BY name', '--json']));
    expect(branches).toEqual([
      { name: 'feature', current: false },
      { name: 'main', current: true },
    ]);
    const log = JSON.parse(r.ok(['sql', "SELECT message, datasets FROM prolly_log WHERE datasets LIKE '%orders%'", '--json']));
    expect(log.map((l: { message: string }) => l.message)).toEqual(['orders v2', 'orders v1']);
    const ro = r.prolly(['sql', 'DELETE FROM orders', '--at', 'HEAD~1']);
    expect(ro.code).toBe(2);
    expect(ro.stderr).toMatch(/read-only/);
  });
});

describe('git prolly import --table', () => {
  let r: TestRepo;
  beforeAll(() => {
    r = makeRepo({ init: true });
  });
  afterAll(() => r.cleanup());

  it('creates a table with inferred types and a primary key, then appends (upserting by key)', () => {
    writeFileSync(join(r.dir, 'people.csv'), 'id,name,born,height,member\n1,Ada,1815-12-10,1.65,true\n2,Alan,1912-06-23,,false\n');
    expect(r.ok(['import', 'people', 'people.csv', '--table', '--pk', 'id'])).toMatch(/imported 2 rows into table people \(created\)/);
    const rows = JSON.parse(r.ok(['sql', 'SELECT name, born, height, member FROM people ORDER BY id', '--json']));
    expect(rows).toEqual([
      { name: 'Ada', born: '1815-12-10', height: 1.65, member: true },
      { name: 'Alan', born: '1912-06-23', height: null, member: false },
    ]);
    const types = JSON.parse(r.ok(['sql', "SELECT columns, primary_key FROM prolly_tables WHERE name = 'people'", '--json']));
    expect(types).toEqual([{ columns: 'id integer not null, name text, born date, height real, member boolean', primary_key: 'id' }]);
    writeFileSync(join(r.dir, 'more.ndjson'), '{"id": 3, "name": "Grace", "born": "1906-12-09"}\n{"id": 1, "name": "Ada L.", "height": 1.66}\n');
    expect(r.ok(['import', 'people', 'more.ndjson', '--table'])).toMatch(/imported 2 rows into table people \(3 rows\)/);
    expect(JSON.parse(r.ok(['sql', 'SELECT id, name, height FROM people ORDER BY id', '--json']))).toEqual([
      { id: 1, name: 'Ada L.', height: 1.66 },
      { id: 2, name: 'Alan', height: null },
      { id: 3, name: 'Grace', height: null },
    ]);
  });

  it('an index catches up with rows that arrived without SQL (import, checkout)', () => {
    r.ok(['sql', 'CREATE INDEX people_name ON people (name)']);
    writeFileSync(join(r.dir, 'late.csv'), 'id,name\n7,Zed\n');
    r.ok(['import', 'people', 'late.csv', '--table']);
    const q = r.prolly(['sql', "SELECT id FROM people WHERE name = 'Zed'", '--format', 'csv', '--verbose']);
    expect(q.stdout).toBe('id\r\n7\n');
    expect(q.stderr).toMatch(/index-point via index people_name \(caught-up\)/);
    const again = r.prolly(['sql', "SELECT id FROM people WHERE name = 'Ada L.'", '--format', 'csv', '--verbose']);
    expect(again.stdout).toBe('id\r\n1\n');
    expect(again.stderr).toMatch(/via index people_name \(cached\)/);
  });

  it('a bad row names the file, line and column, and nothing is imported', () => {
    const before = readFileSync(join(r.dir, '.prolly', 'datasets', 'people'), 'utf8');
    writeFileSync(join(r.dir, 'bad.csv'), 'id,name,born\n10,Ok,2000-01-01\n11,Bad,not-a-date\n');
    const bad = r.prolly(['import', 'people', 'bad.csv', '--table']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.csv:3: .*column "born" \(date\): "not-a-date" is not a date/);
    expect(readFileSync(join(r.dir, '.prolly', 'datasets', 'people'), 'utf8')).toBe(before);
  });

  it('a table without --pk gets a hidden row id; stdin needs --format', () => {
    expect(r.ok(['import', 'events', '-', '--table', '--format', 'ndjson'], { input: '{"kind":"a","n":1}\n{"kind":"b","n":2.5}\n' })).toMatch(/2 rows/);
    expect(JSON.parse(r.ok(['sql', 'SELECT _rowid, kind, n FROM events ORDER BY _rowid', '--json']))).toEqual([
      { _rowid: 1, kind: 'a', n: 1 },
      { _rowid: 2, kind: 'b', n: 2.5 },
    ]);
  });
});

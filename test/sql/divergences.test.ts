/**
 * The known divergences from SQLite that remain (docs/SQL.md, "Differences from SQLite"): each test
 * shows the two answers and that the documented workaround gives SQLite's. If one of these starts to
 * fail, the engine changed and the documentation must change with it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SqlSession } from '../../src/sql/engine.js';
import { MemoryTableStore } from '../../src/sql/table-store.js';

const SETUP = "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, r REAL, n INTEGER); INSERT INTO t VALUES (1, 'é', 0.0, 3), (2, 'a', 2.5, NULL)";
let dir: string;
let db: string;
let session: SqlSession;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prolly-diverge-'));
  db = join(dir, 'd.sqlite');
  spawnSync('sqlite3', [db], { input: SETUP });
  session = new SqlSession({ store: new MemoryTableStore() });
  await session.execute(SETUP);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sqlite(sql: string): unknown[][] {
  const r = spawnSync('sqlite3', ['-json', db, sql], { encoding: 'utf8' });
  return (JSON.parse(r.stdout || '[]') as object[]).map((o) => Object.values(o));
}

async function ours(sql: string): Promise<unknown[][]> {
  const r = await session.query(sql);
  return r.kind === 'rows' ? r.rows : [];
}

describe('documented differences from SQLite', () => {
  test('UPPER / LOWER fold all of Unicode (SQLite: ASCII only)', async () => {
    expect(await ours('SELECT UPPER(s) FROM t WHERE id = 1')).toEqual([['É']]);
    expect(sqlite('SELECT UPPER(s) FROM t WHERE id = 1')).toEqual([['é']]);
  });

  test('LIKE ignores case beyond ASCII too (SQLite: ASCII only); = compares exactly in both', async () => {
    expect(await ours("SELECT id FROM t WHERE s LIKE 'É'")).toEqual([[1]]);
    expect(sqlite("SELECT id FROM t WHERE s LIKE 'É'")).toEqual([]);
    expect(await ours("SELECT id FROM t WHERE s = 'É'")).toEqual(sqlite("SELECT id FROM t WHERE s = 'É'"));
  });

  test('text comparisons with a number do not convert (SQLite applies column affinity): compare like with like', async () => {
    expect(await ours("SELECT id FROM t WHERE n = '3'")).toEqual([]);
    expect(sqlite("SELECT id FROM t WHERE n = '3'")).toEqual([[1]]);
    expect(await ours('SELECT id FROM t WHERE n = 3')).toEqual([[1]]);
    expect(await ours("SELECT id FROM t WHERE n = CAST('3' AS INTEGER)")).toEqual([[1]]);
  });

  test('comparisons yield true / false (SQLite: 1 / 0): use CASE for numbers', async () => {
    expect(await ours('SELECT n > 2 FROM t WHERE id = 1')).toEqual([[true]]);
    expect(sqlite('SELECT n > 2 FROM t WHERE id = 1')).toEqual([[1]]);
    expect(await ours('SELECT CASE WHEN n > 2 THEN 1 ELSE 0 END FROM t WHERE id = 1')).toEqual([[1]]);
  });

  test('a real turned into text loses a ".0" (JavaScript number formatting)', async () => {
    expect(await ours("SELECT r || '' FROM t WHERE id = 1")).toEqual([['0']]);
    expect(sqlite("SELECT r || '' FROM t WHERE id = 1")).toEqual([['0.0']]);
  });

  test('integer division: a literal written both as 2 and 2.0 in one statement counts as real everywhere in it', async () => {
    expect(await ours('SELECT 7 / 2, 7 / 2.0')).toEqual([[3.5, 3.5]]);
    expect(sqlite('SELECT 7 / 2, 7 / 2.0')).toEqual([[3, 3.5]]);
    expect(await ours('SELECT CAST(7 / 2 AS INTEGER), 7.0 / 2')).toEqual([[3, 3.5]]);
  });
});

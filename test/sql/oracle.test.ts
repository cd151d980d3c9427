/**
 * Oracle suite: the same data in SQLite (the sqlite3 shell, installed here) and in git-prolly, the same
 * queries, the same results. Rows are compared in order when the query's ORDER BY fixes it, as
 * multisets otherwise; reals within 1e-9 relative (summation order differs); booleans as 1 / 0 (SQLite
 * has no boolean type).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SqlSession } from '../../src/sql/engine.js';
import { MemoryTableStore } from '../../src/sql/table-store.js';
import { ORACLE_QUERIES, oracleScript } from './oracle-data.js';

let dir: string;
let db: string;
let session: SqlSession;

function sqlite(sql: string): Record<string, unknown>[] {
  const r = spawnSync('sqlite3', ['-json', db, sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 failed on ${sql}: ${r.stderr}`);
  return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as Record<string, unknown>[]);
}

function norm(v: unknown): unknown {
  if (v === true) return 1;
  if (v === false) return 0;
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function same(a: unknown, b: unknown): boolean {
  const x = norm(a);
  const y = norm(b);
  if (typeof x === 'number' && typeof y === 'number') return x === y || Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  return x === y;
}

function key(row: unknown[]): string {
  return JSON.stringify(row.map((v) => {
    const n = norm(v);
    return typeof n === 'number' ? Number(n.toPrecision(12)) : n;
  }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prolly-oracle-'));
  db = join(dir, 'oracle.sqlite');
  const script = oracleScript();
  writeFileSync(join(dir, 'load.sql'), script);
  const load = spawnSync('sqlite3', [db], { input: script, encoding: 'utf8' });
  if (load.status !== 0) throw new Error(`sqlite3 load failed: ${load.stderr}`);
  session = new SqlSession({ store: new MemoryTableStore() });
  await session.execute(script);
});

afterAll(async () => {
  await session?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('git-prolly SQL agrees with SQLite', () => {
  test('the suite has at least 50 queries', () => {
    expect(ORACLE_QUERIES.length).toBeGreaterThanOrEqual(50);
  });

  test('both engines hold the same rows', async () => {
    for (const t of ['customers', 'orders', 'items', 'notes']) {
      const expected = sqlite(`SELECT COUNT(*) AS n FROM ${t}`)[0]!.n;
      const r = await session.query(`SELECT COUNT(*) AS n FROM ${t}`);
      expect(r.kind === 'rows' && r.rows[0]![0]).toBe(expected);
    }
  });

  test.each(ORACLE_QUERIES.map((q, i) => [i + 1, q.sql, q.ordered] as const))('query %i: %s', async (_i, sql, ordered) => {
    const expected = sqlite(sql);
    const r = await session.query(sql);
    if (r.kind !== 'rows') throw new Error('expected rows');
    // SQLite names columns by their text; compare by position, names only for plain columns.
    const expRows = expected.map((o) => Object.values(o));
    expect(r.rows.length, `row count of ${sql}`).toBe(expRows.length);
    if (expRows.length > 0) expect(r.columns.length).toBe(expRows[0]!.length);
    const got = ordered ? r.rows : [...r.rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const want = ordered ? expRows : [...expRows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    for (let i = 0; i < want.length; i++) {
      const ok = want[i]!.every((v, k) => same(got[i]![k], v));
      if (!ok) expect({ row: i, got: got[i] }, sql).toEqual({ row: i, got: want[i] });
    }
  });
});

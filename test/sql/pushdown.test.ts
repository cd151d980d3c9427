/**
 * Push-down: conditions on the key (and on indexed columns) read only the matching part of the tree.
 * Asserted through the plan and through the number of tree nodes fetched from the chunk store, each
 * query in a fresh session with a cold node cache over the same chunks.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { SqlSession, type StatementResult } from '../../src/sql/engine.js';
import { MemoryIndexRootCache, MemoryTableStore, type TableState } from '../../src/sql/table-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { NodeStore } from '../../src/tree/node-store.js';

const ROWS = 20_000;
const chunks = new MemoryStore();
const indexRoots = new MemoryIndexRootCache();
const states = new Map<string, TableState>();
let leaves = 0;
let height = 0;

beforeAll(async () => {
  const store = new MemoryTableStore({ nodes: new NodeStore(chunks), indexRoots });
  const s = new SqlSession({ store });
  await s.execute(`CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, score INTEGER, note TEXT);
    CREATE TABLE readings (sensor TEXT, day DATE, value REAL, PRIMARY KEY (sensor, day))`);
  const kinds = ['click', 'view', 'buy', 'share', 'like'];
  for (let b = 0; b < ROWS; b += 5000) {
    const values = Array.from({ length: 5000 }, (_, k) => b + k).map((i) => `(${i}, '${kinds[i % 5]}', ${i % 1000}, 'event number ${i} with some padding text')`);
    await s.execute(`INSERT INTO events VALUES ${values.join(', ')}`);
  }
  const readings: string[] = [];
  for (let sensor = 0; sensor < 40; sensor++) {
    for (let d = 0; d < 200; d++) readings.push(`('s${String(sensor).padStart(2, '0')}', '${new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10)}', ${sensor + d / 100})`);
  }
  await s.execute(`INSERT INTO readings VALUES ${readings.join(', ')}`);
  await s.execute('CREATE INDEX events_score ON events (score)');
  for (const name of await store.listTables()) states.set(name, (await store.getTable(name))!);
  const full = await (await cold()).query('SELECT COUNT(*) FROM events');
  leaves = full.kind === 'rows' ? full.nodeReads : 0;
  height = (await (await store.nodes()).get(states.get('events')!.root)).level + 1;
});

/** A session over the same chunks with an empty node cache. */
async function cold(): Promise<SqlSession> {
  const store = new MemoryTableStore({ nodes: new NodeStore(chunks), indexRoots });
  await store.writeTables(states);
  return new SqlSession({ store });
}

async function run(sql: string): Promise<StatementResult & { kind: 'rows' }> {
  const r = await (await cold()).query(sql);
  if (r.kind !== 'rows') throw new Error('rows expected');
  return r;
}

describe('push-down', () => {
  test('a full scan reads every node (the baseline)', () => {
    expect(height).toBeGreaterThanOrEqual(2);
    expect(leaves).toBeGreaterThan(50);
  });

  test('pk = v reads one path from the root', async () => {
    const r = await run('SELECT * FROM events WHERE id = 12345');
    expect(r.rows).toEqual([[12345, 'click', 345, 'event number 12345 with some padding text']]);
    expect(r.plan[0]).toMatchObject({ access: 'pk-point', condition: 'id = 12345', rowsRead: 1 });
    expect(r.nodeReads).toBeLessThanOrEqual(height);
  });

  test('pk IN (…) reads one path per key', async () => {
    const r = await run('SELECT id FROM events WHERE id IN (5, 10000, 19999, 55555) ORDER BY id');
    expect(r.rows).toEqual([[5], [10000], [19999]]);
    expect(r.plan[0]!.access).toBe('pk-point');
    expect(r.nodeReads).toBeLessThanOrEqual(3 * height);
  });

  test('a range on the key reads only the leaves that hold it', async () => {
    const r = await run('SELECT COUNT(*) AS n FROM events WHERE id >= 7000 AND id < 7300');
    expect(r.rows).toEqual([[300]]);
    expect(r.plan[0]).toMatchObject({ access: 'pk-range', rowsRead: 300 });
    expect(r.nodeReads).toBeLessThan(leaves / 10);
  });

  test('a prefix of a composite key, and a range after it', async () => {
    const prefix = await run("SELECT COUNT(*) AS n, MIN(day) AS first FROM readings WHERE sensor = 's17'");
    expect(prefix.rows).toEqual([[200, '2024-01-01']]);
    expect(prefix.plan[0]).toMatchObject({ access: 'pk-range', condition: "sensor = 's17'", rowsRead: 200 });
    const range = await run("SELECT day, value FROM readings WHERE sensor = 's03' AND day BETWEEN '2024-02-01' AND '2024-02-03' ORDER BY day");
    expect(range.rows).toEqual([
      ['2024-02-01', 3.31],
      ['2024-02-02', 3.32],
      ['2024-02-03', 3.33],
    ]);
    expect(range.plan[0]).toMatchObject({ access: 'pk-range', rowsRead: 3 });
    const scan = await run('SELECT COUNT(*) FROM readings');
    expect(range.nodeReads).toBeLessThan(scan.nodeReads / 5);
  });

  test('a secondary index serves equality on its column', async () => {
    const r = await run('SELECT id FROM events WHERE score = 777 ORDER BY id');
    expect(r.rows.map((x) => x[0])).toEqual(Array.from({ length: ROWS / 1000 }, (_, i) => i * 1000 + 777));
    expect(r.plan[0]).toMatchObject({ access: 'index-point', index: 'events_score', indexSource: 'cached', rowsRead: ROWS / 1000 });
    expect(r.nodeReads).toBeLessThan(leaves / 3);
  });

  test('a joined table is read by key when the other side is narrow', async () => {
    const r = await run('SELECT a.id, b.id AS next FROM events a JOIN events b ON b.id = a.score WHERE a.id BETWEEN 100 AND 104 ORDER BY a.id');
    expect(r.rows).toEqual([100, 101, 102, 103, 104].map((i) => [i, i]));
    expect(r.plan.map((p) => p.access)).toEqual(['pk-range', 'pk-point']);
    expect(r.nodeReads).toBeLessThan(6 * height);
  });

  test('what cannot be narrowed is a full scan, and EXPLAIN says so', async () => {
    const ex = await run("EXPLAIN SELECT * FROM events WHERE note LIKE '%12%'");
    expect(ex.rows[0]!.slice(0, 4)).toEqual(['events', 'events', 'working', 'full-scan']);
    const r = await run("SELECT COUNT(*) FROM events WHERE kind = 'buy'");
    expect(r.rows).toEqual([[ROWS / 5]]);
    expect(r.plan[0]!.access).toBe('full-scan');
    expect(r.nodeReads).toBeGreaterThanOrEqual(leaves);
  });

  test('a condition no row can meet reads nothing', async () => {
    const r = await run('SELECT * FROM events WHERE id = 5 AND id = 6');
    expect(r.rows).toEqual([]);
    expect(r.plan[0]!.access).toBe('empty');
    expect(r.nodeReads).toBeLessThanOrEqual(1); // opening the table reads its root, nothing more
  });
});

/**
 * SQL benchmark (issue 6): `npm run bench:sql` → bench/results/sql.json. A 1M-row table in a real
 * repository (local store, zstd), imported from CSV, with a secondary index; then point, range, index
 * and full-scan queries in process, the CLI's wall time for a point query, and a 100k-row INSERT.
 *
 *   pk_point_select_ms       SELECT * FROM orders WHERE id = ?            (in process, warm, median)
 *   pk_point_select_cli_ms   the same through `git-prolly sql` (process start to exit, median of 11)
 *   sql_cli_engine_ms        a query the CLI's primary-key fast path leaves to the engine (alasql):
 *                            SELECT … WHERE id = ? AND amount IS NOT NULL (median of 11)
 *   node_startup_ms          `node -e 0`, the floor under both (median of 11)
 *   pk_range_1000_rows_ms    WHERE id >= ? AND id < ? + 1000               (median)
 *   index_point_select_ms    WHERE customer = ?  (index on customer, ~10 rows; median)
 *   full_scan_aggregate_s    GROUP BY region over all rows (in process)
 *   full_scan_peak_rss_mb    peak RSS of a fresh process running that aggregate
 *   insert_100k_rows_s       100,000 rows by 10 INSERT … VALUES statements of 10,000 rows in one transaction
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { initRepo } from '../src/repo/init.js';
import { openRepo } from '../src/repo/repo.js';
import { SqlSession } from '../src/sql/engine.js';
import { importTable } from '../src/sql/import-table.js';
import { repoTables } from '../src/sql/repo-tables.js';
import { median, now, projectRoot, writeResults } from './common.js';
import { mulberry32 } from '../src/util/prng.js';

/** Options of {@link benchSql}. */
export interface SqlBenchOptions {
  /** Rows in the table (default 1,000,000). */
  rows?: number;
  /** Repetitions of each timed query (default 50; CLI runs: 5). */
  runs?: number;
  /** Measure the CLI and the fresh-process scan (needs dist/ built; default true). */
  processes?: boolean;
}

const REGIONS = ['eu-west', 'eu-north', 'us-east', 'us-west', 'ap-south', 'ap-east', 'sa-east', 'af-south'];

const rng = mulberry32;

/** The CSV of the benchmark table: id, customer (~10 rows each), region (8), amount, day. */
function writeCsv(path: string, rows: number): void {
  const r = rng(42);
  const parts: string[] = ['id,customer,region,amount,day\n'];
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    const day = new Date(Date.UTC(2020, 0, 1) + Math.floor(r() * 1500) * 86_400_000).toISOString().slice(0, 10);
    chunk += `${i},${Math.floor(r() * (rows / 10))},${REGIONS[Math.floor(r() * REGIONS.length)]},${(Math.floor(r() * 100_000) / 100).toFixed(2)},${day}\n`;
    if (chunk.length > 1 << 20) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  writeFileSync(path, parts.join(''));
}

/**
 * Build the table and measure the figures (see the module comment).
 * @example const figures = await benchSql({ rows: 100_000 })
 */
export async function benchSql(options: SqlBenchOptions = {}): Promise<Record<string, number>> {
  const rows = options.rows ?? 1_000_000;
  const runs = options.runs ?? 50;
  const root = mkdtempSync(join(tmpdir(), 'prolly-sql-bench-'));
  const results: Record<string, number> = { rows };
  try {
    const git = (args: string[]) => {
      const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    };
    git(['init', '-q', '.']);
    await initRepo({ dir: root });
    const csv = join(root, 'orders.csv');
    writeCsv(csv, rows);
    const repo = await openRepo({ dir: root });
    try {
      const { store, revisions } = repoTables(repo);
      let t0 = now();
      await importTable({ store, table: 'orders', input: csv, primaryKey: ['id'] });
      results.import_rows_s = (now() - t0) / 1000;
      const session = new SqlSession({ store, revisions });
      t0 = now();
      await session.execute('CREATE INDEX orders_customer ON orders (customer)');
      results.create_index_s = (now() - t0) / 1000;

      const r = rng(7);
      const pick = () => 1 + Math.floor(r() * rows);
      const time = async (sql: string, params: () => unknown[], expect?: (n: number) => boolean) => {
        const ts: number[] = [];
        for (let i = 0; i < runs; i++) {
          const p = params();
          const s = now();
          const res = await session.query(sql, p);
          ts.push(now() - s);
          if (expect && res.kind === 'rows' && !expect(res.rows.length)) throw new Error(`${sql} ${JSON.stringify(p)}: unexpected ${res.rows.length} rows`);
        }
        return median(ts);
      };
      await time('SELECT * FROM orders WHERE id = ?', () => [pick()]); // warm up
      results.pk_point_select_ms = await time('SELECT * FROM orders WHERE id = ?', () => [pick()], (n) => n === 1);
      results.pk_range_1000_rows_ms = await time(
        'SELECT * FROM orders WHERE id >= ? AND id < ?',
        () => {
          const a = 1 + Math.floor(r() * (rows - 1000));
          return [a, a + 1000];
        },
        (n) => n === 1000,
      );
      results.index_point_select_ms = await time('SELECT * FROM orders WHERE customer = ?', () => [Math.floor(r() * (rows / 10))]);
      const plan = await session.query('EXPLAIN SELECT * FROM orders WHERE customer = 5');
      if (plan.kind !== 'rows' || plan.rows[0]![3] !== 'index-point') throw new Error(`index not used: ${JSON.stringify(plan)}`);

      t0 = now();
      const agg = await session.query('SELECT region, COUNT(*) AS n, SUM(amount) AS total, AVG(amount) AS mean FROM orders GROUP BY region');
      results.full_scan_aggregate_s = (now() - t0) / 1000;
      if (agg.kind !== 'rows' || agg.rows.length !== REGIONS.length) throw new Error('aggregate returned the wrong number of groups');

      await session.execute('CREATE TABLE orders2 (id INTEGER PRIMARY KEY, customer INTEGER, region TEXT, amount REAL, day DATE)');
      const statements: string[] = [];
      for (let b = 0; b < 10; b++) {
        const values: string[] = [];
        for (let i = 0; i < 10_000; i++) {
          const id = b * 10_000 + i + 1;
          values.push(`(${id}, ${id % 977}, '${REGIONS[id % REGIONS.length]}', ${(id % 1000) / 4}, '2024-0${1 + (id % 9)}-1${id % 10}')`);
        }
        statements.push(`INSERT INTO orders2 VALUES ${values.join(', ')}`);
      }
      t0 = now();
      await session.execute('BEGIN');
      for (const st of statements) await session.execute(st);
      await session.execute('COMMIT');
      results.insert_100k_rows_s = (now() - t0) / 1000;
      await session.close();
    } finally {
      await repo.close();
    }

    if (options.processes !== false) {
      const bin = join(projectRoot, 'bin', 'git-prolly');
      const cliTime = (args: (i: number) => string[]) => {
        const times: number[] = [];
        for (let i = 0; i < 11; i++) {
          const s = now();
          const c = spawnSync(process.execPath, args(i), { cwd: root, encoding: 'utf8' });
          times.push(now() - s);
          if (c.status !== 0) throw new Error(`${args(i).join(' ')} failed: ${c.stderr}`);
          if (args(i)[0] === bin && JSON.parse(c.stdout).length !== 1) throw new Error(`${args(i).join(' ')}: expected one row, got ${c.stdout}`);
        }
        return median(times);
      };
      const id = (i: number) => 1 + ((i * 7919) % rows);
      results.pk_point_select_cli_ms = cliTime((i) => [bin, 'sql', `SELECT * FROM orders WHERE id = ${id(i)}`, '--format', 'json']);
      results.sql_cli_engine_ms = cliTime((i) => [bin, 'sql', `SELECT * FROM orders WHERE id = ${id(i)} AND amount IS NOT NULL`, '--format', 'json']);
      results.node_startup_ms = cliTime(() => ['-e', '0']);
      const child = spawnSync(process.execPath, [fileURLToPath(new URL('./sql-child.js', import.meta.url)), root, 'SELECT region, COUNT(*) AS n, SUM(amount) AS total, AVG(amount) AS mean FROM orders GROUP BY region'], {
        encoding: 'utf8',
      });
      if (child.status !== 0) throw new Error(`scan child failed: ${child.stderr}`);
      const c = JSON.parse(child.stdout) as { seconds: number; max_rss_mb: number };
      results.full_scan_peak_rss_mb = c.max_rss_mb;
      results.full_scan_aggregate_cold_s = c.seconds;
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = process.env.SQL_BENCH_ROWS ? Number(process.env.SQL_BENCH_ROWS) : undefined;
  writeResults(rows && rows !== 1_000_000 ? `sql-${rows}` : 'sql', await benchSql({ rows }));
}

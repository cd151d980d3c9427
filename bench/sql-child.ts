/**
 * Child process of the SQL benchmark: open the repository in argv[2], run the SQL in argv[3] once, and
 * print {"seconds", "rows", "max_rss_mb"} — the peak memory of a fresh process running the query.
 */
import { openRepo } from '../src/repo/repo.js';
import { SqlSession } from '../src/sql/engine.js';
import { repoTables } from '../src/sql/repo-tables.js';

const [dir, sql] = process.argv.slice(2) as [string, string];
const repo = await openRepo({ dir });
try {
  const { store, revisions } = repoTables(repo);
  const session = new SqlSession({ store, revisions });
  const t0 = performance.now();
  const r = await session.query(sql);
  const seconds = (performance.now() - t0) / 1000;
  await session.close();
  process.stdout.write(JSON.stringify({ seconds, rows: r.kind === 'rows' ? r.rows.length : 0, max_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');
} finally {
  await repo.close();
}

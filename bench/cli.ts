/**
 * CLI benchmark: `npm run bench:cli` → bench/results/cli.json. Every figure is the wall time of real
 * `git-prolly` processes (node startup included) in a throwaway repository, as a user would see it.
 *
 * - cli_startup_ms: `git-prolly --version` (median).
 * - import_1m_csv_s: `git prolly import` of a 1,000,000-row, ~100 MB CSV whose keys arrive in
 *   pseudo-random order (the harder case: every batch touches the whole tree).
 * - commit_after_1_change_ms: `git prolly commit` after one `put` into that dataset (median).
 * - diff_100_changes_ms: `git prolly diff HEAD~1 HEAD` over a commit that changed 100 rows (median).
 * - history_key_ms: `git prolly history` of one key over 100 commits (median).
 * - get_key_ms: `git prolly get` of one key of the 1M-row dataset (median).
 * - put_key_ms: `git prolly put` of one key into it (median).
 * - node_startup_ms: `node -e 0`, the floor under every figure above (median).
 *
 * @example
 * const figures = await benchCli({ rows: 100_000, runs: 3 });
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { openRepo } from '../src/index.js';
import { benchGitEnv, median, now, projectRoot, writeResults } from './common.js';

/** Figures of one run. */
export interface CliBenchResult {
  cli_startup_ms: number;
  import_1m_csv_s: number;
  import_rows: number;
  import_csv_mb: number;
  commit_after_1_change_ms: number;
  diff_100_changes_ms: number;
  history_key_ms: number;
  history_commits: number;
  history_entries: number;
  get_key_ms: number;
  put_key_ms: number;
  node_startup_ms: number;
}

/** The i-th key of the benchmark dataset: a bijective 32-bit hash of i, so keys arrive unsorted. */
function keyOf(i: number): string {
  return `k${(Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, '0')}`;
}

const COUNTRIES = ['DE', 'FR', 'GB', 'US', 'IN', 'JP', 'BR', 'NG', 'SE', 'CA'];

/** One CSV row of about 100 bytes. */
function row(i: number, tag = ''): string {
  const n = Math.imul(i, 2246822519) >>> 0;
  return `${keyOf(i)},user${i}${tag},user${i}@example.org,${COUNTRIES[n % 10]},2023-${String((n % 12) + 1).padStart(2, '0')}-${String((n % 28) + 1).padStart(2, '0')},${n % 3 === 0 ? 'pro' : 'free'},${(n % 1000) / 10},note-${n.toString(36)}-${(n ^ 0x5bd1e995).toString(36)}\n`;
}

async function writeCsv(file: string, rows: number, tag = '', pick: (i: number) => number = (i) => i): Promise<void> {
  const out = createWriteStream(file);
  out.write('id,name,email,country,signup_date,plan,score,note\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    chunk += row(pick(i), tag);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/**
 * Run the CLI benchmark with `rows` rows (default 1,000,000) and `runs` repetitions of the short
 * measurements (default 5); returns the figures.
 * @example const { import_1m_csv_s } = await benchCli();
 */
export async function benchCli(options: { rows?: number; runs?: number } = {}): Promise<CliBenchResult> {
  const rows = options.rows ?? 1_000_000;
  const runs = options.runs ?? 5;
  const root = mkdtempSync(join(tmpdir(), 'prolly-bench-cli-'));
  const dir = join(root, 'repo');
  const home = join(root, 'home');
  mkdirSync(dir);
  mkdirSync(home);
  const bin = join(projectRoot, 'bin', 'git-prolly');
  const env = benchGitEnv(home);
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: dir, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** Run git-prolly directly (no git in between) and return the wall time in ms. */
  const prolly = (...args: string[]): { ms: number; stdout: string } => {
    const t0 = now();
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8', maxBuffer: 256 << 20 });
    const ms = now() - t0;
    if (r.status !== 0) throw new Error(`git-prolly ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return { ms, stdout: r.stdout };
  };
  const timed = (n: number, setup: (i: number) => void, args: (i: number) => string[]) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      setup(i);
      times.push(prolly(...args(i)).ms);
    }
    return median(times);
  };

  try {
    git('init', '-q', '-b', 'main');
    git('commit', '-q', '--allow-empty', '-m', 'initial');
    prolly('init');
    prolly('--version');
    const cli_startup_ms = timed(Math.max(11, runs), () => {}, () => ['--version']);

    const csv = join(root, 'rows.csv');
    await writeCsv(csv, rows);
    const import_csv_mb = statSync(csv).size / 1e6;
    const imported = prolly('import', 'bench', csv, '--json');
    const import_1m_csv_s = imported.ms / 1000;
    if (JSON.parse(imported.stdout).count !== rows) throw new Error(`import stored ${JSON.parse(imported.stdout).count} rows, expected ${rows}`);
    prolly('commit', '-m', 'import');

    const commit_after_1_change_ms = timed(
      runs,
      (i) => prolly('put', 'bench', keyOf(i * 7919), `changed ${i}`),
      (i) => ['commit', '-m', `change ${i}`],
    );

    // 100 changed rows in one commit.
    const changes = join(root, 'changes.csv');
    await writeCsv(changes, 100, '-changed', (i) => (i * 9973) % rows);
    prolly('import', 'bench', changes);
    prolly('commit', '-m', '100 changes');
    const stat = JSON.parse(prolly('diff', 'HEAD~1', 'HEAD', '--stat', '--json').stdout) as { modified: number }[];
    if (stat[0]?.modified !== 100) throw new Error(`diff found ${JSON.stringify(stat)}, expected 100 modified`);
    const diff_100_changes_ms = timed(runs, () => {}, () => ['diff', 'HEAD~1', 'HEAD']);

    // 100 commits through the library (setup only); the target key changes in every 5th.
    const target = keyOf(4242);
    const repo = await openRepo({ dir });
    try {
      const ds = repo.dataset('bench');
      for (let c = 0; c < 100; c++) {
        const edits: [string, string][] = [];
        for (let j = 0; j < 10; j++) edits.push([keyOf((c * 131 + j * 17) % rows), `c${c}-${j}`]);
        if (c % 5 === 0) edits.push([target, `target in commit ${c}`]);
        await ds.putMany(edits);
        await repo.commit({ message: `history commit ${c}` });
      }
    } finally {
      await repo.close();
    }
    const history = JSON.parse(prolly('history', 'bench', target, '--json').stdout) as unknown[];
    const history_key_ms = timed(runs, () => {}, () => ['history', 'bench', target]);
    const get_key_ms = timed(Math.max(11, runs), () => {}, (i) => ['get', 'bench', keyOf(i * 7919)]);
    // Last: the puts leave the work tree changed.
    const put_key_ms = timed(Math.max(11, runs), () => {}, (i) => ['put', 'bench', keyOf(i * 104729), `put ${i}`]);
    const nodeTimes: number[] = [];
    for (let i = 0; i < Math.max(11, runs); i++) {
      const t0 = now();
      spawnSync(process.execPath, ['-e', '0']);
      nodeTimes.push(now() - t0);
    }
    const node_startup_ms = median(nodeTimes);

    return {
      cli_startup_ms,
      import_1m_csv_s,
      import_rows: rows,
      import_csv_mb,
      commit_after_1_change_ms,
      diff_100_changes_ms,
      history_key_ms,
      history_commits: Number(git('rev-list', '--count', 'HEAD').trim()),
      history_entries: history.length,
      get_key_ms,
      put_key_ms,
      node_startup_ms,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = process.env.BENCH_CLI_ROWS ? Number(process.env.BENCH_CLI_ROWS) : undefined;
  writeResults('cli', { ...(await benchCli({ rows })) });
}

/**
 * Helpers for tests through the real CLI: build dist/ when it is stale, throwaway git repositories
 * with an isolated HOME and git config, and running `git`, `git prolly` (through git, which finds
 * bin/git-prolly on PATH) and `git-prolly` directly.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileLock } from '../../src/store/file-lock.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'git-prolly');
const MAIN_JS = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return newest;
}

/**
 * Make sure dist/ is at least as new as src/ (the CLI runs compiled code). `npm ci` builds dist via
 * `prepare`, so in CI this is a cheap check; locally it rebuilds after source edits. Builds are
 * serialized across test processes with a lock file.
 */
export async function ensureBuilt(): Promise<void> {
  const fresh = () => existsSync(MAIN_JS) && statSync(MAIN_JS).mtimeMs >= newestMtime(join(ROOT, 'src'));
  if (fresh()) return;
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const lock = await FileLock.acquire({ path: join(ROOT, '.tmp', 'build.lock'), timeoutMs: 300_000, purpose: 'test build' });
  try {
    if (fresh()) return;
    // Type errors elsewhere in the tree do not stop tsc from emitting; only a missing entry point fails.
    spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'ignore' });
    if (!existsSync(MAIN_JS)) throw new Error('npx tsc -p tsconfig.json did not produce dist/src/cli/main.js');
  } finally {
    lock.release();
  }
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A throwaway repository and ways to run commands in it. */
export interface TestRepo {
  dir: string;
  home: string;
  env: NodeJS.ProcessEnv;
  /** `git <args>`. */
  git(args: string[], opts?: { input?: string; cwd?: string }): Run;
  /** `git prolly <args>` — through git, as users run it. */
  prolly(args: string[], opts?: { input?: string | Uint8Array; cwd?: string; env?: NodeJS.ProcessEnv }): Run;
  /** Like prolly, but throws with the output unless the exit code is 0. */
  ok(args: string[], opts?: { input?: string | Uint8Array; cwd?: string }): string;
  /** Like git, but throws unless the exit code is 0. */
  gitOk(args: string[], opts?: { input?: string; cwd?: string }): string;
  cleanup(): void;
}

function result(r: SpawnSyncReturns<string>): Run {
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Environment for git and git-prolly: isolated HOME/config, fixed identity, bin/ on PATH. */
export function testEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: [join(ROOT, 'bin'), dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(delimiter),
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(home, '.gitconfig'),
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'author@example.org',
    GIT_COMMITTER_NAME: 'Test Committer',
    GIT_COMMITTER_EMAIL: 'committer@example.org',
    GIT_PAGER: 'cat',
    NO_COLOR: '1',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
}

/**
 * A TestRepo for an existing directory run with the given environment (clones share their origin's).
 * @example const clone = repoAt('/tmp/x/clone', origin.env)
 */
export function repoAt(dir: string, env: NodeJS.ProcessEnv, cleanup: () => void = () => {}): TestRepo {
  const git = (args: string[], opts: { input?: string; cwd?: string } = {}) => result(spawnSync('git', args, { cwd: opts.cwd ?? dir, env, input: opts.input, encoding: 'utf8' }));
  const prolly = (args: string[], opts: { input?: string | Uint8Array; cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
    result(spawnSync('git', ['prolly', ...args], { cwd: opts.cwd ?? dir, env: { ...env, ...opts.env }, input: opts.input, encoding: 'utf8', maxBuffer: 256 << 20 }));
  const fail = (what: string, r: Run) => new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return {
    dir,
    home: env.HOME ?? '',
    env,
    git,
    prolly,
    ok(args, opts) {
      const r = prolly(args, opts);
      if (r.code !== 0) throw fail(`git prolly ${args.join(' ')}`, r);
      return r.stdout;
    },
    gitOk(args, opts) {
      const r = git(args, opts);
      if (r.code !== 0) throw fail(`git ${args.join(' ')}`, r);
      return r.stdout;
    },
    cleanup,
  };
}

/**
 * A fresh git repository (branch main, one initial commit unless `empty`), optionally with
 * `git prolly init` run.
 * @example const r = makeRepo({ init: true }); r.ok(['put', 'ds', 'k', 'v']); r.cleanup();
 */
export function makeRepo(options: { init?: boolean; empty?: boolean } = {}): TestRepo {
  const base = mkdtempSync(join(tmpdir(), 'prolly-cli-'));
  const home = join(base, 'home');
  const dir = join(base, 'repo');
  mkdirSync(home);
  mkdirSync(dir);
  const repo = repoAt(dir, testEnv(home), () => rmSync(base, { recursive: true, force: true }));
  repo.gitOk(['init', '-q', '-b', 'main']);
  if (!options.empty) {
    repo.gitOk(['commit', '-q', '--allow-empty', '-m', 'initial']);
  }
  if (options.init) repo.ok(['init']);
  return repo;
}

/**
 * Start `git prolly <args>` without waiting (for kill and lock tests); `stdin: true` gives it a pipe
 * to write its input to (else it reads nothing).
 * @example const child = startProlly(repo, ['import', 'ds', 'big.csv']);
 */
export function startProlly(repo: TestRepo, args: string[], options: { stdin?: boolean } = {}) {
  return spawn('git', ['prolly', ...args], { cwd: repo.dir, env: repo.env, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
}

/** A temp dir outside any repository. */
export function plainDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'prolly-plain-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Shared helpers of the benchmark scripts: timing, medians, and writing bench/results/<name>.json. */
import { execSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Milliseconds, high resolution. */
export function now(): number {
  return performance.now();
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Where the project lives (bench/ is compiled to dist/bench/). */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Write results with the machine and commit they were measured on; prints them too. */
export function writeResults(name: string, figures: Record<string, number>): void {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: projectRoot, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  const rounded = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
  const out = {
    ...rounded,
    _meta: { commit, date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, mem_gb: Math.round(totalmem() / 2 ** 30) },
  };
  const dir = `${projectRoot}bench/results`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${name}.json.tmp`, JSON.stringify(out, null, 2) + '\n');
  renameSync(`${dir}/${name}.json.tmp`, `${dir}/${name}.json`);
  console.log(JSON.stringify(out, null, 2));
}

/**
 * Environment for running git and `git prolly` in a benchmark's throwaway repository: this checkout's
 * bin/ first on PATH, a private HOME, no system or user git config, a fixed identity, no colour.
 */
export function benchGitEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: [join(projectRoot, 'bin'), dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(home, '.gitconfig'),
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@example.org',
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@example.org',
    NO_COLOR: '1',
  };
}

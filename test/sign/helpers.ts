/** Shared test helpers for test/sign: temp dirs and running real ssh-keygen / git with a clean HOME. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A temp directory removed by the returned cleanup function. */
export function makeTempDir(prefix = 'prolly-sign-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Run a program with HOME pointed at `home` and no global/system git config, so nothing from the
 * machine's user config leaks into the oracle's behaviour.
 */
export function run(
  program: string,
  args: readonly string[],
  options: { home: string; cwd?: string; input?: string | Uint8Array; env?: Record<string, string> },
): RunResult {
  const r = spawnSync(program, args, {
    cwd: options.cwd ?? options.home,
    input: options.input,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: options.home,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      LC_ALL: 'C',
      TZ: 'UTC',
      ...options.env,
    },
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** run(), failing the test with the program's stderr when it does not exit 0. */
export function runOk(
  program: string,
  args: readonly string[],
  options: { home: string; cwd?: string; input?: string | Uint8Array; env?: Record<string, string> },
): RunResult {
  const r = run(program, args, options);
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r;
}

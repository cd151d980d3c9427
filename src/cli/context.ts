/**
 * Shared helpers of the command modules: opening the repository the way git would find it, and
 * parsing common arguments.
 */
import { invalidArgument } from '../errors.js';
import { openRepo, type Repo } from '../repo/repo.js';

/**
 * Open the repository around the current directory (GIT_DIR / GIT_WORK_TREE respected), run `fn`,
 * and always close it (releasing the write lock).
 * @example await withRepo('put', async (repo) => repo.dataset('users').put('a', '1'))
 */
export async function withRepo<T>(command: string, fn: (repo: Repo) => Promise<T>): Promise<T> {
  const wait = process.env.GIT_PROLLY_LOCK_TIMEOUT_MS;
  const repo = await openRepo({
    dir: process.cwd(),
    gitDir: process.env.GIT_DIR,
    workTree: process.env.GIT_WORK_TREE,
    lockTimeoutMs: wait !== undefined && /^\d+$/.test(wait) ? Number(wait) : 0,
    purpose: `git-prolly ${command}`,
  });
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

/**
 * A non-negative integer option.
 * @example intOption('--limit', '10') // 10
 */
export function intOption(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (!/^\d+$/.test(s)) throw invalidArgument(`${name} must be a non-negative integer, got ${JSON.stringify(s)}`);
  return Number(s);
}

/**
 * Read all of standard input.
 * @example const value = await readStdin()
 */
export async function readStdin(): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const piece of process.stdin) parts.push(piece as Buffer);
  return Buffer.concat(parts);
}

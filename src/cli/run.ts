/**
 * The one place errors become exit codes and messages (ARCHITECTURE.md CLI conventions):
 * 0 success; 1 a check found a problem (merge conflict, key not found, verification failure);
 * 2 usage or runtime error. Errors print one line `git-prolly: <message>` on stderr; the stack only
 * with --debug.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { Output, type GlobalOptions } from './output.js';

/** Exit codes. */
export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_ERROR = 2;

/**
 * Thrown by a command when a check found a problem: exit 1 with this message.
 * @example throw new CheckFailed('key "x" not found in dataset users')
 */
export class CheckFailed extends Error {
  constructor(
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CheckFailed';
  }
}

/** ProllyError codes that mean "a check found a problem" rather than "could not run". */
const PROBLEM_CODES = new Set<string>([ErrorCodes.MERGE_CONFLICT, ErrorCodes.CHUNK_CORRUPT]);

/**
 * Run a command body with its Output; set process.exitCode from its result or error.
 * @example await runCommand(opts, async (out) => { await out.line('hi'); });
 */
export async function runCommand(options: GlobalOptions, body: (out: Output) => Promise<number | void>): Promise<void> {
  const out = new Output(options);
  let code: number;
  try {
    code = (await body(out)) ?? EXIT_OK;
  } catch (err) {
    code = report(err, options);
  }
  try {
    await out.flush();
  } catch {
    /* stdout closed */
  }
  process.exitCode = code;
}

/**
 * Print an error as git-prolly does and return its exit code.
 * @example process.exitCode = report(err, { debug: false, json: false })
 */
export function report(err: unknown, options: Pick<GlobalOptions, 'debug' | 'json'>): number {
  let code = EXIT_ERROR;
  let message: string;
  let errCode: string | undefined;
  if (err instanceof CheckFailed) {
    code = EXIT_PROBLEM;
    message = err.message;
    errCode = 'EPROBLEM';
  } else if (err instanceof ProllyError) {
    code = PROBLEM_CODES.has(err.code) ? EXIT_PROBLEM : EXIT_ERROR;
    message = err.message;
    errCode = err.code;
  } else if (isErrno(err)) {
    message = describeErrno(err);
    errCode = err.code;
  } else if (err instanceof Error) {
    message = `internal error: ${err.message}${options.debug ? '' : ' (run with --debug for details)'}`;
  } else {
    message = `internal error: ${String(err)}`;
  }
  if (options.json) process.stderr.write(JSON.stringify({ error: { code: errCode ?? 'EINTERNAL', message } }) + '\n');
  else process.stderr.write(`git-prolly: ${message}\n`);
  if (options.debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return code;
}

function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

function describeErrno(err: NodeJS.ErrnoException): string {
  const what: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
    ENOSPC: 'no space left on device',
    EEXIST: 'already exists',
  };
  const reason = what[err.code!] ?? err.message;
  return err.path ? `${err.path}: ${reason}` : reason;
}

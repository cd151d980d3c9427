/**
 * Atomic file replacement: write a temp file next to the target, fsync it, rename it over the
 * target, fsync the directory. A reader (or a crash) sees either the old file or the whole new
 * one, never a half-written file. Rename is atomic only within one filesystem, which is why the
 * temp file lives in the target's own directory.
 *
 * Files git itself writes (the index, refs) use git's lock-file protocol instead: `<file>.lock`
 * created exclusively — so a running git command makes us fail rather than race — then written,
 * fsynced and renamed over the file ({@link replaceUnderGitLockSync}, {@link replaceUnderGitLock}).
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Options for {@link writeFileAtomicSync}. */
export interface AtomicWriteOptions {
  /** fsync the file and its directory so the new content survives power loss (default true). */
  fsync?: boolean;
  /** File mode for a newly created file (default 0o644, less the umask). */
  mode?: number;
}

/** Suffix marking temp files, so a directory owner can sweep leftovers of a crashed writer. */
export const TEMP_MARKER = '.tmp-';

/**
 * Name of a fresh temp file beside `path` (same directory, so rename stays atomic).
 * @example tempPathFor('/s/1.idx') // '/s/.1.idx.tmp-3f2a…'
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Replace `path` with `data` atomically (temp file + fsync + rename + directory fsync).
 * @example writeFileAtomicSync('/repo/.git/prolly/store/00000001.idx', indexBytes)
 */
export function writeFileAtomicSync(path: string, data: Uint8Array, options: AtomicWriteOptions = {}): void {
  const durable = options.fsync ?? true;
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'wx', options.mode ?? 0o644);
  try {
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    safeUnlink(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    safeUnlink(tmp);
    throw err;
  }
  if (durable) fsyncDirSync(dirname(path));
}

/**
 * Async form of {@link writeFileAtomicSync} (the work is small and synchronous underneath; this
 * exists so async callers need not care).
 * @example await writeFileAtomic('/tmp/x.json', utf8('{}'))
 */
export async function writeFileAtomic(path: string, data: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  writeFileAtomicSync(path, data, options);
}

/**
 * fsync a directory so that entries created, renamed or removed in it are durable. Some platforms
 * (Windows) cannot open a directory; there it is skipped, as rename is already durable there.
 * @example fsyncDirSync('/repo/.git/prolly/store')
 */
export function fsyncDirSync(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    // EINVAL/EPERM: the filesystem does not support fsync on directories; nothing more we can do.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw err;
  } finally {
    closeSync(fd);
  }
}

/** Options of {@link replaceUnderGitLockSync} and {@link replaceUnderGitLock}. */
export interface GitLockWriteOptions<C> {
  /** The file to replace (`.git/index`, `.git/refs/heads/main`, …); its lock is `<path>.lock`. */
  path: string;
  /** The error to throw when `<path>.lock` already exists (another git process holds it). */
  busy: (lockPath: string) => Error;
  /**
   * The new content, computed while the lock is held (so a compare-and-swap check can run under it;
   * throwing here removes the lock and leaves the file as it was).
   */
  content: () => C;
  /** fsync the directory after the rename (default true). */
  fsyncDir?: boolean;
}

/** The lock, held: created exclusively, so only one process gets here at a time. */
function takeGitLock(path: string, busy: (lockPath: string) => Error): { fd: number; lock: string } {
  const lock = `${path}.lock`;
  try {
    return { fd: openSync(lock, 'wx', 0o644), lock };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw busy(lock);
    throw err;
  }
}

/** Write, fsync, close and rename the lock over the file. */
function commitGitLock(held: { fd: number; lock: string }, path: string, data: Uint8Array | string, syncDir: boolean): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let done = 0;
  while (done < bytes.length) done += writeSync(held.fd, bytes, done, bytes.length - done);
  fsyncSync(held.fd);
  closeSync(held.fd);
  held.fd = -1;
  renameSync(held.lock, path);
  if (syncDir) fsyncDirSync(dirname(path));
}

/** Give the lock up after a failure: the file keeps its old content. */
function abandonGitLock(held: { fd: number; lock: string }): void {
  if (held.fd >= 0) {
    try {
      closeSync(held.fd);
    } catch {
      /* already closed */
    }
  }
  safeUnlink(held.lock);
}

/**
 * Replace a file git owns under git's lock-file protocol: create `<path>.lock` exclusively (`busy`
 * when it exists), write `content()`, fsync, rename over `path`, fsync the directory. On any error
 * the lock is removed and `path` is untouched.
 * @example replaceUnderGitLockSync({ path: join(gitDir, 'index'), busy: (l) => new Error(`${l} exists`), content: () => encodeIndex(index) })
 */
export function replaceUnderGitLockSync(options: GitLockWriteOptions<Uint8Array | string>): void {
  const held = takeGitLock(options.path, options.busy);
  try {
    commitGitLock(held, options.path, options.content(), options.fsyncDir ?? true);
  } catch (err) {
    abandonGitLock(held);
    throw err;
  }
}

/**
 * {@link replaceUnderGitLockSync} with an async `content` (e.g. a ref's compare-and-swap check that
 * reads the current value while the lock is held).
 * @example await replaceUnderGitLock({ path: refFile, busy, content: async () => { await checkUnchanged(); return `${oid}\n`; } })
 */
export async function replaceUnderGitLock(options: GitLockWriteOptions<Promise<Uint8Array | string> | Uint8Array | string>): Promise<void> {
  const held = takeGitLock(options.path, options.busy);
  try {
    commitGitLock(held, options.path, await options.content(), options.fsyncDir ?? true);
  } catch (err) {
    abandonGitLock(held);
    throw err;
  }
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/**
 * Atomic file replacement: write a temp file next to the target, fsync it, rename it over the
 * target, fsync the directory. A reader (or a crash) sees either the old file or the whole new
 * one, never a half-written file. Rename is atomic only within one filesystem, which is why the
 * temp file lives in the target's own directory.
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

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

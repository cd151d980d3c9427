/**
 * An exclusive, cross-process lock held as a file that names its holder. Node has no flock(), so
 * the file's existence is the lock: it is created complete and atomically (written to a temp file,
 * then hard-linked into place, which fails if the lock exists), and a lock whose holder process is
 * gone is recovered. Recovery itself runs under a short-lived guard file so that two processes
 * recovering the same stale lock cannot delete each other's fresh one.
 */
import { closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ErrorCodes, ProllyError } from '../errors.js';
import { fsyncDirSync, tempPathFor } from '../util/atomic-file.js';
import { dirname } from 'node:path';

/** What a lock file records about the process that holds it. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** Linux process start time (clock ticks since boot, /proc/<pid>/stat field 22) to detect pid reuse. */
  processStart?: string;
  /** ISO time the lock was taken. */
  acquiredAt: string;
  /** What the holder is doing, for the error message (e.g. "chunk store writer"). */
  purpose?: string;
  /** Random per-acquisition id: release and stale recovery only delete the lock they mean. */
  token: string;
}

/** Options for {@link FileLock.acquire}. */
export interface AcquireLockOptions {
  /** Lock file path, e.g. `<store>/LOCK`. */
  path: string;
  /** Keep retrying this long while another live process holds the lock (default 0: fail at once). */
  timeoutMs?: number;
  /** Shown to whoever finds the lock taken. */
  purpose?: string;
}

/** A guard file older than this belongs to a recoverer that died mid-recovery (recovery takes µs). */
const GUARD_STALE_MS = 10_000;
/** A lock file that does not parse and is older than this was left by a crash; younger may be in creation. */
const UNPARSABLE_STALE_MS = 10_000;

/**
 * An acquired lock. Release it with {@link FileLock.release}; if the process dies instead, the next
 * acquirer on the same host sees the holder's pid is gone and takes over.
 *
 * @example
 * const lock = await FileLock.acquire({ path: join(dir, 'LOCK'), purpose: 'chunk store writer' });
 * try { … } finally { lock.release(); }
 */
export class FileLock {
  readonly path: string;
  readonly holder: LockHolder;
  private released = false;

  private constructor(path: string, holder: LockHolder) {
    this.path = path;
    this.holder = holder;
  }

  /**
   * Take the lock, recovering it from a dead holder; throws ProllyError ELOCKED naming the live
   * holder when `timeoutMs` passes without getting it.
   * @example const lock = await FileLock.acquire({ path: '/repo/.git/prolly/store/LOCK' });
   */
  static async acquire(options: AcquireLockOptions): Promise<FileLock> {
    const deadline = Date.now() + (options.timeoutMs ?? 0);
    let delay = 10;
    for (;;) {
      const got = FileLock.tryAcquireSync(options);
      if (got instanceof FileLock) return got;
      if (Date.now() >= deadline) throw lockedError(options.path, got);
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
      delay = Math.min(delay * 2, 200);
    }
  }

  /**
   * One attempt: the lock, or the live holder that has it (`undefined` holder when its file is
   * being created right now and cannot be read yet).
   * @example const r = FileLock.tryAcquireSync({ path }); if (r instanceof FileLock) …
   */
  static tryAcquireSync(options: AcquireLockOptions): FileLock | LockHolder | undefined {
    const { path } = options;
    for (let attempt = 0; attempt < 5; attempt++) {
      const holder: LockHolder = {
        pid: process.pid,
        hostname: hostname(),
        processStart: processStartTime(process.pid),
        acquiredAt: new Date().toISOString(),
        purpose: options.purpose,
        token: randomBytes(8).toString('hex'),
      };
      if (createComplete(path, JSON.stringify(holder) + '\n')) return new FileLock(path, holder);
      const current = readLockFile(path);
      if (current === 'absent') continue; // released between our attempt and the read: retry
      if (current === 'unparsable') {
        if (ageMs(path) < UNPARSABLE_STALE_MS) return undefined;
        recoverStale(path, undefined);
        continue;
      }
      if (isHolderAlive(current)) return current;
      recoverStale(path, current);
    }
    return readLockHolder(path);
  }

  /** True until {@link release} runs. */
  get held(): boolean {
    return !this.released;
  }

  /**
   * Delete the lock file if it is still ours. Idempotent.
   * @example lock.release();
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    const current = readLockFile(this.path);
    if (typeof current === 'object' && current.token === this.holder.token) {
      try {
        unlinkSync(this.path);
      } catch {
        /* gone already */
      }
    }
  }
}

/**
 * The holder recorded in a lock file, or undefined when there is no (readable) lock.
 * @example readLockHolder('/repo/.git/prolly/store/LOCK')?.pid
 */
export function readLockHolder(path: string): LockHolder | undefined {
  const r = readLockFile(path);
  return typeof r === 'object' ? r : undefined;
}

/**
 * Whether the process named by a lock holder still runs. A holder on another host is assumed alive
 * (we cannot check it). On Linux a zombie or a different process start time (pid reuse) counts as dead.
 * @example isHolderAlive({ pid: 1, hostname: os.hostname(), … }) // true
 */
export function isHolderAlive(holder: Pick<LockHolder, 'pid' | 'hostname' | 'processStart'>): boolean {
  if (holder.hostname !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: exists but belongs to someone else — alive.
  }
  const stat = readProcStat(holder.pid);
  if (stat) {
    if (stat.state === 'Z' || stat.state === 'X') return false;
    if (holder.processStart !== undefined && stat.start !== holder.processStart) return false;
  }
  return true;
}

function lockedError(path: string, holder: LockHolder | undefined): ProllyError {
  const dir = dirname(path);
  const who = holder
    ? `process ${holder.pid}${holder.pid === process.pid ? ' (this process)' : ''} on ${holder.hostname}` +
      `${holder.purpose ? ` (${holder.purpose})` : ''} since ${holder.acquiredAt}`
    : 'a process that is creating the lock right now';
  return new ProllyError(ErrorCodes.LOCKED, `${dir} is locked by ${who}; lock file ${path}`, {
    path,
    pid: holder?.pid,
    hostname: holder?.hostname,
    holder,
  });
}

/** Create `path` with `content`, atomically and only if absent: write a temp file, hard-link it. */
function createComplete(path: string, content: string): boolean {
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    fsyncDirSync(dirname(path));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* ignore */
    }
  }
}

function readLockFile(path: string): LockHolder | 'absent' | 'unparsable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  try {
    const v = JSON.parse(text) as LockHolder;
    if (typeof v.pid === 'number' && typeof v.token === 'string' && typeof v.hostname === 'string') return v;
  } catch {
    /* fall through */
  }
  return 'unparsable';
}

/** Delete a stale lock, but only if it is still the one we judged stale (same token). */
function recoverStale(path: string, stale: LockHolder | undefined): void {
  const guard = `${path}.recover`;
  if (!createComplete(guard, `${process.pid}\n`)) {
    if (ageMs(guard) > GUARD_STALE_MS) {
      try {
        unlinkSync(guard);
      } catch {
        /* someone else cleared it */
      }
    }
    return; // let the caller retry
  }
  try {
    const current = readLockFile(path);
    const same =
      stale === undefined ? current === 'unparsable' : typeof current === 'object' && current.token === stale.token;
    if (same) unlinkSync(path);
  } finally {
    try {
      unlinkSync(guard);
    } catch {
      /* ignore */
    }
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function readProcStat(pid: number): { state: string; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may contain spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  return state !== undefined && start !== undefined ? { state, start } : undefined;
}

function processStartTime(pid: number): string | undefined {
  return readProcStat(pid)?.start;
}

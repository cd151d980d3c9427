/**
 * The git index (staging area), read and written directly so that `git prolly commit` can replace the
 * `.prolly/` entries and leave every other entry — the user's staged work — byte for byte as it was.
 * Writes follow git's own protocol: build `index.lock` (created exclusively, so a running git command
 * makes us fail instead of race), fsync, rename over `index`.
 *
 * Versions 2, 3 and 4 are read and written back in the same version. Optional extensions (cache-tree,
 * untracked cache, fsmonitor, offset tables) describe the old entries and are dropped; git rebuilds
 * them. Required extensions (split index, sparse directories) are refused with a clear error.
 */
import { createHash } from 'node:crypto';
import { readFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, ProllyError } from '../errors.js';
import { replaceUnderGitLockSync } from '../util/atomic-file.js';

/** One index entry. `raw` keeps the 62 stat+oid+flags bytes of entries read from disk. */
export interface IndexEntry {
  path: string;
  /** 0 normally; 1 base, 2 ours, 3 theirs during a conflicted merge. */
  stage: number;
  /** Blob (or gitlink commit) id, 40 hex. */
  oid: string;
  /** 0o100644, 0o100755, 0o120000 (symlink) or 0o160000 (gitlink). */
  mode: number;
  /** The fixed 62-byte part (stat data, oid, flags) as read; rebuilt from `stat` for new entries. */
  raw: Buffer;
  /** Extended flags (v3+), 0 when none. */
  extended: number;
}

/** A parsed index file. */
export interface GitIndexFile {
  version: number;
  entries: IndexEntry[];
}

const SIG = Buffer.from('DIRC');

/**
 * Read `<gitDir>/index`; an empty index when the file does not exist (a fresh repository).
 * @example const { entries } = readIndex('/repo/.git');
 */
export function readIndex(gitDir: string): GitIndexFile {
  let buf: Buffer;
  try {
    buf = readFileSync(join(gitDir, 'index'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 2, entries: [] };
    throw err;
  }
  return parseIndex(buf, join(gitDir, 'index'));
}

/**
 * Parse index bytes; EGITSTATE for anything this code does not understand.
 * @example const { entries } = parseIndex(readFileSync('.git/index'));
 */
export function parseIndex(buf: Buffer, file = 'index'): GitIndexFile {
  const fail = (msg: string): never => {
    throw new ProllyError(ErrorCodes.GIT_STATE, `${file}: ${msg}`, { file });
  };
  if (buf.length < 32 || !buf.subarray(0, 4).equals(SIG)) fail('not a git index file');
  const sum = createHash('sha1').update(buf.subarray(0, buf.length - 20)).digest();
  if (!sum.equals(buf.subarray(buf.length - 20)) && !buf.subarray(buf.length - 20).equals(Buffer.alloc(20))) fail('index checksum mismatch (corrupt index)');
  const version = buf.readUInt32BE(4);
  if (version < 2 || version > 4) fail(`index version ${version} is not supported`);
  const count = buf.readUInt32BE(8);
  const entries: IndexEntry[] = [];
  let pos = 12;
  let prevPath = '';
  for (let e = 0; e < count; e++) {
    const start = pos;
    if (pos + 62 > buf.length) fail('truncated index entry');
    const raw = Buffer.from(buf.subarray(pos, pos + 62));
    const mode = buf.readUInt32BE(pos + 24);
    const oid = buf.toString('hex', pos + 40, pos + 60);
    const flags = buf.readUInt16BE(pos + 60);
    pos += 62;
    let extended = 0;
    if (flags & 0x4000) {
      if (version < 3) fail('extended entry flags in a version 2 index');
      extended = buf.readUInt16BE(pos);
      pos += 2;
    }
    let path: string;
    if (version === 4) {
      const { value: strip, next } = readOffsetVarint(buf, pos);
      pos = next;
      const end = buf.indexOf(0, pos);
      if (end < 0) fail('unterminated path');
      const prev = Buffer.from(prevPath);
      if (strip > prev.length) fail('bad path compression');
      path = Buffer.concat([prev.subarray(0, prev.length - strip), buf.subarray(pos, end)]).toString('utf8');
      pos = end + 1;
    } else {
      const end = buf.indexOf(0, pos);
      if (end < 0) fail('unterminated path');
      path = buf.toString('utf8', pos, end);
      pos = start + Math.ceil((end - start + 1) / 8) * 8;
    }
    prevPath = path;
    entries.push({ path, stage: (flags >> 12) & 3, oid, mode, raw, extended });
  }
  // Extensions: lower-case signatures are required for correctness and cannot be dropped.
  const end = buf.length - 20;
  while (pos + 8 <= end) {
    const sig = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32BE(pos + 4);
    if (sig[0]! >= 'a' && sig[0]! <= 'z') {
      fail(`the index uses the "${sig}" extension (${sig === 'link' ? 'split index' : sig === 'sdir' ? 'sparse index' : 'unknown'}), which git-prolly does not support; run git update-index --no-split-index / git sparse-checkout disable`);
    }
    pos += 8 + size;
  }
  return { version, entries };
}

/**
 * Write the index atomically under git's `index.lock` protocol; EGITSTATE when another git process
 * holds the lock. Entries are sorted into git's order (path bytes, then stage).
 * @example writeIndex('/repo/.git', index)
 */
export function writeIndex(gitDir: string, index: GitIndexFile): void {
  replaceUnderGitLockSync({
    path: join(gitDir, 'index'),
    busy: (lock) =>
      new ProllyError(ErrorCodes.GIT_STATE, `${lock} exists: another git process seems to be running in this repository; if it crashed, remove the file and try again`, { path: lock }),
    content: () => encodeIndex(index),
  });
}

/**
 * Encode an index (no extensions) with its trailing checksum.
 * @example writeFileSync('index.copy', encodeIndex(readIndex('.git')));
 */
export function encodeIndex(index: GitIndexFile): Buffer {
  const entries = [...index.entries].sort(compareEntries);
  const needsExtended = entries.some((e) => e.extended !== 0);
  const version = index.version === 4 ? 4 : needsExtended ? 3 : index.version;
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  SIG.copy(header, 0);
  header.writeUInt32BE(version, 4);
  header.writeUInt32BE(entries.length, 8);
  parts.push(header);
  let prevPath = Buffer.alloc(0);
  for (const e of entries) {
    const path = Buffer.from(e.path, 'utf8');
    const fixed = Buffer.from(e.raw);
    fixed.write(e.oid, 40, 20, 'hex');
    fixed.writeUInt32BE(e.mode, 24);
    const flags = (e.extended ? 0x4000 : 0) | ((e.stage & 3) << 12) | Math.min(path.length, 0xfff) | (fixed.readUInt16BE(60) & 0x8000);
    fixed.writeUInt16BE(flags, 60);
    const ext = e.extended ? Buffer.from([e.extended >> 8, e.extended & 0xff]) : Buffer.alloc(0);
    if (version === 4) {
      let common = 0;
      while (common < prevPath.length && common < path.length && prevPath[common] === path[common]) common++;
      parts.push(fixed, ext, writeOffsetVarint(prevPath.length - common), path.subarray(common), Buffer.from([0]));
    } else {
      const len = 62 + ext.length + path.length;
      const padded = Math.ceil((len + 1) / 8) * 8;
      parts.push(fixed, ext, path, Buffer.alloc(padded - len));
    }
    prevPath = path;
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

/**
 * A stage-0 entry for a work-tree file, with stat data so git sees it as clean.
 * @example indexEntryFor({ path: '.prolly/datasets/users', oid, stat: statSync(file, { bigint: true }) })
 */
export function indexEntryFor(options: { path: string; oid: string; stat: BigIntStats }): IndexEntry {
  const { stat } = options;
  const raw = Buffer.alloc(62);
  const u32 = (v: bigint) => Number(BigInt.asUintN(32, v));
  raw.writeUInt32BE(u32(stat.ctimeNs / 1_000_000_000n), 0);
  raw.writeUInt32BE(u32(stat.ctimeNs % 1_000_000_000n), 4);
  raw.writeUInt32BE(u32(stat.mtimeNs / 1_000_000_000n), 8);
  raw.writeUInt32BE(u32(stat.mtimeNs % 1_000_000_000n), 12);
  raw.writeUInt32BE(u32(stat.dev), 16);
  raw.writeUInt32BE(u32(stat.ino), 20);
  const mode = (stat.mode & 0o111n) !== 0n ? 0o100755 : 0o100644;
  raw.writeUInt32BE(mode, 24);
  raw.writeUInt32BE(u32(stat.uid), 28);
  raw.writeUInt32BE(u32(stat.gid), 32);
  raw.writeUInt32BE(u32(stat.size), 36);
  return { path: options.path, stage: 0, oid: options.oid, mode, raw, extended: 0 };
}

/** git's index order: by path bytes, then stage. */
function compareEntries(a: IndexEntry, b: IndexEntry): number {
  const c = Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));
  return c !== 0 ? c : a.stage - b.stage;
}

/** The offset varint of index v4 (and pack ofs-deltas): each continuation adds one before shifting. */
function readOffsetVarint(buf: Buffer, pos: number): { value: number; next: number } {
  let c = buf[pos++]!;
  let value = c & 0x7f;
  while (c & 0x80) {
    c = buf[pos++]!;
    value = ((value + 1) << 7) | (c & 0x7f);
  }
  return { value, next: pos };
}

function writeOffsetVarint(value: number): Buffer {
  const bytes = [value & 0x7f];
  while ((value >>= 7)) bytes.unshift(0x80 | (--value & 0x7f));
  return Buffer.from(bytes);
}

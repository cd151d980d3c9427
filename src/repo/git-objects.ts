/**
 * A small, synchronous reader and writer of git's object database and refs: loose objects, pack
 * files (version 2 index, OFS/REF deltas), alternates, loose and packed refs. It covers what every
 * git-prolly command does on its hot path — read HEAD's commit and a few trees and blobs, write a few
 * blobs, trees and a commit — without loading isomorphic-git, whose import alone costs more than the
 * whole budget of `git prolly commit` (~150–300 ms here). isomorphic-git still does the rarer work
 * (merge bases, abbreviated ids, tree merges, config writes).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { deflateSync, inflateSync, constants as zlibConstants } from 'node:zlib';
import { ErrorCodes, ProllyError } from '../errors.js';

export type GitObjectType = 'commit' | 'tree' | 'blob' | 'tag';

/** An object's type and content. */
export interface GitObject {
  type: GitObjectType;
  data: Buffer;
}

const TYPES: Record<number, GitObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

/** One pack file and its index, opened on first use. */
class Pack {
  private fd: number | undefined;
  private idx: Buffer | undefined;
  private count = 0;
  private size = 0;

  constructor(
    readonly packPath: string,
    private readonly idxPath: string,
  ) {}

  private open(): Buffer {
    if (!this.idx) {
      const idx = readFileSync(this.idxPath);
      if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) {
        throw new ProllyError(ErrorCodes.GIT_STATE, `${this.idxPath}: unsupported pack index (only version 2 is read)`);
      }
      this.count = idx.readUInt32BE(8 + 255 * 4);
      this.idx = idx;
      this.fd = openSync(this.packPath, 'r');
      this.size = fstatSync(this.fd).size;
    }
    return this.idx;
  }

  /** Offset of `oid` in the pack, or undefined. */
  find(oid: Buffer): number | undefined {
    const idx = this.open();
    const first = oid[0]!;
    let lo = first === 0 ? 0 : idx.readUInt32BE(8 + (first - 1) * 4);
    let hi = idx.readUInt32BE(8 + first * 4);
    const names = 8 + 256 * 4;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = idx.compare(oid, 0, 20, names + mid * 20, names + mid * 20 + 20) * -1;
      if (c === 0) {
        const offsets = names + this.count * 24;
        const off = idx.readUInt32BE(offsets + mid * 4);
        if (off & 0x80000000) {
          const big = offsets + this.count * 4 + (off & 0x7fffffff) * 8;
          return idx.readUInt32BE(big) * 2 ** 32 + idx.readUInt32BE(big + 4);
        }
        return off;
      }
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return undefined;
  }

  /** Read the object at `offset`, resolving deltas (`byOid` resolves REF_DELTA bases). */
  read(offset: number, byOid: (oid: string) => GitObject | undefined, depth = 0): GitObject {
    if (depth > 64) throw new ProllyError(ErrorCodes.GIT_STATE, `${this.packPath}: delta chain too deep at offset ${offset}`);
    this.open();
    const head = Buffer.alloc(32);
    readSync(this.fd!, head, 0, Math.min(32, this.size - offset), offset);
    let p = 0;
    let c = head[p++]!;
    const type = (c >> 4) & 7;
    let size = c & 15;
    let shift = 4;
    while (c & 0x80) {
      c = head[p++]!;
      size += (c & 0x7f) * 2 ** shift;
      shift += 7;
    }
    let base: GitObject | undefined;
    if (type === OFS_DELTA) {
      c = head[p++]!;
      let rel = c & 0x7f;
      while (c & 0x80) {
        c = head[p++]!;
        rel = (rel + 1) * 128 + (c & 0x7f);
      }
      base = this.read(offset - rel, byOid, depth + 1);
    } else if (type === REF_DELTA) {
      const baseOid = head.toString('hex', p, p + 20);
      p += 20;
      base = byOid(baseOid);
      if (!base) throw new ProllyError(ErrorCodes.GIT_STATE, `${this.packPath}: delta base ${baseOid} is missing`);
    } else if (!TYPES[type]) {
      throw new ProllyError(ErrorCodes.GIT_STATE, `${this.packPath}: unknown object type ${type} at offset ${offset}`);
    }
    const data = this.inflateAt(offset + p, size);
    if (!base) return { type: TYPES[type]!, data };
    return { type: base.type, data: applyDelta(base.data, data, this.packPath) };
  }

  /** Inflate a zlib stream of `size` output bytes starting at `at` (its compressed length is unknown). */
  private inflateAt(at: number, size: number): Buffer {
    let want = Math.min(this.size - at, size + 64 + (size >> 6));
    for (;;) {
      const buf = Buffer.alloc(want);
      const n = readSync(this.fd!, buf, 0, want, at);
      try {
        const out = inflateSync(buf.subarray(0, n), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
        if (out.length >= size) return out.subarray(0, size);
      } catch {
        /* not enough input yet */
      }
      if (at + want >= this.size) throw new ProllyError(ErrorCodes.GIT_STATE, `${this.packPath}: cannot inflate the object at offset ${at}`);
      want = Math.min(this.size - at, want * 2);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Apply a git delta to `base`. */
function applyDelta(base: Buffer, delta: Buffer, where: string): Buffer {
  let p = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    let c;
    do {
      c = delta[p++]!;
      v += (c & 0x7f) * 2 ** shift;
      shift += 7;
    } while (c & 0x80);
    return v;
  };
  const baseSize = varint();
  if (baseSize !== base.length) throw new ProllyError(ErrorCodes.GIT_STATE, `${where}: delta base size mismatch`);
  const out = Buffer.alloc(varint());
  let o = 0;
  while (p < delta.length) {
    const op = delta[p++]!;
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) off += delta[p++]! * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) len += delta[p++]! << (8 * i);
      if (len === 0) len = 0x10000;
      base.copy(out, o, off, off + len);
      o += len;
    } else if (op > 0) {
      delta.copy(out, o, p, p + op);
      o += op;
      p += op;
    } else {
      throw new ProllyError(ErrorCodes.GIT_STATE, `${where}: bad delta opcode 0`);
    }
  }
  if (o !== out.length) throw new ProllyError(ErrorCodes.GIT_STATE, `${where}: delta result size mismatch`);
  return out;
}

/**
 * The object database of a repository (`<commonDir>/objects` plus alternates).
 * @example const db = new ObjectDb('/repo/.git/objects'); db.read(oid)?.type
 */
export class ObjectDb {
  readonly dirs: string[];
  private packs: Pack[] | undefined;
  private readonly cache = new Map<string, GitObject>();

  constructor(objectsDir: string) {
    this.dirs = [objectsDir, ...alternatesOf(objectsDir)];
  }

  private packList(): Pack[] {
    if (!this.packs) {
      this.packs = [];
      for (const dir of this.dirs) {
        const packDir = join(dir, 'pack');
        let names: string[] = [];
        try {
          names = readdirSync(packDir);
        } catch {
          /* no packs */
        }
        for (const n of names) if (n.endsWith('.idx')) this.packs.push(new Pack(join(packDir, n.slice(0, -4) + '.pack'), join(packDir, n)));
      }
    }
    return this.packs;
  }

  /** Read an object; undefined when no loose object or pack has it. */
  read(oid: string): GitObject | undefined {
    const cached = this.cache.get(oid);
    if (cached) return cached;
    let obj = this.readLoose(oid);
    if (!obj) {
      const bin = Buffer.from(oid, 'hex');
      for (const pack of this.packList()) {
        const off = pack.find(bin);
        if (off !== undefined) {
          obj = pack.read(off, (o) => this.read(o));
          break;
        }
      }
      if (!obj && this.packs) {
        // A pack written since we listed (e.g. by a concurrent git gc): look again once.
        for (const p of this.packs) p.close();
        this.packs = undefined;
        const bin2 = Buffer.from(oid, 'hex');
        for (const pack of this.packList()) {
          const off = pack.find(bin2);
          if (off !== undefined) {
            obj = pack.read(off, (o) => this.read(o));
            break;
          }
        }
      }
    }
    if (obj && obj.type !== 'blob') this.cache.set(oid, obj);
    return obj;
  }

  private readLoose(oid: string): GitObject | undefined {
    for (const dir of this.dirs) {
      let raw: Buffer;
      try {
        raw = readFileSync(join(dir, oid.slice(0, 2), oid.slice(2)));
      } catch {
        continue;
      }
      const buf = inflateSync(raw);
      const nul = buf.indexOf(0);
      const [type, size] = buf.toString('latin1', 0, nul).split(' ');
      if (!['commit', 'tree', 'blob', 'tag'].includes(type!) || Number(size) !== buf.length - nul - 1) {
        throw new ProllyError(ErrorCodes.GIT_STATE, `loose object ${oid} is corrupt`);
      }
      return { type: type as GitObjectType, data: buf.subarray(nul + 1) };
    }
    return undefined;
  }

  /** Whether an object exists. */
  has(oid: string): boolean {
    if (this.dirs.some((d) => existsSync(join(d, oid.slice(0, 2), oid.slice(2))))) return true;
    const bin = Buffer.from(oid, 'hex');
    return this.packList().some((p) => p.find(bin) !== undefined);
  }

  /** The id an object would have. */
  static hash(type: GitObjectType, data: Uint8Array): string {
    return createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');
  }

  /**
   * Write an object as a loose object (no-op when it exists); returns its id. The file is written
   * to a temp name and hard-linked into place, as git does, so readers never see a partial object.
   */
  write(type: GitObjectType, data: Uint8Array): string {
    const oid = ObjectDb.hash(type, data);
    if (this.has(oid)) return oid;
    const dir = join(this.dirs[0]!, oid.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `tmp_obj_${process.pid}_${Math.random().toString(36).slice(2)}`);
    writeFileSync(tmp, deflateSync(Buffer.concat([Buffer.from(`${type} ${data.length}\0`), data]), { level: 1 }), { mode: 0o444 });
    try {
      linkSync(tmp, join(dir, oid.slice(2)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
    return oid;
  }

  close(): void {
    for (const p of this.packs ?? []) p.close();
    this.packs = undefined;
  }
}

function alternatesOf(objectsDir: string): string[] {
  try {
    return readFileSync(join(objectsDir, 'info', 'alternates'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => (isAbsolute(l) ? l : resolve(objectsDir, l)));
  } catch {
    return [];
  }
}

// --------------------------------------------------------------------------------------- refs

/**
 * Resolve a full ref name (`HEAD`, `refs/heads/main`, …) through symbolic refs, loose files and
 * packed-refs. Undefined when it does not exist.
 * @example resolveFullRef({ gitDir, commonDir }, 'refs/heads/main')
 */
export function resolveFullRef(dirs: { gitDir: string; commonDir: string }, ref: string, depth = 0): string | undefined {
  if (depth > 5) return undefined;
  // Per-worktree refs (HEAD, MERGE_HEAD, …) live in gitDir; shared ones in commonDir.
  const perWorktree = !ref.startsWith('refs/') || ref.startsWith('refs/bisect/') || ref.startsWith('refs/worktree/');
  const file = join(perWorktree ? dirs.gitDir : dirs.commonDir, ref);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = undefined;
  }
  if (text !== undefined) {
    const line = text.split('\n')[0]!.trim();
    if (line.startsWith('ref: ')) return resolveFullRef(dirs, line.slice(5).trim(), depth + 1);
    if (/^[0-9a-f]{40}$/.test(line)) return line;
    return undefined;
  }
  return packedRefs(dirs.commonDir).get(ref);
}

/**
 * The packed-refs file as a map of ref → id.
 * @example packedRefs('.git').get('refs/heads/main')
 */
export function packedRefs(commonDir: string): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(join(commonDir, 'packed-refs'), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.startsWith('^') || line.length < 42) continue;
    out.set(line.slice(41).trim(), line.slice(0, 40));
  }
  return out;
}

/**
 * Resolve a short or full ref name the way git does (refs/, tags, heads, remotes, remote HEAD).
 * @example resolveRefName(dirs, 'main') // id of refs/heads/main
 */
export function resolveRefName(dirs: { gitDir: string; commonDir: string }, name: string): string | undefined {
  for (const candidate of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`]) {
    const oid = resolveFullRef(dirs, candidate);
    if (oid) return oid;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------ parsing

/** A tree entry. */
export interface RawTreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

/**
 * Parse a tree object's content.
 * @example parseTree(db.read(treeOid)!.data).map((e) => e.path)
 */
export function parseTree(data: Buffer): RawTreeEntry[] {
  const out: RawTreeEntry[] = [];
  let p = 0;
  while (p < data.length) {
    const sp = data.indexOf(0x20, p);
    const nul = data.indexOf(0, sp);
    const mode = data.toString('latin1', p, sp).padStart(6, '0');
    const path = data.toString('utf8', sp + 1, nul);
    const oid = data.toString('hex', nul + 1, nul + 21);
    out.push({ mode, path, oid, type: mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' });
    p = nul + 21;
  }
  return out;
}

/**
 * Encode tree entries (sorted by the caller in git order).
 * @example db.write('tree', encodeTree([{ mode: '100644', path: 'a.txt', oid: blob, type: 'blob' }]))
 */
export function encodeTree(entries: readonly RawTreeEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const mode = e.mode === '040000' ? '40000' : e.mode.replace(/^0+/, '');
    parts.push(Buffer.from(`${mode} ${e.path}\0`, 'utf8'), Buffer.from(e.oid, 'hex'));
  }
  return Buffer.concat(parts);
}

/** A person line's parts. */
export interface PersonLine {
  name: string;
  email: string;
  timestamp: number;
  /** Minutes west of UTC. */
  timezoneOffset: number;
}

function parsePerson(s: string): PersonLine {
  const m = /^(.*?) <(.*)> (\d+) ([+-])(\d\d)(\d\d)$/.exec(s);
  if (!m) return { name: s, email: '', timestamp: 0, timezoneOffset: 0 };
  const east = (Number(m[5]) * 60 + Number(m[6])) * (m[4] === '-' ? -1 : 1);
  return { name: m[1]!, email: m[2]!, timestamp: Number(m[3]), timezoneOffset: east === 0 ? 0 : -east };
}

/**
 * Parse a commit object's content.
 * @example parseCommit(db.read(head)!.data).parents
 */
export function parseCommit(data: Buffer): { tree: string; parents: string[]; author: PersonLine; committer: PersonLine; message: string } {
  const text = data.toString('utf8');
  const end = text.indexOf('\n\n');
  const headers = (end < 0 ? text : text.slice(0, end)).split('\n');
  const message = end < 0 ? '' : text.slice(end + 2);
  let tree = '';
  const parents: string[] = [];
  let author: PersonLine | undefined;
  let committer: PersonLine | undefined;
  for (const h of headers) {
    if (h.startsWith('tree ')) tree = h.slice(5);
    else if (h.startsWith('parent ')) parents.push(h.slice(7));
    else if (h.startsWith('author ')) author = parsePerson(h.slice(7));
    else if (h.startsWith('committer ')) committer = parsePerson(h.slice(10));
  }
  const none = { name: '', email: '', timestamp: 0, timezoneOffset: 0 };
  return { tree, parents, author: author ?? none, committer: committer ?? author ?? none, message };
}

/**
 * The object a tag points to.
 * @example parseTagTarget(db.read(tagOid)!.data) // the tagged commit
 */
export function parseTagTarget(data: Buffer): string | undefined {
  const m = /^object ([0-9a-f]{40})$/m.exec(data.toString('utf8'));
  return m?.[1];
}

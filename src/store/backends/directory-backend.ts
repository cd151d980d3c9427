/**
 * ObjectBackend over a local or shared (NFS, SMB) directory: one file per object name. Writes go to
 * a temp file in the target folder, are fsynced, then renamed (or hard-linked for putIfAbsent) into
 * place and the folder fsynced, so a reader never sees a half-written object and a crash never
 * leaves one behind under its real name.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, ProllyError } from '../../errors.js';
import {
  assertObjectName,
  assertRange,
  emptyBackendStats,
  type ByteRange,
  type ObjectBackend,
  type ObjectBackendStats,
  type ObjectInfo,
  type PutObjectOptions,
} from './object-backend.js';

/** Temp files carry `~`, which object names never contain, so list() can skip them. */
const TEMP_MARK = '.~tmp.';

export interface DirectoryBackendOptions {
  /** Root folder; created on first write. */
  root: string;
  /** fsync files and folders on write (default true; tests on tmpfs may turn it off). */
  fsync?: boolean;
}

/**
 * Objects as files under `root`. `retainUntil` is not enforceable on a plain directory and is ignored.
 *
 * @example
 * const backend = new DirectoryBackend({ root: '/mnt/share/prolly' });
 * await backend.put('packs/ab.pack', bytes);
 * await backend.get('packs/ab.pack', { start: 0, end: 16 });
 */
export class DirectoryBackend implements ObjectBackend {
  readonly name: string;
  readonly stats: ObjectBackendStats = emptyBackendStats();
  private readonly root: string;
  private readonly fsync: boolean;

  constructor(opts: DirectoryBackendOptions) {
    this.root = path.resolve(opts.root);
    this.fsync = opts.fsync ?? true;
    this.name = `dir:${this.root}`;
  }

  async put(name: string, bytes: Uint8Array, _opts: PutObjectOptions = {}): Promise<void> {
    const file = this.fileOf(name);
    this.stats.puts++;
    this.stats.bytesUp += bytes.length;
    const tmp = await this.writeTemp(name, file, bytes);
    try {
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw this.fail('write', name, e);
    }
    await this.syncDir(path.dirname(file), name);
  }

  async putIfAbsent(name: string, bytes: Uint8Array, _opts: PutObjectOptions = {}): Promise<boolean> {
    const file = this.fileOf(name);
    this.stats.puts++;
    this.stats.bytesUp += bytes.length;
    const tmp = await this.writeTemp(name, file, bytes);
    try {
      // link(2) fails with EEXIST instead of replacing: the atomic "create if absent".
      await fs.link(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.fail('write', name, e);
    } finally {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
    await this.syncDir(path.dirname(file), name);
    return true;
  }

  async get(name: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    const file = this.fileOf(name);
    if (range) assertRange(name, range);
    this.stats.gets++;
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.fail('read', name, e);
    }
    try {
      const size = (await handle.stat()).size;
      const start = range ? Math.min(range.start, size) : 0;
      const end = range ? Math.min(range.end, size) : size;
      const out = new Uint8Array(end - start);
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await handle.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      this.stats.bytesDown += done;
      return done === out.length ? out : out.subarray(0, done);
    } catch (e) {
      throw this.fail('read', name, e);
    } finally {
      await handle.close();
    }
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    const file = this.fileOf(name);
    this.stats.heads++;
    try {
      const st = await fs.stat(file);
      return { name, size: st.size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.fail('stat', name, e);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.stats.lists++;
    // Walk only the folder the prefix names, then filter by the rest of the prefix.
    const slash = prefix.lastIndexOf('/');
    const dirPart = slash >= 0 ? prefix.slice(0, slash) : '';
    if (dirPart) assertObjectName(dirPart);
    const start = path.join(this.root, ...dirPart.split('/').filter(Boolean));
    for await (const info of this.walk(start, dirPart)) {
      if (info.name.startsWith(prefix)) yield info;
    }
  }

  async delete(name: string): Promise<void> {
    const file = this.fileOf(name);
    this.stats.deletes++;
    try {
      await fs.rm(file, { force: true });
    } catch (e) {
      throw this.fail('delete', name, e);
    }
  }

  private async *walk(dir: string, rel: string): AsyncGenerator<ObjectInfo> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.fail('list', rel || '.', e);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of entries) {
      if (ent.name.includes(TEMP_MARK)) continue;
      const name = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) {
        yield* this.walk(path.join(dir, ent.name), name);
      } else if (ent.isFile()) {
        const st = await fs.stat(path.join(dir, ent.name)).catch(() => undefined);
        if (st) yield { name, size: st.size };
      }
    }
  }

  private fileOf(name: string): string {
    assertObjectName(name);
    return path.join(this.root, ...name.split('/'));
  }

  private async writeTemp(name: string, file: string, bytes: Uint8Array): Promise<string> {
    const tmp = `${file}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      const handle = await fs.open(tmp, 'wx');
      try {
        await handle.writeFile(bytes);
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      return tmp;
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw this.fail('write', name, e);
    }
  }

  private async syncDir(dir: string, name: string): Promise<void> {
    if (!this.fsync) return;
    try {
      const handle = await fs.open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (e) {
      // Some shared filesystems refuse fsync on a folder; the rename itself is still atomic.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw this.fail('sync', name, e);
    }
  }

  private fail(op: string, name: string, cause: unknown): ProllyError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ProllyError(
      ErrorCodes.BACKEND,
      `${this.name}: cannot ${op} ${name}: ${reason}`,
      { backend: this.name, object: name, op },
      { cause },
    );
  }
}

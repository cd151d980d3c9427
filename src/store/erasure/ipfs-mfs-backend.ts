/**
 * ObjectBackend over an IPFS node's Mutable File System (MFS, the `/api/v0/files/*` RPCs), so an
 * IPFS node can be a member of an erasure set (or hold packs) like a directory or a bucket. Objects
 * are files under `root` (default `/git-prolly`); MFS content is referenced from the node's MFS root,
 * which garbage collection keeps, so no pins are needed.
 *
 * CIDs: each object is imported as a UnixFS file with raw leaves and CIDv1, so its CID is the hash
 * of a UnixFS DAG over the stored bytes, not the SHA-256 of the bytes; integrity is checked one level
 * up (the erasure layer checks every block against the placement manifest). With client encryption
 * the stored bytes are shards of encrypted packs, so the node only ever sees ciphertext.
 *
 * Writes go to a temp file that is then moved into place; MFS has no atomic replace, so `put` over
 * an existing name removes it first (the erasure and pack layers only write fresh names).
 */
import { randomBytes } from 'node:crypto';
import type { KuboRPCClient } from 'kubo-rpc-client';
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
} from '../backends/object-backend.js';

/** The MFS RPCs used; a full KuboRPCClient satisfies it. */
export type MfsClient = Pick<KuboRPCClient, 'files' | 'getEndpointConfig'>;

export interface IpfsMfsBackendOptions {
  client: MfsClient;
  /** MFS folder holding the objects (default `/git-prolly`). */
  root?: string;
}

/**
 * @example
 * import { create } from 'kubo-rpc-client';
 * const backend = new IpfsMfsBackend({ client: create({ url: 'http://127.0.0.1:5001' }), root: '/prolly/team' });
 */
export class IpfsMfsBackend implements ObjectBackend {
  readonly name: string;
  readonly stats: ObjectBackendStats = emptyBackendStats();
  private readonly client: MfsClient;
  private readonly root: string;

  constructor(opts: IpfsMfsBackendOptions) {
    this.client = opts.client;
    this.root = `/${(opts.root ?? '/git-prolly').replace(/^\/+|\/+$/g, '')}`;
    const ep = this.client.getEndpointConfig();
    this.name = `ipfs-mfs:${ep.protocol}//${ep.host}${ep.port ? `:${ep.port}` : ''}${this.root}`;
  }

  async put(name: string, bytes: Uint8Array, _opts: PutObjectOptions = {}): Promise<void> {
    const path = this.pathOf(name);
    this.stats.puts++;
    this.stats.bytesUp += bytes.length;
    const tmp = `${path}.~tmp.${randomBytes(6).toString('hex')}`;
    await this.rpc('write', name, () =>
      this.client.files.write(tmp, bytes, { create: true, parents: true, truncate: true, rawLeaves: true, cidVersion: 1 }),
    );
    try {
      await this.client.files.rm(path).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      await this.client.files.mv(tmp, path);
    } catch (e) {
      await this.client.files.rm(tmp).catch(() => undefined);
      throw this.fail('write', name, e);
    }
  }

  async putIfAbsent(name: string, bytes: Uint8Array, opts: PutObjectOptions = {}): Promise<boolean> {
    // MFS has no create-if-absent; callers use it for content-addressed names, where a race writes the same bytes.
    if (await this.head(name)) return false;
    await this.put(name, bytes, opts);
    return true;
  }

  async get(name: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    const path = this.pathOf(name);
    if (range) assertRange(name, range);
    this.stats.gets++;
    const parts: Uint8Array[] = [];
    try {
      const opts = range ? { offset: range.start, length: range.end - range.start } : {};
      for await (const p of this.client.files.read(path, opts)) parts.push(p);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.fail('read', name, e);
    }
    const out = new Uint8Array(Buffer.concat(parts));
    this.stats.bytesDown += out.length;
    return out;
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(name);
    this.stats.heads++;
    try {
      const st = await this.client.files.stat(path);
      return st.type === 'file' ? { name, size: Number(st.size) } : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.fail('stat', name, e);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.stats.lists++;
    const slash = prefix.lastIndexOf('/');
    const dir = slash >= 0 ? prefix.slice(0, slash) : '';
    if (dir) assertObjectName(dir);
    const found: ObjectInfo[] = [];
    await this.walk(dir, found);
    found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const o of found) if (o.name.startsWith(prefix)) yield o;
  }

  async delete(name: string): Promise<void> {
    const path = this.pathOf(name);
    this.stats.deletes++;
    try {
      await this.client.files.rm(path);
    } catch (e) {
      if (!isNotFound(e)) throw this.fail('delete', name, e);
    }
  }

  private async walk(rel: string, out: ObjectInfo[]): Promise<void> {
    const path = rel ? `${this.root}/${rel}` : this.root;
    const entries: { name: string; type: string; size: number }[] = [];
    try {
      for await (const e of this.client.files.ls(path)) entries.push({ name: e.name, type: e.type, size: Number(e.size) });
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.fail('list', rel || '.', e);
    }
    for (const e of entries) {
      if (e.name.includes('.~tmp.')) continue;
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.type === 'directory') await this.walk(name, out);
      else out.push({ name, size: e.size });
    }
  }

  private pathOf(name: string): string {
    assertObjectName(name);
    return `${this.root}/${name}`;
  }

  private async rpc<T>(op: string, name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.fail(op, name, e);
    }
  }

  private fail(op: string, name: string, cause: unknown): ProllyError {
    return new ProllyError(ErrorCodes.BACKEND, `${this.name}: cannot ${op} ${name}: ${cause instanceof Error ? cause.message : String(cause)}`, { backend: this.name, object: name, op }, { cause });
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof Error && /does not exist|not found/i.test(e.message);
}

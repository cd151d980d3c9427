/**
 * Encrypted chunks on an IPFS block tier. IPFS names a block by the hash of its bytes, so under
 * encryption a block is the ciphertext and its CID is CIDv1(raw, sha2-256(ciphertext)) — unrelated to
 * the chunk's address, and not computable without the ciphertext. This store sits below
 * EncryptingStore (which hands it opaque names and ciphertext) and keeps the name → block digest map
 * in sealed index segments (`cidmap/<sha256>.seg`) on an ObjectBackend — the same node's MFS for a
 * self-contained IPFS remote. The node operator sees random blocks, pinned, and sealed index files;
 * only key holders can tell which block holds which chunk.
 *
 * Index segment plaintext: "PRLYCMAP" | count u32 | count × (name[32] | digest[32]), sorted by name.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { sha256 } from '../../util/hash.js';
import { mapLimit } from '../backends/concurrency.js';
import type { ObjectBackend } from '../backends/object-backend.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';

const MAGIC = 'PRLYCMAP';
const PREFIX = 'cidmap/';
const CONTEXT = 'cid map segment v1';

/** Seals index segments (the Keyring implements it). */
export interface IndexSealer {
  seal(plain: Uint8Array, context: string): Uint8Array;
  open(sealed: Uint8Array, context: string, source: string): Uint8Array;
}

export interface CidMapStoreOptions {
  /** Content-addressed block store (IpfsStore): address must equal SHA-256 of the bytes. */
  blocks: ChunkStore;
  /** Where index segments live (e.g. an IpfsMfsBackend on the same node). */
  index: ObjectBackend;
  sealer: IndexSealer;
  name?: string;
}

/**
 * @example
 * const store = new EncryptingStore({ keyring, inner: new CidMapStore({ blocks: new IpfsStore({ client }), index: new IpfsMfsBackend({ client }), sealer: keyring }) });
 */
export class CidMapStore implements ChunkStore {
  readonly name: string;
  readonly stats = { blocksPut: 0, segmentsWritten: 0, segmentsLoaded: 0 };
  private readonly blocks: ChunkStore;
  private readonly index: ObjectBackend;
  private readonly sealer: IndexSealer;
  private readonly map = new Map<string, Uint8Array>();
  private readonly loaded = new Set<string>();
  private pending = new Map<string, Uint8Array>();
  private loading: Promise<void> | undefined;

  constructor(opts: CidMapStoreOptions) {
    this.blocks = opts.blocks;
    this.index = opts.index;
    this.sealer = opts.sealer;
    this.name = opts.name ?? `${opts.blocks.name} (ciphertext blocks)`;
  }

  async get(name: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.getMany([name]))[0];
  }

  async getMany(names: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    await this.ensureIndex();
    if (names.some((n) => !this.digestOf(n))) await this.refresh();
    const digests = names.map((n) => this.digestOf(n));
    const known = digests.flatMap((d, i) => (d ? [i] : []));
    const got = await this.blocks.getMany(known.map((i) => digests[i]!));
    const out: (Uint8Array | undefined)[] = new Array(names.length).fill(undefined);
    known.forEach((i, j) => (out[i] = got[j]));
    return out;
  }

  async has(name: Uint8Array): Promise<boolean> {
    return (await this.hasMany([name]))[0]!;
  }

  async hasMany(names: readonly Uint8Array[]): Promise<boolean[]> {
    await this.ensureIndex();
    return names.map((n) => this.digestOf(n) !== undefined);
  }

  async put(chunk: Chunk): Promise<void> {
    await this.putMany([chunk]);
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    await this.ensureIndex();
    const fresh: Chunk[] = [];
    for (const c of chunks) {
      if (this.digestOf(c.address)) continue;
      const digest = sha256(c.bytes);
      this.pending.set(key(c.address), digest);
      fresh.push({ address: digest, bytes: c.bytes });
    }
    this.stats.blocksPut += fresh.length;
    await this.blocks.putMany(fresh);
  }

  /** Upload (and pin) the blocks, then write one sealed index segment for them. */
  async flush(): Promise<void> {
    await this.blocks.flush();
    if (this.pending.size === 0) return;
    const entries = [...this.pending.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const plain = Buffer.alloc(12 + entries.length * 64);
    plain.write(MAGIC, 0, 'latin1');
    plain.writeUInt32BE(entries.length, 8);
    entries.forEach(([name, digest], i) => {
      plain.write(name, 12 + i * 64, 'latin1');
      plain.set(digest, 12 + i * 64 + 32);
    });
    const sealed = this.sealer.seal(plain, CONTEXT);
    const object = `${PREFIX}${toHex(sha256(sealed))}.seg`;
    await this.index.put(object, sealed, { sha256: sha256(sealed) });
    this.stats.segmentsWritten++;
    this.loaded.add(object);
    for (const [name, digest] of entries) this.map.set(name, digest);
    this.pending = new Map();
  }

  async *list(): AsyncIterable<Uint8Array> {
    await this.ensureIndex();
    await this.refresh();
    for (const name of new Set([...this.map.keys(), ...this.pending.keys()])) yield Uint8Array.from(Buffer.from(name, 'latin1'));
  }

  async close(): Promise<void> {
    await this.flush();
    await this.blocks.close();
  }

  /** Block digest (the CID's multihash digest) of a stored name, or undefined. */
  digestOf(name: Uint8Array): Uint8Array | undefined {
    const k = key(name);
    return this.pending.get(k) ?? this.map.get(k);
  }

  private ensureIndex(): Promise<void> {
    this.loading ??= this.refresh().catch((e: unknown) => {
      this.loading = undefined;
      throw e;
    });
    return this.loading;
  }

  private async refresh(): Promise<void> {
    const names: string[] = [];
    for await (const o of this.index.list(PREFIX)) if (!this.loaded.has(o.name)) names.push(o.name);
    await mapLimit(names, 4, async (object) => {
      const sealed = await this.index.get(object);
      if (!sealed) return;
      if (`${PREFIX}${toHex(sha256(sealed))}.seg` !== object) {
        throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${this.index.name}/${object} does not hash to its name`, { object });
      }
      const plain = Buffer.from(this.sealer.open(sealed, CONTEXT, `${this.index.name}/${object}`));
      if (plain.toString('latin1', 0, 8) !== MAGIC || plain.length !== 12 + plain.readUInt32BE(8) * 64) {
        throw new ProllyError(ErrorCodes.BAD_ENCODING, `${this.index.name}/${object} is not a CID map segment`, { object });
      }
      const n = plain.readUInt32BE(8);
      for (let i = 0; i < n; i++) {
        const o = 12 + i * 64;
        this.map.set(plain.toString('latin1', o, o + 32), Uint8Array.from(plain.subarray(o + 32, o + 64)));
      }
      this.loaded.add(object);
      this.stats.segmentsLoaded++;
    });
  }
}

function key(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

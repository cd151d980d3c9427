/**
 * A ChunkStore over an ObjectBackend (S3, shared directory) that stores chunks in packs of several
 * MB instead of one object per chunk, so pushing N bytes costs about N / packSize PUTs and a cold
 * read of one chunk costs one ranged GET once the manifest is known.
 *
 * Write path: putMany copies each chunk once, into the pack being built (PackBuilder); each time
 * the pack reaches the target size it is sealed (its blocks compressed, when `blocks` is set) and
 * uploaded in the background while the next one fills; flush() seals the rest, waits for the
 * uploads, then writes one immutable manifest segment listing the new packs and their indexes.
 * Read path: the first read lists and fetches the manifest segments (cached in memory, and on disk
 * when `cacheDir` is set); then each chunk is one ranged GET (of the chunk, or of the compressed
 * block holding it), and chunks asked for together that sit near each other in a pack share one
 * ranged GET. Every chunk read is checked against the SHA-256 stored for it in the index.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { equalBytes, toHex } from '../../util/bytes.js';
import { ADDRESS_BYTES, sha256 } from '../../util/hash.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';
import type { ObjectBackend } from '../backends/object-backend.js';
import { AddressMap } from './address-map.js';
import {
  MANIFEST_PREFIX,
  ManifestSegment,
  segmentHashOfName,
  segmentObjectName,
  type ChunkLocation,
  type PackInfo,
} from './manifest.js';
import { PackBuilder, decodeBlock, packObjectName, type BuiltPack, type PackBlockOptions } from './pack-format.js';
import { mapLimit } from '../backends/concurrency.js';

const MiB = 1024 * 1024;

export interface PackStoreOptions {
  backend: ObjectBackend;
  /** Seal a pack once its chunk data reaches this many bytes (default 8 MiB). */
  targetPackBytes?: number;
  /** Packs uploading at once; also bounds buffered memory to about (this + 1) × targetPackBytes (default 2). */
  uploadConcurrency?: number;
  /** Ranged GETs in flight at once during getMany (default 4). */
  readConcurrency?: number;
  /** Folder for fetched manifest segments (immutable, so a cached copy never goes stale). */
  cacheDir?: string;
  /** Two chunks of one pack whose gap is at most this many bytes share one ranged GET (default 64 KiB). */
  coalesceGapBytes?: number;
  /** Upper bound on one coalesced ranged GET (default 16 MiB). */
  maxRangeBytes?: number;
  /** After a flush, merge the manifest into one segment once it has this many (default 32; 0 = never). */
  compactAfterSegments?: number;
  /** Ask the backend to retain packs and segments (S3 Object Lock) for this many days. */
  retainForDays?: number;
  /** On a read miss, re-list the manifest (to see other writers' pushes) at most this often (default 0: on every getMany with a miss; one LIST). */
  refreshIntervalMs?: number;
  /**
   * Compress chunks in zstd blocks of about `blockBytes` (pack version 2) instead of storing them
   * as they are. Off by default: layers that compress or encrypt each chunk above gain nothing.
   */
  blocks?: PackBlockOptions;
  /**
   * Build new packs in the buffers of uploaded ones. Only for backends that keep no reference to
   * the bytes given to `put` once it resolves (DirectoryBackend, S3Backend): it saves the page
   * faults and GC work of a fresh multi-MB buffer per pack.
   */
  reuseBuffers?: boolean;
}

/** Counters for tests and benchmarks. */
export interface PackStoreStats {
  packsWritten: number;
  /** Packs found already uploaded (same content, e.g. a re-run after a failed push) and not sent again. */
  packsReused: number;
  segmentsWritten: number;
  segmentsFetched: number;
  rangedGets: number;
  bytesFetched: number;
  manifestRefreshes: number;
  compactions: number;
}

/** A pack being built, or sealed and not yet listed in a segment of this store. */
interface PackSlot {
  seq: number;
  builder: PackBuilder;
  /** Seal (block compression) and hash, started when the pack is sealed. */
  sealing: Promise<void> | undefined;
  built: BuiltPack | undefined;
  info: PackInfo | undefined;
  name: string | undefined;
  uploaded: boolean;
  upload: Promise<void> | undefined;
  error: unknown;
}

/** A chunk to fetch and every position in the caller's array that asked for it. */
interface Wanted {
  loc: ChunkLocation;
  indices: number[];
}

/**
 * ChunkStore of packs over an ObjectBackend.
 *
 * @example
 * const store = new PackStore({ backend: new S3Backend({ client: createS3Client(), bucket: 'data', prefix: 'prolly' }) });
 * await store.putMany(chunks);
 * await store.flush();          // packs + one manifest segment uploaded
 * await store.getMany(addresses); // one ranged GET per run of neighbouring chunks
 */
export class PackStore implements ChunkStore {
  readonly name: string;
  readonly backend: ObjectBackend;
  readonly stats: PackStoreStats = {
    packsWritten: 0,
    packsReused: 0,
    segmentsWritten: 0,
    segmentsFetched: 0,
    rangedGets: 0,
    bytesFetched: 0,
    manifestRefreshes: 0,
    compactions: 0,
  };
  private readonly targetPackBytes: number;
  private readonly uploadConcurrency: number;
  private readonly readConcurrency: number;
  private readonly cacheDir: string | undefined;
  private readonly coalesceGapBytes: number;
  private readonly maxRangeBytes: number;
  private readonly compactAfterSegments: number;
  private readonly retainForDays: number | undefined;
  private readonly refreshIntervalMs: number;
  private readonly blocks: PackBlockOptions | undefined;
  private readonly reuseBuffers: boolean;
  /** Buffers of uploaded packs, for the next ones (with reuseBuffers). */
  private spare: Uint8Array[] = [];

  /** Union of every manifest segment loaded or written. */
  private base = ManifestSegment.empty();
  private readonly loadedSegments = new Set<string>();
  private manifestLoad: Promise<void> | undefined;
  private lastRefresh = 0;
  /** Segments listed at the last refresh (for the compaction trigger). */
  private listedSegments = 0;

  /** The pack being filled. */
  private current: PackSlot | undefined;
  /** Sealed packs not yet listed in a segment, in sealing order. */
  private sealed: PackSlot[] = [];
  /** `current` and `sealed` by sequence number. */
  private readonly slots = new Map<number, PackSlot>();
  private nextSeq = 0;
  /** Every chunk in `slots`: address → (slot seq, chunk number in its builder). */
  private pending = new AddressMap();
  /** putMany and flush run one after another, so packs are sealed in a deterministic order. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(opts: PackStoreOptions) {
    this.backend = opts.backend;
    this.name = `pack:${opts.backend.name}`;
    this.targetPackBytes = opts.targetPackBytes ?? 8 * MiB;
    this.uploadConcurrency = Math.max(1, opts.uploadConcurrency ?? 2);
    this.readConcurrency = Math.max(1, opts.readConcurrency ?? 4);
    this.cacheDir = opts.cacheDir;
    this.coalesceGapBytes = opts.coalesceGapBytes ?? 64 * 1024;
    this.maxRangeBytes = opts.maxRangeBytes ?? 16 * MiB;
    this.compactAfterSegments = opts.compactAfterSegments ?? 32;
    this.retainForDays = opts.retainForDays;
    this.refreshIntervalMs = opts.refreshIntervalMs ?? 0;
    this.blocks = opts.blocks;
    this.reuseBuffers = opts.reuseBuffers ?? false;
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.getMany([address]))[0];
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.check();
    await this.ensureManifest();
    const out: (Uint8Array | undefined)[] = new Array(addresses.length).fill(undefined);
    const wanted = new Map<string, Wanted>();
    const misses: number[] = [];
    const resolve = (i: number): boolean => {
      const address = addresses[i]!;
      let loc: ChunkLocation | undefined;
      const e = this.pending.find(address);
      if (e >= 0) {
        const slot = this.slots.get(this.pending.first(e))!;
        const k = this.pending.second(e);
        if (!slot.uploaded) {
          out[i] = Uint8Array.from(slot.builder.chunk(k));
          return true;
        }
        loc = { address: Uint8Array.from(address), ...slot.builder.location(k), pack: slot.info! };
      } else {
        loc = this.base.find(address);
      }
      if (!loc) return false;
      const key = keyOf(address);
      const w = wanted.get(key);
      if (w) w.indices.push(i);
      else wanted.set(key, { loc, indices: [i] });
      return true;
    };
    for (let i = 0; i < addresses.length; i++) if (!resolve(i)) misses.push(i);
    if (misses.length > 0 && Date.now() - this.lastRefresh >= this.refreshIntervalMs) {
      // Another writer may have pushed since the manifest was read.
      await this.refreshManifest();
      for (const i of misses) resolve(i);
    }
    await this.fetchChunks([...wanted.values()], out);
    return out;
  }

  async has(address: Uint8Array): Promise<boolean> {
    return (await this.hasMany([address]))[0]!;
  }

  /**
   * Answers from the manifest and this store's unflushed packs — no request per chunk. The
   * manifest is read once; call `refresh()` to see chunks other writers pushed since.
   */
  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    this.check();
    await this.ensureManifest();
    return addresses.map((a) => this.knows(a));
  }

  async put(chunk: Chunk): Promise<void> {
    await this.putMany([chunk]);
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    this.check();
    await this.ensureManifest();
    for (const c of chunks) {
      if (c.address.length !== ADDRESS_BYTES) {
        throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `chunk address must be ${ADDRESS_BYTES} bytes, got ${c.address.length}`, {});
      }
    }
    await this.serially(() => this.putNow(chunks));
  }

  /**
   * Seal the pack being filled, upload every pack not yet uploaded, then write one manifest
   * segment listing them. A failed upload leaves its pack queued: calling flush again uploads only
   * the packs still missing.
   */
  async flush(): Promise<void> {
    this.check();
    await this.serially(() => this.flushNow());
  }

  async *list(): AsyncIterable<Uint8Array> {
    this.check();
    await this.ensureManifest();
    const base = this.base;
    yield* base.addresses();
    const pending: Uint8Array[] = [];
    for (let e = 0; e < this.pending.size; e++) {
      const address = this.pending.addressAt(e);
      if (!base.has(address)) pending.push(Uint8Array.from(address));
    }
    yield* pending;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
  }

  /**
   * Where a stored chunk lives (pack; the byte range to fetch, which is the chunk itself or the
   * compressed block holding it, with `within` then giving its place in the block; stored SHA-256):
   * what `verify --remote` checks without downloading the chunk. Undefined for absent or not yet
   * uploaded chunks.
   * @example const loc = await store.locate(address); loc?.pack.hash
   */
  async locate(address: Uint8Array): Promise<ChunkLocation | undefined> {
    this.check();
    await this.ensureManifest();
    const e = this.pending.find(address);
    if (e >= 0) {
      const slot = this.slots.get(this.pending.first(e))!;
      if (slot.uploaded) return { address: Uint8Array.from(address), ...slot.builder.location(this.pending.second(e)), pack: slot.info! };
    }
    return this.base.find(address);
  }

  /** Re-read the manifest, fetching only segments not seen yet. */
  async refresh(): Promise<void> {
    this.check();
    await this.ensureManifest();
    await this.refreshManifest();
  }

  /** Packs named in the manifest (for gc and verify). */
  async packs(): Promise<readonly PackInfo[]> {
    this.check();
    await this.ensureManifest();
    return this.base.packs;
  }

  /**
   * Merge every listed manifest segment into one and delete the parts. Safe with concurrent
   * writers: the union is written before any part is deleted, and only parts it contains are
   * deleted, so the union of what is listed never loses an entry. Deletes refused by the server
   * (e.g. Object Lock) are ignored. Returns the number of segments merged.
   */
  async compactManifest(): Promise<number> {
    this.check();
    const names = await this.listSegmentNames();
    if (names.length <= 1) return names.length;
    const segments: ManifestSegment[] = [];
    const merged: string[] = [];
    for (const name of names) {
      const seg = await this.fetchSegment(name);
      if (!seg) continue; // deleted by another compactor since the list: its union is listed too
      segments.push(seg);
      merged.push(name);
    }
    const union = mergeAll(segments);
    const unionName = segmentObjectName(union.hash());
    await this.backend.put(unionName, union.encode(), { sha256: union.hash(), ...this.retention() });
    await this.cacheSegment(unionName, union.encode());
    this.stats.segmentsWritten++;
    for (const name of merged) {
      if (name === unionName) continue;
      await this.backend.delete(name).catch(() => undefined);
    }
    this.loadedSegments.add(unionName);
    this.stats.compactions++;
    return merged.length;
  }

  private knows(address: Uint8Array): boolean {
    return this.pending.has(address) || this.base.has(address);
  }

  /** Run `fn` after every putMany and flush called before it has finished. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async putNow(chunks: readonly Chunk[]): Promise<void> {
    for (const c of chunks) {
      if (this.knows(c.address)) continue;
      const slot = (this.current ??= this.newSlot());
      const k = slot.builder.count;
      const wait = slot.builder.add(c.address, c.bytes);
      this.pending.set(c.address, slot.seq, k);
      if (wait) await wait;
      if (slot.builder.storedEstimate >= this.targetPackBytes) {
        this.seal(slot);
        await this.startUploads();
      }
    }
  }

  private newSlot(): PackSlot {
    const slot: PackSlot = {
      seq: this.nextSeq++,
      // Room for a full pack up front: growing an 8 MiB buffer would copy it.
      builder: new PackBuilder({ blocks: this.blocks, initialBytes: this.targetPackBytes + (this.targetPackBytes >> 4), buffer: this.spare.pop() }),
      sealing: undefined,
      built: undefined,
      info: undefined,
      name: undefined,
      uploaded: false,
      upload: undefined,
      error: undefined,
    };
    this.slots.set(slot.seq, slot);
    return slot;
  }

  /** Seal `slot` (the current pack) and start finishing it: block compression, then its hash. */
  private seal(slot: PackSlot): void {
    if (this.current === slot) this.current = undefined;
    this.sealed.push(slot);
    slot.sealing = (async () => {
      const built = await slot.builder.seal();
      // Hashing 8 MiB takes a few ms; WebCrypto runs it on the thread pool, off the push's path.
      const hash = new Uint8Array(await webcrypto.subtle.digest('SHA-256', built.bytes));
      slot.built = built;
      slot.info = { hash, size: built.bytes.length, indexOffset: built.indexOffset, chunkCount: built.entryCount };
      slot.name = packObjectName(hash);
    })();
    // Failures surface through the upload that awaits this.
    slot.sealing.catch(() => undefined);
  }

  /**
   * Start uploads up to the concurrency limit (retrying packs whose upload failed before), and
   * wait while more sealed packs than that hold memory. Throws the first upload failure, so a
   * caller pushing into a dead backend stops instead of buffering without bound.
   */
  private async startUploads(): Promise<void> {
    for (;;) {
      const notDone = this.sealed.filter((p) => !p.uploaded);
      const running = notDone.filter((p) => p.upload).length;
      for (const p of notDone.filter((q) => !q.upload).slice(0, Math.max(0, this.uploadConcurrency - running))) this.beginUpload(p);
      if (notDone.length <= this.uploadConcurrency) return;
      await Promise.race(notDone.filter((p) => p.upload).map((p) => p.upload));
      const failed = this.sealed.find((p) => p.error !== undefined && !p.upload);
      if (failed) throw failed.error;
    }
  }

  private beginUpload(p: PackSlot): Promise<void> {
    if (p.upload) return p.upload;
    p.error = undefined;
    p.upload = this.uploadPack(p).then(
      () => {
        p.uploaded = true;
        p.upload = undefined;
        // Reads of its chunks now go to the backend; the index stays for the manifest segment.
        p.built = p.built && { ...p.built, bytes: new Uint8Array(0) };
        const buffer = p.builder.release();
        if (this.reuseBuffers && this.spare.length < 2) this.spare.push(buffer);
      },
      (e: unknown) => {
        p.error = e;
        p.upload = undefined;
      },
    );
    return p.upload;
  }

  private async uploadPack(p: PackSlot): Promise<void> {
    await p.sealing;
    const bytes = p.built!.bytes;
    const name = p.name!;
    // Packs are named by content, so one already there with the right size is this very pack
    // (a re-run after a push that failed before writing its manifest segment).
    const existing = await this.backend.head(name);
    if (existing && existing.size === bytes.length) {
      this.stats.packsReused++;
      return;
    }
    await this.backend.put(name, bytes, { sha256: p.info!.hash, contentType: 'application/octet-stream', ...this.retention() });
    this.stats.packsWritten++;
  }

  private async flushNow(): Promise<void> {
    this.check();
    await this.ensureManifest();
    if (this.current) {
      if (this.current.builder.count > 0) this.seal(this.current);
      else {
        this.slots.delete(this.current.seq);
        this.current = undefined;
      }
    }
    const batch = [...this.sealed];
    if (batch.length === 0) return;
    const uploads = mapLimit(batch, this.uploadConcurrency, async (p) => {
      if (!p.uploaded) await this.beginUpload(p);
    });
    // Build the segment while the last packs upload (it needs only their indexes and hashes).
    const segment = Promise.all(batch.map((p) => p.sealing)).then(() =>
      ManifestSegment.fromIndexes(batch.map((p) => ({ info: p.info!, index: p.built!.index, version: p.built!.version }))),
    );
    segment.catch(() => undefined);
    await uploads;
    const failed = batch.find((p) => !p.uploaded);
    if (failed) throw failed.error ?? new ProllyError(ErrorCodes.BACKEND, `${this.name}: upload of ${failed.name ?? 'a pack'} did not finish`, {});
    const seg = await segment;
    const hash = seg.hash();
    const name = segmentObjectName(hash);
    // The local cache copy is written alongside the upload: it is only ever read for segments
    // listed on the backend, so a failed upload leaves nothing wrong behind.
    await Promise.all([this.backend.put(name, seg.encode(), { sha256: hash, ...this.retention() }), this.cacheSegment(name, seg.encode())]);
    this.stats.segmentsWritten++;
    this.loadedSegments.add(name);
    this.listedSegments++;
    this.base = ManifestSegment.merge(this.base, seg);
    const done = new Set(batch);
    this.sealed = this.sealed.filter((p) => !done.has(p));
    for (const p of batch) this.slots.delete(p.seq);
    this.rebuildPending();
    if (this.compactAfterSegments > 0 && this.listedSegments >= this.compactAfterSegments) {
      // Compaction only saves future readers requests; a failure here loses nothing.
      await this.compactManifest()
        .then(() => (this.listedSegments = 1))
        .catch(() => undefined);
    }
  }

  /** Drop flushed chunks from `pending` (those now in `base`). */
  private rebuildPending(): void {
    if (this.slots.size === 0) {
      this.pending.clear();
      return;
    }
    const next = new AddressMap();
    for (const slot of this.slots.values()) {
      for (let k = 0; k < slot.builder.count; k++) next.set(slot.builder.address(k), slot.seq, k);
    }
    this.pending = next;
  }

  private ensureManifest(): Promise<void> {
    if (!this.manifestLoad) {
      this.manifestLoad = this.refreshManifest().catch((e: unknown) => {
        this.manifestLoad = undefined; // let the next call try again
        throw e;
      });
    }
    return this.manifestLoad;
  }

  private async refreshManifest(): Promise<void> {
    this.stats.manifestRefreshes++;
    this.lastRefresh = Date.now();
    for (let attempt = 0; attempt < 3; attempt++) {
      const names = await this.listSegmentNames();
      this.listedSegments = names.length;
      const fresh = names.filter((n) => !this.loadedSegments.has(n));
      let vanished = false;
      const segments = await mapLimit(fresh, 4, async (name) => {
        const seg = await this.fetchSegment(name);
        if (!seg) vanished = true;
        return seg ? { name, seg } : undefined;
      });
      const found = segments.filter((s): s is { name: string; seg: ManifestSegment } => s !== undefined);
      this.base = mergeAll([this.base, ...found.map((s) => s.seg)]);
      for (const s of found) this.loadedSegments.add(s.name);
      // A segment deleted between LIST and GET was compacted into another one: list again.
      if (!vanished) return;
    }
  }

  private async listSegmentNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const info of this.backend.list(MANIFEST_PREFIX)) {
      if (segmentHashOfName(info.name)) names.push(info.name);
    }
    return names.sort();
  }

  /** A segment from the cache dir or the backend, checked against the hash in its name. */
  private async fetchSegment(name: string): Promise<ManifestSegment | undefined> {
    const hash = segmentHashOfName(name)!;
    const cached = await this.readCachedSegment(hash);
    if (cached) return ManifestSegment.decode(cached, name);
    const bytes = await this.backend.get(name);
    if (!bytes) return undefined;
    this.stats.segmentsFetched++;
    if (toHex(sha256(bytes)) !== hash) {
      throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${this.backend.name}: manifest segment ${name} does not hash to its name`, {
        backend: this.backend.name,
        object: name,
      });
    }
    const seg = ManifestSegment.decode(bytes, `${this.backend.name}/${name}`);
    await this.cacheSegment(name, bytes);
    return seg;
  }

  private async readCachedSegment(hash: string): Promise<Uint8Array | undefined> {
    if (!this.cacheDir) return undefined;
    const file = path.join(this.cacheDir, `${hash}.seg`);
    try {
      const bytes = new Uint8Array(await fs.readFile(file));
      if (toHex(sha256(bytes)) === hash) return bytes;
      await fs.rm(file, { force: true }); // damaged cache entry: fetch it again
    } catch {
      // not cached
    }
    return undefined;
  }

  private async cacheSegment(name: string, bytes: Uint8Array): Promise<void> {
    if (!this.cacheDir) return;
    const hash = segmentHashOfName(name)!;
    const file = path.join(this.cacheDir, `${hash}.seg`);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.mkdir(this.cacheDir, { recursive: true });
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file);
    } catch {
      // The cache is an optimisation; a read-only or full disk must not fail the store.
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /** Fetch chunks with one ranged GET per run of neighbouring chunks in a pack, and verify each. */
  private async fetchChunks(wanted: Wanted[], out: (Uint8Array | undefined)[]): Promise<void> {
    if (wanted.length === 0) return;
    const byPack = new Map<string, Wanted[]>();
    for (const w of wanted) {
      const k = toHex(w.loc.pack.hash);
      const list = byPack.get(k);
      if (list) list.push(w);
      else byPack.set(k, [w]);
    }
    const ranges: { pack: PackInfo; start: number; end: number; items: Wanted[] }[] = [];
    for (const list of byPack.values()) {
      list.sort((a, b) => a.loc.offset - b.loc.offset);
      let cur: (typeof ranges)[number] | undefined;
      for (const w of list) {
        const end = w.loc.offset + w.loc.length;
        if (cur && w.loc.offset - cur.end <= this.coalesceGapBytes && end - cur.start <= this.maxRangeBytes) {
          cur.end = Math.max(cur.end, end);
          cur.items.push(w);
        } else {
          cur = { pack: w.loc.pack, start: w.loc.offset, end, items: [w] };
          ranges.push(cur);
        }
      }
    }
    await mapLimit(ranges, this.readConcurrency, async (r) => {
      const name = packObjectName(r.pack.hash);
      // A zero-length range is not expressible in HTTP; empty chunks need no request.
      const bytes = r.end > r.start ? await this.backend.get(name, { start: r.start, end: r.end }) : new Uint8Array(0);
      if (r.end > r.start) this.stats.rangedGets++;
      if (!bytes) {
        throw new ProllyError(
          ErrorCodes.CHUNK_MISSING,
          `${this.backend.name}: pack ${name} listed in the manifest is missing (needed for chunk ${toHex(r.items[0]!.loc.address)})`,
          { backend: this.backend.name, object: name, address: toHex(r.items[0]!.loc.address) },
        );
      }
      this.stats.bytesFetched += bytes.length;
      const blocks = new Map<number, Promise<Uint8Array>>();
      for (const w of r.items) {
        const from = w.loc.offset - r.start;
        let chunk: Uint8Array;
        const expected = w.loc.within ? w.loc.within.length : w.loc.length;
        if (w.loc.within) {
          let decoded = blocks.get(w.loc.offset);
          if (!decoded) {
            decoded = decodeBlock(bytes.subarray(from, from + w.loc.length), `${this.backend.name}: pack ${name} block at ${w.loc.offset}`);
            blocks.set(w.loc.offset, decoded);
          }
          let block: Uint8Array;
          try {
            block = await decoded;
          } catch (err) {
            throw this.corrupt(w, name, `its block does not decode (${(err as Error).message})`);
          }
          chunk = block.slice(w.loc.within.offset, w.loc.within.offset + w.loc.within.length);
        } else {
          chunk = r.items.length === 1 && bytes.length === w.loc.length ? bytes : bytes.slice(from, from + w.loc.length);
        }
        if (chunk.length !== expected || !equalBytes(sha256(chunk), w.loc.checksum)) {
          throw this.corrupt(w, name, 'does not match its stored checksum');
        }
        for (const i of w.indices) out[i] = w.indices.length > 1 ? Uint8Array.from(chunk) : chunk;
      }
    });
  }

  private corrupt(w: Wanted, name: string, why: string): ProllyError {
    const where = w.loc.within ? `in the block at offset ${w.loc.offset}` : `at offset ${w.loc.offset}`;
    return new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${this.backend.name}: chunk ${toHex(w.loc.address)} in pack ${name} ${where} ${why}`, {
      backend: this.backend.name,
      object: name,
      address: toHex(w.loc.address),
      offset: w.loc.offset,
    });
  }

  private retention(): { retainUntil?: Date } {
    return this.retainForDays ? { retainUntil: new Date(Date.now() + this.retainForDays * 86_400_000) } : {};
  }

  private check(): void {
    if (this.closed) throw new ProllyError(ErrorCodes.CLOSED, `${this.name} store is closed`, { store: this.name });
  }
}

/** Map key for an address: its bytes as a latin1 string (compact, no hex doubling). */
function keyOf(address: Uint8Array): string {
  return Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString('latin1');
}

/** Merge many segments pairwise (balanced), so n segments cost O(total × log n). */
function mergeAll(segments: ManifestSegment[]): ManifestSegment {
  let level = segments.length > 0 ? segments : [ManifestSegment.empty()];
  while (level.length > 1) {
    const next: ManifestSegment[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? ManifestSegment.merge(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/**
 * The local chunk store: append-only pack files with sorted index files, in one directory
 * (normally `.git/prolly/store/`). Byte layout and recovery rules: docs/FORMAT.md, "Stored chunk
 * encoding and the local store".
 *
 * - One writer at a time (LOCK file naming its pid); any number of readers, in any process, without
 *   a lock. Readers see every chunk the writer has written to the file (certainly every flushed one):
 *   on a miss they look for new packs and new records before answering "absent".
 * - The writer appends CRC-protected records to the active pack, buffering ~1 MiB between write
 *   syscalls; `flush()` writes the buffer and fdatasyncs. A pack that reaches `packSizeLimit` is
 *   sealed: fsync, then its sorted index is written atomically beside it.
 * - The active pack also gets a checkpoint index (same format, "not sealed") on close and every
 *   `checkpointBytes`, so opening reads an index instead of scanning the pack. Records after the
 *   checkpoint are found by scanning, which also finds a torn tail left by a crash: the writer
 *   truncates it away; readers just stop there.
 * - Index lookups are positional reads of one fan-out bucket, so a point read in a fresh process
 *   is a few small preads, and opening never parses every entry.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { fsyncDirSync, tempPathFor, writeFileAtomicSync, TEMP_MARKER } from '../util/atomic-file.js';
import { toHex } from '../util/bytes.js';
import { ADDRESS_BYTES } from '../util/hash.js';
import type { Chunk, ChunkStore } from './chunk-store.js';
import { CachingStore } from './caching-store.js';
import { CompressingStore } from './compressing-store.js';
import { FileLock } from './file-lock.js';
import {
  MAX_RECORD_PAYLOAD,
  PACK_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  RECORD_OVERHEAD,
  addressKey,
  checkPackHeader,
  encodeIndex,
  encodePackHeader,
  scanRecords,
  writeRecord,
  type ChunkLocation,
  type IndexEntry,
} from './local/pack-format.js';
import { IndexCorruptError, PackIndex, readFully } from './local/pack-index.js';
import { VerifyingStore } from './verifying-store.js';

const fdatasyncAsync = promisify(fdatasync);

/** Options for {@link LocalStore.open}. */
export interface LocalStoreOptions {
  /** Store directory; created (with parents) by a writer. */
  dir: string;
  /** Open without the writer lock: reads only, any number of processes at once (default false). */
  readOnly?: boolean;
  /** Start a new pack once the active one would pass this many bytes (default 64 MiB). */
  packSizeLimit?: number;
  /** Wait up to this long for another writer to release the lock (default 0: fail at once with ELOCKED). */
  lockTimeoutMs?: number;
  /** Bytes buffered in memory between write syscalls (default 1 MiB). */
  writeBufferBytes?: number;
  /** flush() rewrites the active pack's checkpoint index once this many bytes are not covered by it (default 8 MiB). */
  checkpointBytes?: number;
  /** fsync on flush, seal and checkpoint (default true). Off only for scratch stores and benchmarks. */
  durable?: boolean;
}

/** Counters and sizes of a {@link LocalStore}, for metrics and tests. */
export interface LocalStoreStats {
  /** Pack files known (sealed + unsealed). */
  packs: number;
  sealedPacks: number;
  /** Chunks in the packs this process has loaded (sealed packs load on first lookup; list() loads all). */
  chunks: number;
  /** Bytes of the packs this process has loaded. */
  packBytes: number;
  /** get() calls (and getMany items). */
  reads: number;
  /** Reads that found the chunk. */
  readHits: number;
  /** Payload bytes returned by reads. */
  readBytes: number;
  /** Chunks appended (puts of chunks already present are not counted). */
  writes: number;
  /** Payload bytes appended. */
  writeBytes: number;
  /** Puts skipped because the chunk was already stored. */
  duplicatePuts: number;
  /** fdatasync/fsync calls made. */
  syncs: number;
  /** Packs sealed by this process. */
  seals: number;
  /** Checkpoint indexes written by this process. */
  checkpoints: number;
  /** Reader refreshes that found new packs or records. */
  refreshes: number;
  /** Bytes of torn tail truncated when this writer opened. */
  tornBytesTruncated: number;
  /** Pack bytes read by record scans (opening packs without a covering index, reader catch-up). */
  bytesScanned: number;
}

/** One pack file and what is known of its contents. */
interface Pack {
  id: number;
  path: string;
  /** False for a sealed pack not looked at yet: opened on first lookup, so opening the store costs one readdir. */
  loaded: boolean;
  /** Open descriptor (-1 until loaded). */
  fd: number;
  /** Index covering [PACK_HEADER_BYTES, index.header.covered); undefined when none or invalid. */
  index: PackIndex | undefined;
  /** Records not covered by `index` (for the writer's active pack: all its records). */
  tail: Map<string, ChunkLocation>;
  /** End of the last valid record known (writer's active pack: including buffered records). */
  end: number;
  /** Never grows again: its index covers it entirely. */
  sealed: boolean;
}

const DEFAULTS = {
  packSizeLimit: 64 * 1024 * 1024,
  writeBufferBytes: 1024 * 1024,
  checkpointBytes: 8 * 1024 * 1024,
};

const PACK_NAME = /^(\d{8,})\.pack$/;
const SEALED_INDEX_NAME = /^(\d{8,})\.idx$/;
const STORE_TEMP = /^\.\d{8,}\.(pack|idx|ckpt|pack\.torn-\d+)\.tmp-/;

/** File name of pack `id`. */
function packFileName(id: number): string {
  return `${String(id).padStart(8, '0')}.pack`;
}

/** The sealed index of a pack. */
function indexPathOf(packPath: string): string {
  return packPath.slice(0, -'.pack'.length) + '.idx';
}

/** The checkpoint index of a pack still being appended to. */
function checkpointPathOf(packPath: string): string {
  return packPath.slice(0, -'.pack'.length) + '.ckpt';
}

/**
 * Append-only, crash-safe chunk store in a local directory.
 *
 * @example
 * const store = await LocalStore.open({ dir: '.git/prolly/store' });
 * await store.put({ address: sha256(bytes), bytes });
 * await store.flush();          // durable from here on
 * await store.close();          // releases the writer lock
 * const reader = await LocalStore.open({ dir: '.git/prolly/store', readOnly: true });
 */
export class LocalStore implements ChunkStore {
  readonly name: string;
  readonly dir: string;
  readonly readOnly: boolean;
  private readonly packSizeLimit: number;
  private readonly writeBufferBytes: number;
  private readonly checkpointBytes: number;
  private readonly durable: boolean;
  private lock: FileLock | undefined;
  /** Packs by ascending id. */
  private packs: Pack[] = [];
  /** The writer's pack being appended to (also the last element of `packs`). */
  private active: Pack | undefined;
  /** Buffered records of the active pack, starting at file offset `written`. */
  private pending: Buffer;
  private pendingLength = 0;
  private written = 0;
  /** Active pack has bytes written but not yet fdatasynced. */
  private unsynced = false;
  /** End offset of the active pack covered by its last checkpoint index. */
  private checkpointed = 0;
  private closed = false;
  private closing = false;
  /** Directory mtime at the last listing (readers use it to notice new packs cheaply). */
  private dirStamp = -1n;
  private readonly counters: Omit<LocalStoreStats, 'packs' | 'sealedPacks' | 'chunks' | 'packBytes'> = {
    reads: 0,
    readHits: 0,
    readBytes: 0,
    writes: 0,
    writeBytes: 0,
    duplicatePuts: 0,
    syncs: 0,
    seals: 0,
    checkpoints: 0,
    refreshes: 0,
    tornBytesTruncated: 0,
    bytesScanned: 0,
  };

  private constructor(options: LocalStoreOptions) {
    this.dir = resolve(options.dir);
    this.name = `local:${this.dir}`;
    this.readOnly = options.readOnly ?? false;
    this.packSizeLimit = options.packSizeLimit ?? DEFAULTS.packSizeLimit;
    this.writeBufferBytes = options.writeBufferBytes ?? DEFAULTS.writeBufferBytes;
    this.checkpointBytes = options.checkpointBytes ?? DEFAULTS.checkpointBytes;
    this.durable = options.durable ?? true;
    if (!Number.isSafeInteger(this.packSizeLimit) || this.packSizeLimit < 1024 || this.packSizeLimit > 2 ** 40) {
      throw invalidArgument(`packSizeLimit must be an integer between 1 KiB and 1 TiB, got ${this.packSizeLimit}`);
    }
    if (!Number.isSafeInteger(this.writeBufferBytes) || this.writeBufferBytes < 4096) {
      throw invalidArgument(`writeBufferBytes must be an integer ≥ 4096, got ${this.writeBufferBytes}`);
    }
    this.pending = Buffer.alloc(this.readOnly ? 0 : this.writeBufferBytes);
  }

  /**
   * Open (and for a writer, create) the store in `dir`. A writer takes the LOCK (ELOCKED naming
   * the holder if another live process has it; a lock left by a dead process is taken over),
   * repairs a torn tail, and seals packs a crashed writer left unsealed.
   * @example const store = await LocalStore.open({ dir: join(gitDir, 'prolly', 'store') });
   */
  static async open(options: LocalStoreOptions): Promise<LocalStore> {
    if (!options || typeof options.dir !== 'string' || options.dir === '') {
      throw invalidArgument('LocalStore.open needs a dir', { dir: options?.dir });
    }
    const store = new LocalStore(options);
    if (!store.readOnly) {
      mkdirSync(store.dir, { recursive: true });
      store.lock = await FileLock.acquire({
        path: join(store.dir, 'LOCK'),
        timeoutMs: options.lockTimeoutMs ?? 0,
        purpose: 'git-prolly chunk store writer',
      });
    }
    try {
      store.load();
    } catch (err) {
      store.releaseAll();
      throw err;
    }
    return store;
  }

  // ---------------------------------------------------------------- ChunkStore

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen();
    return this.read(address, { refreshed: false });
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.checkOpen();
    const state = { refreshed: false };
    return addresses.map((a) => this.read(a, state));
  }

  async has(address: Uint8Array): Promise<boolean> {
    this.checkOpen();
    return this.find(address, { refreshed: false }) !== undefined;
  }

  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    this.checkOpen();
    const state = { refreshed: false };
    return addresses.map((a) => this.find(a, state) !== undefined);
  }

  async put(chunk: Chunk): Promise<void> {
    this.checkWritable();
    this.putSync(chunk);
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    this.checkWritable();
    for (const c of chunks) this.putSync(c);
  }

  async flush(): Promise<void> {
    this.checkOpen();
    await this.flushActive();
  }

  async *list(): AsyncIterable<Uint8Array> {
    this.checkOpen();
    this.refresh();
    for (const pack of this.packs.slice()) {
      this.checkOpen();
      this.ensureLoaded(pack);
      if (pack.index) {
        let addresses: Uint8Array[];
        try {
          addresses = [...pack.index.addresses()];
        } catch (err) {
          if (!(err instanceof IndexCorruptError)) throw err;
          this.rebuildFromPack(pack);
          addresses = pack.index ? [...pack.index.addresses()] : [];
        }
        for (const a of addresses) yield a;
      }
      for (const key of [...pack.tail.keys()]) yield keyToAddress(key);
    }
  }

  /** Flush, write the active pack's checkpoint index, close files and release the writer lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    try {
      await this.flushActive();
      const pack = this.active;
      if (pack !== undefined && pack.end > this.checkpointed) this.writeCheckpoint(pack);
    } finally {
      this.releaseAll();
    }
  }

  // ---------------------------------------------------------------- extras

  /**
   * Sizes and I/O counters.
   * @example store.stats().readBytes
   */
  stats(): LocalStoreStats {
    let chunks = 0;
    let packBytes = 0;
    let sealedPacks = 0;
    for (const p of this.packs) {
      chunks += (p.index?.count ?? 0) + p.tail.size;
      packBytes += p.end;
      if (p.sealed) sealedPacks++;
    }
    return { packs: this.packs.length, sealedPacks, chunks, packBytes, ...this.counters };
  }

  /**
   * Files of the store, for tests and `git prolly` diagnostics: pack paths with sealed/size.
   * @example store.packFiles() // [{ path: '…/00000001.pack', sealed: true, bytes: 67108903 }]
   */
  packFiles(): { path: string; sealed: boolean; bytes: number; chunks: number }[] {
    return this.packs.map((p) => ({
      path: p.path,
      sealed: p.sealed,
      bytes: p.end,
      chunks: (p.index?.count ?? 0) + p.tail.size,
    }));
  }

  /**
   * Synchronous get: the store's I/O is synchronous underneath, so callers that want to avoid a
   * promise per chunk (benchmarks, hot loops) may use this.
   * @example const bytes = store.getSync(address);
   */
  getSync(address: Uint8Array): Uint8Array | undefined {
    this.checkOpen();
    return this.read(address, { refreshed: false });
  }

  // ---------------------------------------------------------------- internals: lookup

  private read(address: Uint8Array, state: { refreshed: boolean }): Uint8Array | undefined {
    this.counters.reads++;
    const found = this.find(address, state);
    if (found === undefined) return undefined;
    const { pack, loc } = found;
    const out = new Uint8Array(loc.length);
    if (pack === this.active && loc.offset >= this.written) {
      const at = loc.offset - this.written;
      out.set(this.pending.subarray(at, at + loc.length));
    } else if (loc.length > 0) {
      const n = readFully(pack.fd, out, loc.offset);
      if (n !== loc.length) {
        throw new ProllyError(
          ErrorCodes.CHUNK_CORRUPT,
          `chunk ${toHex(address)} in ${pack.path} is cut short: ${n} of ${loc.length} bytes at offset ${loc.offset}`,
          { address: toHex(address), store: this.name, file: pack.path },
        );
      }
    }
    this.counters.readHits++;
    this.counters.readBytes += loc.length;
    return out;
  }

  private find(address: Uint8Array, state: { refreshed: boolean }): { pack: Pack; loc: ChunkLocation } | undefined {
    checkAddress(address);
    let found = this.locate(address);
    if (found === undefined && this.readOnly && !state.refreshed) {
      // A reader may be behind the writer: look for new packs / records once per call.
      state.refreshed = true;
      if (this.refresh()) found = this.locate(address);
    }
    return found;
  }

  private locate(address: Uint8Array, knownKey?: string): { pack: Pack; loc: ChunkLocation } | undefined {
    let key = knownKey;
    // Newest first: recently written chunks are the likeliest to be read back.
    for (let i = this.packs.length - 1; i >= 0; i--) {
      const pack = this.packs[i]!;
      if (!pack.loaded) this.ensureLoaded(pack);
      if (pack.tail.size > 0) {
        key ??= addressKey(address);
        const t = pack.tail.get(key);
        if (t !== undefined) return { pack, loc: t };
      }
      if (pack.index !== undefined) {
        let loc: ChunkLocation | undefined;
        try {
          // The writer checks presence on every put: it reads indexes whole at once, which also
          // checks their CRC before it trusts an "absent" (a duplicate record would break list()).
          if (!this.readOnly) pack.index.loadFull();
          loc = pack.index.find(address);
        } catch (err) {
          if (!(err instanceof IndexCorruptError)) throw err;
          this.rebuildFromPack(pack); // re-indexed (writer) or all in the tail (reader)
          loc = pack.tail.get(key ?? addressKey(address)) ?? pack.index?.find(address);
        }
        if (loc !== undefined) return { pack, loc };
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------- internals: opening

  private load(): void {
    // Stamp before listing: a pack created in between changes the stamp, so a later refresh lists again.
    this.dirStamp = this.readDirStamp();
    const { ids, sealed } = this.listDir();
    for (const id of ids) this.packs.push(sealed.has(id) ? this.unloadedPack(id) : this.openPack(id));
    if (this.readOnly) return;
    // Writer: seal every unsealed pack but the newest (left by crashed writers), and continue
    // appending to the newest if it has room.
    for (const pack of this.packs) {
      if (!pack.sealed && (pack !== this.packs[this.packs.length - 1] || pack.end >= this.packSizeLimit)) {
        this.seal(pack, this.entriesOf(pack));
      }
    }
    const last = this.packs[this.packs.length - 1];
    if (last && !last.sealed) this.activate(last);
  }

  /** Pack ids (ascending) and which have a sealed index; a writer also deletes leftover temp files. */
  private listDir(): { ids: number[]; sealed: Set<number> } {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && this.readOnly) return { ids: [], sealed: new Set() };
      throw err;
    }
    const ids: number[] = [];
    const sealed = new Set<number>();
    for (const n of names) {
      let m = PACK_NAME.exec(n);
      if (m) ids.push(Number(m[1]));
      else if ((m = SEALED_INDEX_NAME.exec(n))) sealed.add(Number(m[1]));
      else if (!this.readOnly && STORE_TEMP.test(n) && n.includes(TEMP_MARKER)) {
        try {
          unlinkSync(join(this.dir, n)); // left by a crashed writer; we hold the lock now
        } catch {
          /* already gone */
        }
      }
    }
    return { ids: ids.sort((a, b) => a - b), sealed };
  }

  /** A sealed pack that has not been looked at yet. */
  private unloadedPack(id: number): Pack {
    const path = join(this.dir, packFileName(id));
    return { id, path, loaded: false, fd: -1, index: undefined, tail: new Map(), end: PACK_HEADER_BYTES, sealed: true };
  }

  private ensureLoaded(pack: Pack): void {
    if (pack.loaded) return;
    Object.assign(pack, this.openPack(pack.id));
    // Its sealed index turned out unusable and the pack was scanned: a writer re-seals it.
    if (!pack.sealed && !this.readOnly && pack !== this.active) this.seal(pack, this.entriesOf(pack));
  }

  private readDirStamp(): bigint {
    try {
      const s = statSync(this.dir, { bigint: true });
      return s.mtimeNs;
    } catch {
      return -1n;
    }
  }

  /** Open pack `id`: load its index if valid, scan records beyond it, and (writer) cut a torn tail. */
  private openPack(id: number): Pack {
    const path = join(this.dir, packFileName(id));
    const fd = openSync(path, this.readOnly ? 'r' : 'r+');
    const pack: Pack = { id, path, loaded: true, fd, index: undefined, tail: new Map(), end: PACK_HEADER_BYTES, sealed: false };
    let index: PackIndex | undefined;
    try {
      // Index before size: a pack only grows, so an index a writer renames in meanwhile still fits.
      // A sealed index wins over a checkpoint (a crash between sealing and deleting it leaves both).
      index = PackIndex.open(indexPathOf(path));
      if (index && !index.header.sealed) {
        index.close();
        index = undefined;
      }
      index ??= PackIndex.open(checkpointPathOf(path));
      let size = fstatSync(fd).size;
      if (size < PACK_HEADER_BYTES) {
        // Packs are created complete via rename, so this is damage; a writer restores the header.
        index?.close();
        index = undefined;
        if (this.readOnly) return pack;
        ftruncateSync(fd, 0);
        writeSync(fd, encodePackHeader(), 0, PACK_HEADER_BYTES, 0);
        this.sync(fd);
        size = PACK_HEADER_BYTES;
      }
      const header = Buffer.alloc(PACK_HEADER_BYTES);
      readFully(fd, header, 0);
      checkPackHeader(header, path);
      if (index && index.header.covered >= PACK_HEADER_BYTES && index.header.covered <= size) {
        pack.index = index;
        pack.end = index.header.covered;
        pack.sealed = index.header.sealed && index.header.covered === size;
      } else {
        index?.close();
      }
      if (!pack.sealed) this.scanTail(pack, size);
      return pack;
    } catch (err) {
      closeSync(fd);
      index?.close();
      throw err;
    }
  }

  /** Add records between pack.end and `size` to the tail; a writer truncates what does not check out. */
  private scanTail(pack: Pack, size: number): boolean {
    if (size <= pack.end) return false;
    const scan = scanRecords(pack.fd, pack.end, size);
    this.counters.bytesScanned += size - pack.end;
    for (const e of scan.entries) pack.tail.set(e.key, { offset: e.offset, length: e.length });
    pack.end = scan.validEnd;
    if (scan.torn && !this.readOnly) {
      this.saveTornTail(pack, scan.validEnd, size);
      ftruncateSync(pack.fd, scan.validEnd);
      this.sync(pack.fd);
      this.counters.tornBytesTruncated += size - scan.validEnd;
    }
    return scan.entries.length > 0;
  }

  /**
   * Copy bytes about to be truncated to `NNNNNNNN.pack.torn-<ms>` first. After a crash they are an
   * unfinished record; should a flipped bit ever make a record in the middle look torn, the bytes
   * after it are kept rather than destroyed.
   */
  private saveTornTail(pack: Pack, from: number, to: number): void {
    const target = `${pack.path}.torn-${Date.now()}`;
    const tmp = tempPathFor(target);
    const out = openSync(tmp, 'wx', 0o644);
    try {
      const buf = Buffer.allocUnsafe(Math.min(to - from, 1 << 20));
      for (let at = from; at < to; ) {
        const n = readFully(pack.fd, buf.subarray(0, Math.min(buf.length, to - at)), at);
        if (n === 0) break;
        writeAll(out, buf.subarray(0, n), at - from);
        at += n;
      }
      this.sync(out);
    } finally {
      closeSync(out);
    }
    renameSync(tmp, target);
    if (this.durable) fsyncDirSync(this.dir);
  }

  /** Drop a pack's corrupt index and learn its records by scanning the pack; a writer rewrites the index. */
  private rebuildFromPack(pack: Pack): void {
    pack.index?.close();
    pack.index = undefined;
    pack.tail.clear();
    pack.end = PACK_HEADER_BYTES;
    const wasSealed = pack.sealed;
    pack.sealed = false;
    this.scanTail(pack, fstatSync(pack.fd).size);
    if (!this.readOnly && wasSealed && pack !== this.active) this.seal(pack, this.entriesOf(pack));
  }

  /**
   * Reader: pick up records appended to unsealed packs and packs created since the last look.
   * Returns true when anything new was found.
   */
  private refresh(): boolean {
    if (!this.readOnly) return false;
    let changed = false;
    for (const pack of this.packs) {
      if (pack.sealed || !pack.loaded) continue;
      const size = fstatSync(pack.fd).size;
      if (size > pack.end) {
        if (pack.end === PACK_HEADER_BYTES && pack.tail.size === 0 && pack.index === undefined) {
          const header = Buffer.alloc(PACK_HEADER_BYTES);
          if (readFully(pack.fd, header, 0) < PACK_HEADER_BYTES) continue;
          checkPackHeader(header, pack.path);
        }
        if (this.scanTail(pack, size)) changed = true;
      }
    }
    const stamp = this.readDirStamp();
    if (stamp !== this.dirStamp) {
      this.dirStamp = stamp;
      const known = new Set(this.packs.map((p) => p.id));
      const { ids, sealed } = this.listDir();
      for (const id of ids) {
        if (known.has(id)) continue;
        this.packs.push(sealed.has(id) ? this.unloadedPack(id) : this.openPack(id));
        changed = true;
      }
      this.packs.sort((a, b) => a.id - b.id);
    }
    if (changed) this.counters.refreshes++;
    return changed;
  }

  // ---------------------------------------------------------------- internals: writing

  private putSync(chunk: Chunk): void {
    const { address, bytes } = chunk ?? ({} as Chunk);
    checkAddress(address);
    if (!(bytes instanceof Uint8Array)) {
      throw invalidArgument(`chunk ${toHex(address)}: bytes must be a Uint8Array`, { address: toHex(address) });
    }
    if (bytes.length > MAX_RECORD_PAYLOAD) {
      throw invalidArgument(`chunk ${toHex(address)} is too large for a pack record (${bytes.length} bytes)`);
    }
    const key = addressKey(address);
    if (this.locate(address, key) !== undefined) {
      this.counters.duplicatePuts++;
      return;
    }
    const recordBytes = RECORD_OVERHEAD + bytes.length;
    let pack = this.active;
    if (pack !== undefined && pack.end > PACK_HEADER_BYTES && pack.end + recordBytes > this.packSizeLimit) {
      this.seal(pack, this.entriesOf(pack));
      pack = undefined;
    }
    pack ??= this.createPack();
    const start = pack.end;
    if (this.pendingLength + recordBytes > this.pending.length) this.writePending();
    if (recordBytes > this.pending.length) {
      // Larger than the buffer: encode and write it on its own.
      const rec = Buffer.allocUnsafe(recordBytes);
      writeRecord(rec, 0, address, bytes);
      writeAll(pack.fd, rec, start);
      this.written = start + recordBytes;
      this.unsynced = true;
    } else {
      writeRecord(this.pending, this.pendingLength, address, bytes);
      this.pendingLength += recordBytes;
    }
    pack.end = start + recordBytes;
    pack.tail.set(key, { offset: start + RECORD_HEADER_BYTES, length: bytes.length });
    this.counters.writes++;
    this.counters.writeBytes += bytes.length;
  }

  /** Write buffered records and fdatasync the active pack; checkpoint its index when much is uncovered. */
  private async flushActive(): Promise<void> {
    const pack = this.active;
    if (this.readOnly || pack === undefined) return;
    this.writePending();
    if (this.durable && this.unsynced) {
      this.unsynced = false;
      this.counters.syncs++;
      await fdatasyncAsync(pack.fd);
    }
    if (!this.closed && this.active === pack && pack.end - this.checkpointed >= this.checkpointBytes) {
      this.writeCheckpoint(pack);
    }
  }

  private writePending(): void {
    if (this.pendingLength === 0 || this.active === undefined) return;
    writeAll(this.active.fd, this.pending.subarray(0, this.pendingLength), this.written);
    this.written += this.pendingLength;
    this.pendingLength = 0;
    this.unsynced = true;
  }

  /** Create the next pack file complete with its header (temp + rename) and make it active. */
  private createPack(): Pack {
    const id = (this.packs[this.packs.length - 1]?.id ?? 0) + 1;
    const path = join(this.dir, packFileName(id));
    const tmp = tempPathFor(path);
    const fd0 = openSync(tmp, 'wx', 0o644);
    try {
      writeAll(fd0, encodePackHeader(), 0);
      this.sync(fd0);
    } finally {
      closeSync(fd0);
    }
    renameSync(tmp, path);
    if (this.durable) fsyncDirSync(this.dir);
    const pack: Pack = {
      id,
      path,
      loaded: true,
      fd: openSync(path, 'r+'),
      index: undefined,
      tail: new Map(),
      end: PACK_HEADER_BYTES,
      sealed: false,
    };
    this.packs.push(pack);
    this.activate(pack);
    return pack;
  }

  /** Make `pack` the one appended to; its whole index moves into the in-memory tail map. */
  private activate(pack: Pack): void {
    if (pack.index) {
      let entries: IndexEntry[];
      try {
        entries = [...pack.index.entries()];
      } catch (err) {
        if (!(err instanceof IndexCorruptError)) throw err;
        this.rebuildFromPack(pack);
        entries = [];
      }
      this.checkpointed = pack.index?.header.covered ?? PACK_HEADER_BYTES;
      for (const e of entries) pack.tail.set(e.key, { offset: e.offset, length: e.length });
      pack.index?.close();
      pack.index = undefined;
    } else {
      this.checkpointed = PACK_HEADER_BYTES;
    }
    this.active = pack;
    this.written = pack.end;
    this.pendingLength = 0;
    this.unsynced = false;
  }

  private entriesOf(pack: Pack): IndexEntry[] {
    const out: IndexEntry[] = [];
    if (pack.index) for (const e of pack.index.entries()) out.push(e);
    for (const [key, loc] of pack.tail) out.push({ key, offset: loc.offset, length: loc.length });
    return out;
  }

  /** Seal: make the pack durable, then write its complete index (atomically), then stop appending to it. */
  private seal(pack: Pack, entries: IndexEntry[]): void {
    if (pack === this.active) {
      this.writePending();
      this.active = undefined;
    }
    this.sync(pack.fd);
    const idxPath = indexPathOf(pack.path);
    writeFileAtomicSync(idxPath, encodeIndex({ entries, covered: pack.end, sealed: true }), { fsync: this.durable });
    try {
      unlinkSync(checkpointPathOf(pack.path)); // superseded; a leftover would be ignored anyway
    } catch {
      /* there was none */
    }
    pack.index?.close();
    pack.index = PackIndex.open(idxPath);
    if (pack.index === undefined) {
      throw new ProllyError(ErrorCodes.BAD_ENCODING, `index just written does not read back: ${idxPath}`, { file: idxPath });
    }
    pack.tail = new Map();
    pack.sealed = true;
    this.counters.seals++;
  }

  /** Write the active pack's checkpoint index, covering everything written so far. */
  private writeCheckpoint(pack: Pack): void {
    this.writePending();
    if (this.unsynced) {
      this.sync(pack.fd);
      this.unsynced = false;
    }
    const entries: IndexEntry[] = [];
    for (const [key, loc] of pack.tail) entries.push({ key, offset: loc.offset, length: loc.length });
    writeFileAtomicSync(checkpointPathOf(pack.path), encodeIndex({ entries, covered: pack.end, sealed: false }), {
      fsync: this.durable,
    });
    this.checkpointed = pack.end;
    this.counters.checkpoints++;
  }

  private sync(fd: number): void {
    if (!this.durable) return;
    fdatasyncSync(fd);
    this.counters.syncs++;
  }

  // ---------------------------------------------------------------- internals: state

  private checkOpen(): void {
    if (this.closed) throw new ProllyError(ErrorCodes.CLOSED, `${this.name} store is closed`, { store: this.name });
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) {
      throw new ProllyError(ErrorCodes.READ_ONLY, `${this.name} is open read-only; open it without readOnly to write`, {
        store: this.name,
      });
    }
  }

  private releaseAll(): void {
    this.closed = true;
    for (const p of this.packs) {
      p.index?.close();
      if (p.fd < 0) continue;
      try {
        closeSync(p.fd);
      } catch {
        /* already closed */
      }
    }
    this.packs = [];
    this.active = undefined;
    this.lock?.release();
    this.lock = undefined;
  }
}

function checkAddress(address: Uint8Array): void {
  if (!(address instanceof Uint8Array) || address.length !== ADDRESS_BYTES) {
    throw invalidArgument(
      `a chunk address must be ${ADDRESS_BYTES} bytes, got ${address instanceof Uint8Array ? `${address.length} bytes` : typeof address}`,
      { address: address instanceof Uint8Array ? toHex(address) : String(address) },
    );
  }
}

function keyToAddress(key: string): Uint8Array {
  const b = Buffer.from(key, 'latin1');
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

// ------------------------------------------------------------------ the local stack

/** Options for {@link openLocalStack}. */
export interface LocalStackOptions {
  /** Store directory (e.g. `.git/prolly/store`). */
  dir: string;
  /** Byte budget of the in-memory chunk cache (default 64 MiB; 0 = no cache layer). */
  cacheBytes?: number;
  /**
   * zstd settings (default { level: 3 }), or false to store chunks raw. Either way chunks are stored
   * with the compression layer's one-byte header, so the setting can change without making stored
   * chunks unreadable.
   */
  compression?: { level?: number } | false;
  /** Open the local store read-only (no writer lock). */
  readOnly?: boolean;
  /** Verify puts too (default true). */
  verifyOnPut?: boolean;
  /** Passed to LocalStore.open. */
  lockTimeoutMs?: number;
  packSizeLimit?: number;
}

/** The composed stack and its layers (for metrics and tests). */
export interface LocalStack {
  /** The outermost layer: what callers read and write. */
  store: ChunkStore;
  local: LocalStore;
  compressing: CompressingStore;
  verifying: VerifyingStore;
  caching: CachingStore | undefined;
}

/**
 * The standard local stack: cache → verify → compress → LocalStore. Verification sits under the
 * cache (cached chunks were verified when loaded) and over compression (it checks the bytes the
 * address is of).
 *
 * @example
 * const { store, local } = await openLocalStack({ dir: '.git/prolly/store', cacheBytes: 128 << 20 });
 * await store.put({ address, bytes }); await store.close();
 */
export async function openLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const local = await LocalStore.open({
    dir: options.dir,
    readOnly: options.readOnly,
    lockTimeoutMs: options.lockTimeoutMs,
    packSizeLimit: options.packSizeLimit,
  });
  const compression = options.compression ?? {};
  const compressing = new CompressingStore({ inner: local, level: compression === false ? 0 : compression.level });
  const verifying = new VerifyingStore({ inner: compressing, verifyOnPut: options.verifyOnPut });
  const cacheBytes = options.cacheBytes ?? 64 * 1024 * 1024;
  const caching = cacheBytes > 0 ? new CachingStore({ inner: verifying, maxBytes: cacheBytes }) : undefined;
  return { store: caching ?? verifying, local, compressing, verifying, caching };
}

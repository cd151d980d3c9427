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
 * - `compact()` (used by `git prolly gc`) rewrites packs holding unreachable chunks: the live chunks
 *   go into new packs (index first, then the pack, each renamed into place complete), and only then
 *   are the old packs deleted. Every moment has each live chunk in some complete pack, so a crash
 *   anywhere loses nothing, and a reader that finds a pack gone re-lists the directory, where the new
 *   packs already are. Pack ids only grow, so a reader never mistakes a new pack for an old one.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
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
import { crc32 } from 'node:zlib';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { fsyncDirSync, tempPathFor, writeFileAtomicSync, TEMP_MARKER } from '../util/atomic-file.js';
import { toHex } from '../util/bytes.js';
import { ADDRESS_BYTES } from '../util/hash.js';
import type { Chunk, ChunkStore } from './chunk-store.js';
import { CachingStore } from './caching-store.js';
import { CompressingStore } from './compressing-store.js';
import { FileLock } from './file-lock.js';
import {
  INDEX_LOCATION_BYTES,
  INDEX_TABLE_START,
  MAX_RECORD_PAYLOAD,
  PACK_HEADER_BYTES,
  RECORD_KIND_CHUNK,
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

/** A point in {@link LocalStore.compact} where a test can simulate a crash (by throwing from `onStep`). */
export type CompactStep =
  /** Every new pack and its index is durable and in place; no old pack is deleted yet. */
  | 'packs-written'
  /** One old pack (and its index) was deleted. */
  | 'pack-deleted';

/** Options of {@link LocalStore.compact}. */
export interface CompactOptions {
  /** True for a chunk that must be kept (reachable). Called once per stored record. */
  live: (address: Uint8Array) => boolean;
  /**
   * Packs last modified at or after this time (ms since the epoch) are left whole, garbage and all:
   * a command running in another process may have just written chunks it has not recorded yet.
   */
  keepNewerThanMs: number;
  /** Work out what would be done, change nothing (default false). */
  dryRun?: boolean;
  /** Called after each step; throwing stops the compaction there, as a crash would (for tests). */
  onStep?: (step: CompactStep) => void;
}

/** What {@link LocalStore.compact} found and did (or, in a dry run, would do). */
export interface CompactResult {
  dryRun: boolean;
  packsBefore: number;
  packsAfter: number;
  /** Bytes of pack and index files before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Chunk records before and after. */
  chunksBefore: number;
  chunksAfter: number;
  /** Records of chunks not live, in every pack. */
  garbageChunks: number;
  /** Their bytes (records: payload + framing). */
  garbageBytes: number;
  /** Extra records of a chunk stored more than once (left by an interrupted compaction). */
  duplicateChunks: number;
  /** Records removed: garbage and duplicates in the packs rewritten. */
  reclaimedChunks: number;
  reclaimedBytes: number;
  /** Garbage left in place because its pack is newer than `keepNewerThanMs`. */
  recentGarbageChunks: number;
  recentGarbageBytes: number;
  /** Old packs whose live chunks were copied out and which were then deleted. */
  packsRewritten: number;
  /** New packs written. */
  packsWritten: number;
  /** Live chunks copied into the new packs, and their record bytes. */
  chunksCopied: number;
  bytesCopied: number;
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
const CHECKPOINT_NAME = /^(\d{8,})\.ckpt$/;
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
  /** Reader: a pack listed earlier was gone when opened (a gc replaced it): list the directory again. */
  private packsVanished = false;
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

  /**
   * Every stored address. A reader listing while a gc replaces packs may see an address twice (in
   * the old pack and in the new one) but never misses one.
   */
  async *list(): AsyncIterable<Uint8Array> {
    this.checkOpen();
    this.refresh();
    const done = new Set<number>();
    for (;;) {
      this.checkOpen();
      const pack = this.packs.find((p) => !done.has(p.id));
      if (pack === undefined) break;
      done.add(pack.id);
      if (!this.loadOrDrop(pack)) {
        this.refresh(true); // its chunks are in packs written before it was deleted
        continue;
      }
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

  /**
   * Garbage collection's sweep: rewrite every pack older than `keepNewerThanMs` that holds records
   * of chunks not `live` (or extra copies of a chunk), copying its live chunks into new sealed packs,
   * then delete it. Writer only. Crash-safe at every step: new packs are complete (pack fsynced, index
   * written atomically first, pack renamed into place) before any old pack is deleted, and pack ids
   * only grow. A live record that fails its CRC stops the compaction before anything is deleted
   * (ECHUNKCORRUPT naming the pack). New packs carry the newest mtime of the packs they replace, so
   * `keepNewerThanMs` keeps meaning "written recently".
   *
   * @example
   * const r = await store.compact({ live: (a) => reachable.has(toHex(a)), keepNewerThanMs: Date.now() - 14 * 86_400_000 });
   * console.log(`${r.reclaimedChunks} chunks, ${r.bytesBefore - r.bytesAfter} bytes reclaimed`);
   */
  async compact(options: CompactOptions): Promise<CompactResult> {
    this.checkWritable();
    if (typeof options?.live !== 'function' || !Number.isFinite(options.keepNewerThanMs)) {
      throw invalidArgument('compact needs a live(address) function and a finite keepNewerThanMs');
    }
    const dryRun = options.dryRun ?? false;
    // Buffered records go to the file first, so every record is on disk and in some map.
    if (!dryRun) await this.flushActive();
    const plan = this.planCompaction(options.live, options.keepNewerThanMs);
    const r = plan.result;
    r.dryRun = dryRun;
    if (dryRun || plan.candidates.length === 0) return r;

    // No pack is appended to from here on: the new packs get the highest ids, and the next put starts a pack after them.
    if (this.active) this.seal(this.active, this.entriesOf(this.active));
    const maxIdBefore = this.packs[this.packs.length - 1]!.id;
    const written = this.writeCompacted(plan);
    if (written.length === 0 && plan.candidates.some((c) => c.pack.id === maxIdBefore)) {
      // Keep the highest id in use: readers key packs by id, so an id must never come back.
      const empty = this.newCompactedPack(maxIdBefore + 1, plan.mtimeMs);
      written.push(empty.finish());
    }
    if (this.durable) fsyncDirSync(this.dir);
    for (const id of written) this.packs.push(this.unloadedPack(id));
    options.onStep?.('packs-written');

    for (const c of plan.candidates) {
      const pack = c.pack;
      pack.index?.close();
      pack.index = undefined;
      if (pack.fd >= 0) closeSync(pack.fd);
      pack.fd = -1;
      this.packs.splice(this.packs.indexOf(pack), 1);
      // The pack first: an index left by a crash here is removed by the next writer (listDir).
      unlinkSync(pack.path);
      unlinkQuietly(indexPathOf(pack.path));
      unlinkQuietly(checkpointPathOf(pack.path));
      options.onStep?.('pack-deleted');
    }
    if (this.durable) fsyncDirSync(this.dir);
    r.packsWritten = written.length;
    r.packsAfter = this.packs.length;
    r.bytesAfter = this.fileBytes();
    return r;
  }

  /** Which packs a compaction rewrites, what it copies, and the figures (exact for a dry run too). */
  private planCompaction(live: (address: Uint8Array) => boolean, keepNewerThanMs: number): CompactionPlan {
    const result: CompactResult = {
      dryRun: false,
      packsBefore: this.packs.length,
      packsAfter: this.packs.length,
      bytesBefore: this.fileBytes(),
      bytesAfter: 0,
      chunksBefore: 0,
      chunksAfter: 0,
      garbageChunks: 0,
      garbageBytes: 0,
      duplicateChunks: 0,
      reclaimedChunks: 0,
      reclaimedBytes: 0,
      recentGarbageChunks: 0,
      recentGarbageBytes: 0,
      packsRewritten: 0,
      packsWritten: 0,
      chunksCopied: 0,
      bytesCopied: 0,
    };
    const scanned: { pack: Pack; mtimeMs: number; entries: IndexEntry[]; live: boolean[]; dead: number }[] = [];
    for (const pack of this.packs) {
      this.ensureLoaded(pack);
      let entries: IndexEntry[];
      try {
        entries = this.entriesOf(pack);
      } catch (err) {
        if (!(err instanceof IndexCorruptError)) throw err;
        this.rebuildFromPack(pack);
        entries = this.entriesOf(pack);
      }
      const flags = entries.map((e) => live(keyToAddress(e.key)));
      let dead = 0;
      for (let i = 0; i < entries.length; i++) {
        if (flags[i]) continue;
        dead++;
        result.garbageChunks++;
        result.garbageBytes += RECORD_OVERHEAD + entries[i]!.length;
      }
      result.chunksBefore += entries.length;
      scanned.push({ pack, mtimeMs: fstatSync(pack.fd).mtimeMs, entries, live: flags, dead });
    }
    // Where each chunk has a copy that stays: every record of packs that are not rewritten.
    const rewrite = (s: (typeof scanned)[number]) => s.mtimeMs < keepNewerThanMs;
    const kept = new Set<string>();
    for (const s of scanned) if (!rewrite(s)) for (const e of s.entries) kept.add(e.key);
    const candidates: CompactionPlan['candidates'] = [];
    // Chunks with a copy that survives in an earlier pack of the loop (copied, or left in place).
    const copied = new Set<string>();
    let mtimeMs = 0;
    for (const s of scanned) {
      if (!rewrite(s)) {
        result.recentGarbageChunks += s.dead;
        for (let i = 0; i < s.entries.length; i++) if (!s.live[i]) result.recentGarbageBytes += RECORD_OVERHEAD + s.entries[i]!.length;
        continue;
      }
      const copy: IndexEntry[] = [];
      let duplicates = 0;
      for (let i = 0; i < s.entries.length; i++) {
        const e = s.entries[i]!;
        if (!s.live[i]) continue;
        if (kept.has(e.key) || copied.has(e.key)) duplicates++;
        else {
          copied.add(e.key);
          copy.push(e);
        }
      }
      if (s.dead === 0 && duplicates === 0) {
        for (const e of s.entries) kept.add(e.key); // left as it is
        continue;
      }
      result.duplicateChunks += duplicates;
      copy.sort((a, b) => a.offset - b.offset); // sequential reads
      candidates.push({ pack: s.pack, copy });
      mtimeMs = Math.max(mtimeMs, s.mtimeMs);
    }
    let newPackBytes = 0;
    let newPacks = 0;
    let chunksCopied = 0;
    let bytesCopied = 0;
    let packEnd = PACK_HEADER_BYTES;
    let packCount = 0;
    const closePack = () => {
      newPacks++;
      newPackBytes += packEnd + INDEX_TABLE_START + packCount * (ADDRESS_BYTES + INDEX_LOCATION_BYTES) + 4;
      packEnd = PACK_HEADER_BYTES;
      packCount = 0;
    };
    for (const c of candidates) {
      result.packsRewritten++;
      const removed = this.entriesCount(c.pack) - c.copy.length;
      result.reclaimedChunks += removed;
      for (const e of c.copy) {
        const rec = RECORD_OVERHEAD + e.length;
        if (packCount > 0 && packEnd + rec > this.packSizeLimit) closePack();
        packEnd += rec;
        packCount++;
        chunksCopied++;
        bytesCopied += rec;
      }
    }
    if (packCount > 0) closePack();
    const candidateSet = new Set(candidates.map((c) => c.pack));
    let candidateRecordBytes = 0;
    let candidateFileBytes = 0;
    for (const s of scanned) {
      if (!candidateSet.has(s.pack)) continue;
      for (const e of s.entries) candidateRecordBytes += RECORD_OVERHEAD + e.length;
      candidateFileBytes += this.fileBytesOf(s.pack);
    }
    result.reclaimedBytes = candidateRecordBytes - bytesCopied;
    result.chunksCopied = chunksCopied;
    result.bytesCopied = bytesCopied;
    result.chunksAfter = result.chunksBefore - result.reclaimedChunks;
    if (candidates.length > 0 && this.active && !candidateSet.has(this.active)) {
      // The pack being appended to is sealed first: its checkpoint gives way to a sealed index.
      let ckpt = 0;
      try {
        ckpt = statSync(checkpointPathOf(this.active.path)).size;
      } catch {
        /* none yet */
      }
      newPackBytes += INDEX_TABLE_START + this.entriesCount(this.active) * (ADDRESS_BYTES + INDEX_LOCATION_BYTES) + 4 - ckpt;
    }
    const lastId = this.packs[this.packs.length - 1]?.id;
    const placeholder = newPacks === 0 && candidates.some((c) => c.pack.id === lastId) ? 1 : 0;
    if (placeholder) newPackBytes += PACK_HEADER_BYTES + INDEX_TABLE_START + 4;
    result.packsWritten = newPacks + placeholder;
    result.packsAfter = this.packs.length - candidates.length + newPacks + placeholder;
    result.bytesAfter = result.bytesBefore - candidateFileBytes + newPackBytes;
    return { candidates, result, mtimeMs, maxPackBytes: this.packSizeLimit };
  }

  private entriesCount(pack: Pack): number {
    return (pack.index?.count ?? 0) + pack.tail.size;
  }

  /** Copy the planned live records into new packs (ids after the last); returns their ids. */
  private writeCompacted(plan: CompactionPlan): number[] {
    const ids: number[] = [];
    let nextId = this.packs[this.packs.length - 1]!.id + 1;
    let out: CompactedPackWriter | undefined;
    try {
      for (const c of plan.candidates) {
        const reader = new RecordWindow(c.pack);
        for (const e of c.copy) {
          const rec = reader.record(e);
          if (out && out.count > 0 && out.end + rec.length > plan.maxPackBytes) {
            ids.push(out.finish());
            out = undefined;
          }
          out ??= this.newCompactedPack(nextId++, plan.mtimeMs);
          out.append(e, rec);
        }
      }
      if (out) ids.push(out.finish());
      out = undefined;
    } finally {
      out?.abandon();
    }
    return ids;
  }

  private newCompactedPack(id: number, mtimeMs: number): CompactedPackWriter {
    return new CompactedPackWriter({ dir: this.dir, id, mtimeMs, durable: this.durable, bufferBytes: this.writeBufferBytes });
  }

  /** Bytes of the store's pack, index and checkpoint files. */
  private fileBytes(): number {
    let n = 0;
    for (const p of this.packs) n += this.fileBytesOf(p);
    return n;
  }

  private fileBytesOf(pack: Pack): number {
    let n = 0;
    for (const f of [pack.path, indexPathOf(pack.path), checkpointPathOf(pack.path)]) {
      try {
        n += statSync(f).size;
      } catch {
        /* absent */
      }
    }
    return n;
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
    // A pack gone when opened was replaced by a gc, whose new packs were in place before: list again.
    for (let tries = 0; found === undefined && this.packsVanished && tries < 4; tries++) {
      this.refresh(true);
      found = this.locate(address);
    }
    return found;
  }

  private locate(address: Uint8Array, knownKey?: string): { pack: Pack; loc: ChunkLocation } | undefined {
    let key = knownKey;
    // Newest first: recently written chunks are the likeliest to be read back.
    for (let i = this.packs.length - 1; i >= 0; i--) {
      const pack = this.packs[i]!;
      if (!pack.loaded && !this.loadOrDrop(pack)) continue;
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

  /**
   * Pack ids (ascending) and which have a sealed index. A writer also deletes what a crashed writer
   * or compaction left: temp files, and indexes whose pack is gone (so a later pack with that id
   * never picks up a stale index).
   */
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
    const indexes: { id: number; name: string }[] = [];
    for (const n of names) {
      let m = PACK_NAME.exec(n);
      if (m) ids.push(Number(m[1]));
      else if ((m = SEALED_INDEX_NAME.exec(n))) {
        sealed.add(Number(m[1]));
        indexes.push({ id: Number(m[1]), name: n });
      } else if ((m = CHECKPOINT_NAME.exec(n))) indexes.push({ id: Number(m[1]), name: n });
      else if (!this.readOnly && STORE_TEMP.test(n) && n.includes(TEMP_MARKER)) unlinkQuietly(join(this.dir, n)); // we hold the lock now
    }
    if (!this.readOnly) {
      const present = new Set(ids);
      for (const ix of indexes) if (!present.has(ix.id)) unlinkQuietly(join(this.dir, ix.name));
    }
    return { ids: ids.sort((a, b) => a - b), sealed };
  }

  /** A sealed pack that has not been looked at yet. */
  private unloadedPack(id: number): Pack {
    const path = join(this.dir, packFileName(id));
    return { id, path, loaded: false, fd: -1, index: undefined, tail: new Map(), end: PACK_HEADER_BYTES, sealed: true };
  }

  /**
   * Load `pack` if needed; false (and the pack forgotten) when a reader finds its file gone — a gc
   * deleted it after writing its live chunks into newer packs.
   */
  private loadOrDrop(pack: Pack): boolean {
    try {
      this.ensureLoaded(pack);
      return true;
    } catch (err) {
      if (!this.readOnly || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const at = this.packs.indexOf(pack);
      if (at >= 0) this.packs.splice(at, 1);
      this.packsVanished = true;
      return false;
    }
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
   * Reader: pick up records appended to unsealed packs and packs created since the last look
   * (`force`: list the directory even if its mtime looks unchanged). Returns true when anything new
   * was found.
   */
  private refresh(force = false): boolean {
    if (!this.readOnly) return false;
    if (force) this.packsVanished = false;
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
    if (force || stamp !== this.dirStamp) {
      this.dirStamp = stamp;
      const known = new Set(this.packs.map((p) => p.id));
      const { ids, sealed } = this.listDir();
      const listed = new Set(ids);
      // Packs deleted by a gc that this reader never opened: forget them (opened ones stay readable).
      this.packs = this.packs.filter((p) => p.loaded || listed.has(p.id));
      for (const id of ids) {
        if (known.has(id)) continue;
        try {
          this.packs.push(sealed.has(id) ? this.unloadedPack(id) : this.openPack(id));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted since the listing
          continue;
        }
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

/** What a compaction will do. */
interface CompactionPlan {
  /** Packs to rewrite (ascending id) and their live records to copy, in file order. */
  candidates: { pack: Pack; copy: IndexEntry[] }[];
  result: CompactResult;
  /** mtime for the new packs: the newest of the packs they replace. */
  mtimeMs: number;
  maxPackBytes: number;
}

/** Reads whole records of one pack in file order through a window of a few MiB, checking each. */
class RecordWindow {
  private buf = Buffer.alloc(0);
  private start = 0;

  constructor(private readonly pack: Pack) {}

  /** The complete record (header, payload, CRC) of entry `e`; ECHUNKCORRUPT unless it checks out. */
  record(e: IndexEntry): Buffer {
    const at = e.offset - RECORD_HEADER_BYTES;
    const total = RECORD_OVERHEAD + e.length;
    if (at < this.start || at + total > this.start + this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(4 << 20, total));
      const n = readFully(this.pack.fd, this.buf, at);
      this.buf = this.buf.subarray(0, n);
      this.start = at;
    }
    const o = at - this.start;
    const rec = this.buf.subarray(o, o + total);
    const bodyEnd = RECORD_HEADER_BYTES + e.length;
    const ok =
      rec.length === total &&
      rec[0] === RECORD_KIND_CHUNK &&
      rec.readUInt32LE(1) === e.length &&
      rec.toString('latin1', 5, 5 + ADDRESS_BYTES) === e.key &&
      crc32(rec.subarray(0, bodyEnd)) === rec.readUInt32LE(bodyEnd);
    if (!ok) {
      const hex = Buffer.from(e.key, 'latin1').toString('hex');
      throw new ProllyError(
        ErrorCodes.CHUNK_CORRUPT,
        `chunk ${hex} in ${this.pack.path} fails its record check at offset ${at}; nothing was deleted (run git prolly verify)`,
        { address: hex, file: this.pack.path },
      );
    }
    // A copy: the window buffer is reused.
    return Buffer.from(rec);
  }
}

/**
 * One pack written by a compaction: records appended to a temp file (buffered), then `finish()`
 * fsyncs it, gives it the mtime of the packs it replaces, writes its sealed index atomically and
 * renames the pack into place — index first, so whoever lists the pack finds its index beside it.
 */
class CompactedPackWriter {
  readonly id: number;
  readonly path: string;
  private readonly tmp: string;
  private readonly fd: number;
  private readonly entries: IndexEntry[] = [];
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private written = PACK_HEADER_BYTES;
  /** End of the pack including buffered records. */
  end = PACK_HEADER_BYTES;

  constructor(private readonly o: { dir: string; id: number; mtimeMs: number; durable: boolean; bufferBytes: number }) {
    this.id = o.id;
    this.path = join(o.dir, packFileName(o.id));
    this.tmp = tempPathFor(this.path);
    this.fd = openSync(this.tmp, 'wx', 0o644);
    try {
      writeAll(this.fd, encodePackHeader(), 0);
    } catch (err) {
      this.abandon();
      throw err;
    }
  }

  get count(): number {
    return this.entries.length;
  }

  append(e: IndexEntry, record: Buffer): void {
    this.entries.push({ key: e.key, offset: this.end + RECORD_HEADER_BYTES, length: e.length });
    this.buffered.push(record);
    this.bufferedBytes += record.length;
    this.end += record.length;
    if (this.bufferedBytes >= this.o.bufferBytes) this.spill();
  }

  /** Complete the pack and put it in place; returns its id. */
  finish(): number {
    const { durable } = this.o;
    try {
      this.spill();
      if (durable) fdatasyncSync(this.fd);
      const when = new Date(this.o.mtimeMs);
      futimesSync(this.fd, when, when);
      closeSync(this.fd);
    } catch (err) {
      this.abandon();
      throw err;
    }
    writeFileAtomicSync(indexPathOf(this.path), encodeIndex({ entries: this.entries, covered: this.end, sealed: true }), { fsync: durable });
    renameSync(this.tmp, this.path);
    return this.id;
  }

  /** Give up: remove the temp file (a pack never renamed into place is not part of the store). */
  abandon(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* closed */
    }
    unlinkQuietly(this.tmp);
  }

  private spill(): void {
    if (this.bufferedBytes === 0) return;
    writeAll(this.fd, this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes), this.written);
    this.written += this.bufferedBytes;
    this.buffered = [];
    this.bufferedBytes = 0;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
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

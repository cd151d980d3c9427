/**
 * An ObjectBackend that erasure-codes every object across several member backends: each object
 * (a pack, a manifest segment) is cut into stripes (layout.ts), each stripe coded into k data + m
 * parity blocks with a systematic Reed-Solomon code, and shard i (block i of every stripe) is stored
 * as one object on its own member — never two shards of an object on one member. Where the shards
 * went, with a SHA-256 per shard and a checksum per block, is recorded in the placement manifest
 * (placement-manifest.ts), copied to every member and sealed when client encryption is on.
 *
 * Reads fetch only the data blocks a range needs and check them. A block that is missing, corrupt or
 * on an unreachable member is rebuilt from any k good blocks of its stripe; the read succeeds and the
 * object is reported as degraded (`onDegraded`, `degraded`). With fewer than k good blocks the read
 * fails with EUNRECOVERABLE naming the object. `repair()` rewrites bad shards onto healthy or
 * replacement members; `status()` reports members and degraded objects.
 *
 * A PackStore over an ErasureBackend gives erasure-coded packs: the pack layer is unchanged.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { sha256 } from '../../util/hash.js';
import { mapLimit } from '../backends/concurrency.js';
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
import { DEFAULT_BLOCK_SIZE, blockSizeOf, piecesOfRange, shardOffset, stripeData, stripeLayout, type StripeLayout } from './layout.js';
import {
  BLOCK_CHECKSUM_BYTES,
  PLACEMENT_PREFIX,
  PlacementManifest,
  decodeSegment,
  encodeSegment,
  segmentHash,
  segmentName,
  type PlacementRecord,
  type PlacementSealer,
  type ShardPlacement,
} from './placement-manifest.js';
import { ReedSolomon } from './reed-solomon.js';
import { selectBackends, type SelectionStrategy } from './select.js';

/** Prefix of shard objects on member backends. */
export const SHARD_PREFIX = 'shards/';

/** One backend of the erasure set. */
export interface ErasureMember {
  /** Stable id recorded in the placement manifest (the [[storage.backends]] name). */
  id: string;
  backend: ObjectBackend;
  /** Provider label for maxShardsPerProvider (e.g. 'aws'); unset = not limited. */
  provider?: string;
  /** Share of placements under 'weighted' selection (default 1). */
  weight?: number;
}

export interface ErasureBackendOptions {
  members: readonly ErasureMember[];
  /** k: data shards per object. */
  dataShards: number;
  /** m: parity shards per object (any m shards may be lost). */
  parityShards: number;
  /** Block size per shard per stripe (multiple of 8; default 64 KiB). */
  blockSize?: number;
  /** How members are chosen per object (default 'random'). */
  selection?: SelectionStrategy;
  /** At most this many shards of one object on members of one provider. */
  maxShardsPerProvider?: number;
  /** Shards that must be stored for a put to succeed (k..k+m; default k+m). Fewer stored = written degraded. */
  writeQuorum?: number;
  /**
   * Copies written of each placement segment (default min(members, m + 1): any m lost members leave
   * one). A write fails with EQUORUM when fewer could be written.
   */
  manifestCopies?: number;
  /** Seals placement segments and names shards opaquely (client encryption; the Keyring implements it). */
  sealer?: PlacementSealer;
  /** Shard transfers in flight at once (default 8). */
  concurrency?: number;
  /** On a miss, re-read the placement manifest at most this often (ms; default 0 = every miss). */
  refreshIntervalMs?: number;
  /** Randomness for member selection (tests pass a seeded one). */
  random?: () => number;
  /** Called after a read had to reconstruct. */
  onDegraded?: (event: DegradedRead) => void;
  /** Name for messages (default `erasure(k+m):<member ids>`). */
  name?: string;
}

/** One unusable shard met by a read or a scan. */
export interface ShardFault {
  index: number;
  backend: string;
  reason: string;
}

/** What a degraded read reports. */
export interface DegradedRead {
  object: string;
  faults: ShardFault[];
}

export interface ErasureStats extends ObjectBackendStats {
  /** Reads that reconstructed at least one block. */
  degradedReads: number;
  reconstructedBlocks: number;
  shardsWritten: number;
  shardWriteFailures: number;
  segmentsWritten: number;
}

/** Per-member line of `status()`. */
export interface MemberStatus {
  id: string;
  name: string;
  reachable: boolean;
  error?: string;
  /** Shards the manifest places on this member. */
  shards: number;
  /** Of those, how many are missing or damaged. */
  missing: number;
}

export interface ObjectFaults {
  object: string;
  size: number;
  /** Good shards (of k + m). */
  available: number;
  faults: ShardFault[];
}

export interface ErasureStatus {
  k: number;
  m: number;
  members: MemberStatus[];
  objects: number;
  healthy: number;
  /** Readable, but with fewer than k + m good shards. */
  degraded: ObjectFaults[];
  /** Fewer than k good shards. */
  unreadable: ObjectFaults[];
  /** Placement segments that could not be read from any member. */
  manifestProblems: string[];
}

export interface RepairedShard {
  index: number;
  from: string;
  to: string;
  reason: string;
}

export interface RepairReport {
  objects: number;
  healthy: number;
  repaired: { object: string; shards: RepairedShard[] }[];
  unrecoverable: ObjectFaults[];
  /** Copies written of the merged placement manifest. */
  manifestCopies: number;
}

interface ShardRead {
  /** Verified blocks for stripes s1..s2 (undefined = unusable). */
  blocks: (Uint8Array | undefined)[];
  fault?: string;
}

/**
 * @example
 * const ec = new ErasureBackend({ members, dataShards: 10, parityShards: 4 });
 * const packs = new PackStore({ backend: ec });   // erasure-coded packs
 * await packs.putMany(chunks); await packs.flush();
 * await ec.status();                              // degraded objects, member health
 * await ec.repair();                              // rebuild lost shards
 */
export class ErasureBackend implements ObjectBackend {
  readonly name: string;
  readonly k: number;
  readonly m: number;
  readonly stats: ErasureStats = { ...emptyBackendStats(), degradedReads: 0, reconstructedBlocks: 0, shardsWritten: 0, shardWriteFailures: 0, segmentsWritten: 0 };
  /** Objects whose last read needed reconstruction, with what was wrong. */
  readonly degraded = new Map<string, ShardFault[]>();
  private readonly members: Map<string, ErasureMember>;
  private readonly memberList: readonly ErasureMember[];
  private readonly rs: ReedSolomon;
  private readonly blockSize: number;
  private readonly selection: SelectionStrategy;
  private readonly maxPerProvider: number | undefined;
  private readonly writeQuorum: number;
  private readonly manifestCopies: number;
  private readonly sealer: PlacementSealer | undefined;
  private readonly concurrency: number;
  private readonly refreshIntervalMs: number;
  private readonly random: () => number;
  private readonly onDegraded: ((event: DegradedRead) => void) | undefined;

  private manifest = new PlacementManifest();
  private readonly loadedSegments = new Set<string>();
  private manifestProblems: string[] = [];
  private manifestLoad: Promise<void> | undefined;
  private lastRefresh = 0;
  private generationCounter = 0;
  private readonly checksumCache = new WeakMap<ShardPlacement, Buffer>();

  constructor(opts: ErasureBackendOptions) {
    this.k = opts.dataShards;
    this.m = opts.parityShards;
    this.rs = new ReedSolomon(this.k, this.m);
    const ids = new Set<string>();
    for (const mbr of opts.members) {
      if (ids.has(mbr.id)) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `erasure member id "${mbr.id}" is used twice`, { id: mbr.id });
      ids.add(mbr.id);
    }
    if (opts.members.length < this.k + this.m) {
      throw new ProllyError(
        ErrorCodes.BAD_CONFIG,
        `erasure coding with data_shards = ${this.k} and parity_shards = ${this.m} needs at least ${this.k + this.m} backends (one shard per backend), got ${opts.members.length}`,
        { key: 'storage.routing', members: opts.members.length },
      );
    }
    this.memberList = [...opts.members];
    this.members = new Map(opts.members.map((mbr) => [mbr.id, mbr]));
    this.blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.selection = opts.selection ?? 'random';
    this.maxPerProvider = opts.maxShardsPerProvider;
    this.writeQuorum = Math.min(this.k + this.m, Math.max(this.k, opts.writeQuorum ?? this.k + this.m));
    this.manifestCopies = Math.min(opts.members.length, Math.max(1, opts.manifestCopies ?? this.m + 1));
    this.sealer = opts.sealer;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.refreshIntervalMs = opts.refreshIntervalMs ?? 0;
    this.random = opts.random ?? Math.random;
    this.onDegraded = opts.onDegraded;
    this.name = opts.name ?? `erasure(${this.k}+${this.m}):${opts.members.map((mbr) => mbr.id).join(',')}`;
  }

  // ---------------------------------------------------------------- ObjectBackend

  async put(name: string, bytes: Uint8Array, _opts: PutObjectOptions = {}): Promise<void> {
    assertObjectName(name);
    await this.ensureManifest();
    this.stats.puts++;
    this.stats.bytesUp += bytes.length;
    const previous = this.manifest.get(name);
    const record = await this.writeShards(name, bytes);
    await this.writeSegment([record]);
    this.manifest.add([record]);
    if (previous) await this.deleteShards(previous);
  }

  async putIfAbsent(name: string, bytes: Uint8Array, opts: PutObjectOptions = {}): Promise<boolean> {
    assertObjectName(name);
    if (await this.head(name)) return false;
    await this.put(name, bytes, opts);
    return true;
  }

  async get(name: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    assertObjectName(name);
    if (range) assertRange(name, range);
    this.stats.gets++;
    const record = await this.lookup(name);
    if (!record) return undefined;
    const start = range ? Math.min(range.start, record.size) : 0;
    const end = range ? Math.min(range.end, record.size) : record.size;
    const out = await this.readRange(record, start, end);
    this.stats.bytesDown += out.length;
    return out;
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    assertObjectName(name);
    this.stats.heads++;
    const record = await this.lookup(name);
    return record ? { name, size: record.size } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.stats.lists++;
    await this.ensureManifest();
    await this.refreshManifest();
    for (const r of this.manifest.live()) if (r.name.startsWith(prefix)) yield { name: r.name, size: r.size };
  }

  async delete(name: string): Promise<void> {
    assertObjectName(name);
    this.stats.deletes++;
    const record = await this.lookup(name);
    if (!record) return;
    const tombstone: PlacementRecord = { name, size: 0, k: this.k, m: this.m, blockSize: record.blockSize, generation: this.nextGeneration(), deleted: true, shards: [] };
    await this.writeSegment([tombstone]);
    this.manifest.add([tombstone]);
    await this.deleteShards(record);
  }

  // ---------------------------------------------------------------- status and repair

  /**
   * Member reachability and objects with lost or damaged shards. By default shard presence is
   * checked with one LIST per member; `verify: true` reads every shard and checks its blocks.
   */
  async status(opts: { verify?: boolean } = {}): Promise<ErasureStatus> {
    await this.ensureManifest();
    await this.refreshManifest();
    const records = this.manifest.live();
    const present = new Map<string, Map<string, number> | undefined>();
    const errors = new Map<string, string>();
    await mapLimit(this.memberList, this.concurrency, async (mbr) => {
      try {
        const names = new Map<string, number>();
        for await (const o of mbr.backend.list(SHARD_PREFIX)) names.set(o.name, o.size);
        present.set(mbr.id, names);
      } catch (e) {
        present.set(mbr.id, undefined);
        errors.set(mbr.id, (e as Error).message);
      }
    });
    const memberStatus = new Map<string, MemberStatus>(
      this.memberList.map((mbr) => [mbr.id, { id: mbr.id, name: mbr.backend.name, reachable: present.get(mbr.id) !== undefined, error: errors.get(mbr.id), shards: 0, missing: 0 }]),
    );
    const degraded: ObjectFaults[] = [];
    const unreadable: ObjectFaults[] = [];
    let healthy = 0;
    await mapLimit(records, opts.verify ? 2 : 64, async (r) => {
      const layout = stripeLayout(r.size, r.k, r.blockSize);
      let faults: ShardFault[];
      if (opts.verify) {
        const reads = await Promise.all(r.shards.map((_, i) => this.fetchShard(r, layout, i, 0, layout.stripes - 1)));
        faults = reads.flatMap((rd, i) => (rd.fault ? [{ index: i, backend: r.shards[i]!.backend, reason: rd.fault }] : []));
      } else {
        faults = r.shards.flatMap((sp, i) => {
          const reason = this.presenceFault(sp, layout, present);
          return reason ? [{ index: i, backend: sp.backend, reason }] : [];
        });
      }
      for (const [i, sp] of r.shards.entries()) {
        const ms = memberStatus.get(sp.backend);
        if (!ms) continue;
        ms.shards++;
        if (faults.some((f) => f.index === i)) ms.missing++;
      }
      const entry = { object: r.name, size: r.size, available: r.k + r.m - faults.length, faults };
      if (faults.length === 0) healthy++;
      else if (entry.available >= r.k) degraded.push(entry);
      else unreadable.push(entry);
    });
    const byName = (a: ObjectFaults, b: ObjectFaults) => (a.object < b.object ? -1 : 1);
    return {
      k: this.k,
      m: this.m,
      members: [...memberStatus.values()],
      objects: records.length,
      healthy,
      degraded: degraded.sort(byName),
      unreadable: unreadable.sort(byName),
      manifestProblems: [...this.manifestProblems],
    };
  }

  /**
   * Read every shard of every object, rebuild missing or corrupt ones from k good shards, and write
   * them to their member if it is configured and reachable, else to another member that holds no
   * shard of that object. Finally merge the placement manifest into one segment, written afresh to
   * m + 1 members (so copies lost with replaced backends are restored).
   */
  async repair(opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<RepairReport> {
    await this.ensureManifest();
    await this.refreshManifest();
    const records = this.manifest.live();
    const report: RepairReport = { objects: records.length, healthy: 0, repaired: [], unrecoverable: [], manifestCopies: 0 };
    let done = 0;
    await mapLimit(records, 2, async (r) => {
      const result = await this.repairObject(r);
      if (result === 'healthy') report.healthy++;
      else if ('unrecoverable' in result) report.unrecoverable.push(result.unrecoverable);
      else report.repaired.push(result);
      opts.onProgress?.(++done, records.length);
    });
    report.manifestCopies = await this.compactPlacement();
    report.repaired.sort((a, b) => (a.object < b.object ? -1 : 1));
    return report;
  }

  /**
   * Merge every placement segment into one, write `manifestCopies` copies of it, then delete the
   * parts. Returns how many copies were written.
   */
  async compactPlacement(): Promise<number> {
    await this.ensureManifest();
    await this.refreshManifest();
    const listed = await this.listSegments();
    const stored = encodeSegment(this.manifest.all(), this.sealer);
    const name = segmentName(stored);
    const ok = await this.putCopies(name, stored, 'placement manifest');
    this.loadedSegments.add(name);
    // Only segments whose records are all in the union (they were loaded) are deleted.
    for (const [seg, holders] of listed) {
      if (seg === name || !this.loadedSegments.has(seg)) continue;
      await Promise.allSettled(holders.map((id) => this.members.get(id)!.backend.delete(seg)));
    }
    return ok;
  }

  /** The live placement record of an object (for tests and tools). */
  async placementOf(name: string): Promise<PlacementRecord | undefined> {
    return this.lookup(name);
  }

  // ---------------------------------------------------------------- writing

  private async writeShards(name: string, bytes: Uint8Array): Promise<PlacementRecord> {
    const layout = stripeLayout(bytes.length, this.k, this.blockSize);
    const { shards, sums } = await this.encodeShards(bytes, layout);
    const n = this.k + this.m;
    const chosen = selectBackends({ candidates: this.memberList, count: n, strategy: this.selection, maxPerProvider: this.maxPerProvider, random: this.random });
    const used = new Set(chosen.map((c) => c.id));
    const providerCount = new Map<string, number>();
    for (const c of chosen) if (c.provider !== undefined) providerCount.set(c.provider, (providerCount.get(c.provider) ?? 0) + 1);
    const spares = () => {
      try {
        const [s] = selectBackends({ candidates: this.memberList, count: 1, exclude: used, strategy: this.selection, providerCounts: providerCount, maxPerProvider: this.maxPerProvider, random: this.random });
        used.add(s!.id);
        if (s!.provider !== undefined) providerCount.set(s!.provider, (providerCount.get(s!.provider) ?? 0) + 1);
        return s;
      } catch {
        return undefined;
      }
    };
    const writeId = randomBytes(8).toString('hex');
    const placements: ShardPlacement[] = new Array(n);
    const failures: string[] = [];
    await mapLimit(
      Array.from({ length: n }, (_, i) => i),
      this.concurrency,
      async (i) => {
        const shardSha = sha256(shards[i]!);
        const blocks = Buffer.from(sums[i]!).toString('base64');
        const object = this.shardObjectName(name, writeId, i);
        let member: ErasureMember | undefined = chosen[i];
        while (member) {
          try {
            await member.backend.put(object, shards[i]!, { sha256: shardSha });
            this.stats.shardsWritten++;
            placements[i] = { backend: member.id, object, sha256: toHex(shardSha), blocks };
            return;
          } catch (e) {
            this.stats.shardWriteFailures++;
            failures.push(`shard ${i} on ${member.id}: ${(e as Error).message}`);
            member = spares();
          }
        }
        placements[i] = { backend: '', object: '', sha256: toHex(shardSha), blocks };
      },
    );
    const stored = placements.filter((p) => p.backend !== '').length;
    if (stored < this.writeQuorum) {
      await Promise.allSettled(placements.filter((p) => p.backend).map((p) => this.members.get(p.backend)!.backend.delete(p.object)));
      throw new ProllyError(
        ErrorCodes.WRITE_QUORUM,
        `${this.name}: ${name}: stored ${stored} of ${n} shards, write quorum is ${this.writeQuorum}: ${failures.join('; ')}`,
        { object: name, stored, quorum: this.writeQuorum, failures },
      );
    }
    return { name, size: bytes.length, k: this.k, m: this.m, blockSize: this.blockSize, generation: this.nextGeneration(), shards: placements };
  }

  /** All k + m shards of an object and their per-stripe block checksums. */
  private async encodeShards(bytes: Uint8Array, layout: StripeLayout): Promise<{ shards: Buffer[]; sums: Buffer[] }> {
    const n = this.k + this.m;
    const shards = Array.from({ length: n }, () => Buffer.alloc(layout.shardLength));
    const sums = Array.from({ length: n }, () => Buffer.alloc(layout.stripes * BLOCK_CHECKSUM_BYTES));
    const stripes = Array.from({ length: layout.stripes }, (_, s) => s);
    // A few stripes in flight keep both cores of the thread pool busy.
    await mapLimit(stripes, 4, async (s) => {
      const b = blockSizeOf(layout, s);
      const data = stripeData(bytes, layout, s);
      const parity = await this.rs.encode(data, b);
      const off = shardOffset(layout, s);
      for (let i = 0; i < n; i++) {
        const block = i < this.k ? data.subarray(i * b, (i + 1) * b) : parity.subarray((i - this.k) * b, (i - this.k + 1) * b);
        shards[i]!.set(block, off);
        sums[i]!.set(sha256(block).subarray(0, BLOCK_CHECKSUM_BYTES), s * BLOCK_CHECKSUM_BYTES);
      }
    });
    return { shards, sums };
  }

  private shardObjectName(name: string, writeId: string, index: number): string {
    const label = this.sealer ? this.sealer.label('shard', name, writeId, String(index)) : sha256(Buffer.from(`${name}\n${writeId}\n${index}`));
    return `${SHARD_PREFIX}${toHex(label).slice(0, 40)}.shard`;
  }

  private async writeSegment(records: PlacementRecord[]): Promise<void> {
    const stored = encodeSegment(records, this.sealer);
    const name = segmentName(stored);
    await this.putCopies(name, stored, `placement of ${records.map((r) => r.name).join(', ')}`);
    this.loadedSegments.add(name);
  }

  /**
   * Write `manifestCopies` copies of a placement segment on distinct members (random ones, moving on
   * to others when one fails). Returns the number written; EQUORUM when fewer than that.
   */
  private async putCopies(name: string, stored: Uint8Array, what: string): Promise<number> {
    const digest = sha256(stored);
    const order = selectBackends({ candidates: this.memberList, count: this.memberList.length, random: this.random });
    const reasons: string[] = [];
    let next = 0;
    let ok = 0;
    let inFlight = 0;
    const worker = async () => {
      while (ok + inFlight < this.manifestCopies && next < order.length) {
        const mbr = order[next++]!;
        inFlight++;
        try {
          await mbr.backend.put(name, stored, { sha256: digest });
          ok++;
        } catch (e) {
          reasons.push(`${mbr.id}: ${(e as Error).message}`);
        } finally {
          inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: this.manifestCopies }, worker));
    if (ok < this.manifestCopies) {
      throw new ProllyError(
        ErrorCodes.WRITE_QUORUM,
        `${this.name}: ${what} written to ${ok} backends, ${this.manifestCopies} copies needed: ${reasons.join('; ')}`,
        { written: ok, quorum: this.manifestCopies },
      );
    }
    this.stats.segmentsWritten++;
    return ok;
  }

  private async deleteShards(record: PlacementRecord): Promise<void> {
    await Promise.allSettled(record.shards.filter((sp) => sp.backend && this.members.has(sp.backend)).map((sp) => this.members.get(sp.backend)!.backend.delete(sp.object)));
  }

  private nextGeneration(): number {
    return Date.now() * 1000 + (this.generationCounter++ % 1000);
  }

  // ---------------------------------------------------------------- reading

  private async readRange(record: PlacementRecord, start: number, end: number): Promise<Uint8Array> {
    const out = new Uint8Array(end - start);
    if (end <= start) return out;
    const layout = stripeLayout(record.size, record.k, record.blockSize);
    const pieces = piecesOfRange(layout, start, end);
    // Stripes needed from each data shard (a contiguous run, since the range is contiguous).
    const need = new Map<number, { s1: number; s2: number }>();
    for (const p of pieces) {
      const cur = need.get(p.shard);
      if (!cur) need.set(p.shard, { s1: p.stripe, s2: p.stripe });
      else {
        cur.s1 = Math.min(cur.s1, p.stripe);
        cur.s2 = Math.max(cur.s2, p.stripe);
      }
    }
    const blocks = new Map<string, Uint8Array>();
    const faults = new Map<number, ShardFault>();
    await mapLimit([...need.entries()], this.concurrency, async ([i, { s1, s2 }]) => {
      const rd = await this.fetchShard(record, layout, i, s1, s2);
      rd.blocks.forEach((b, j) => b && blocks.set(`${i}:${s1 + j}`, b));
      if (rd.fault) faults.set(i, { index: i, backend: record.shards[i]!.backend, reason: rd.fault });
    });
    const bad = new Set<number>();
    for (const p of pieces) if (!blocks.has(`${p.shard}:${p.stripe}`)) bad.add(p.stripe);
    if (bad.size > 0) {
      const wanted = new Map<number, number[]>();
      for (const p of pieces) {
        if (blocks.has(`${p.shard}:${p.stripe}`)) continue;
        const w = wanted.get(p.stripe) ?? [];
        if (!w.includes(p.shard)) w.push(p.shard);
        wanted.set(p.stripe, w);
      }
      await this.reconstructStripes(record, layout, wanted, blocks, faults);
      const event = { object: record.name, faults: [...faults.values()].sort((a, b) => a.index - b.index) };
      this.stats.degradedReads++;
      this.degraded.set(record.name, event.faults);
      this.onDegraded?.(event);
    }
    for (const p of pieces) out.set(blocks.get(`${p.shard}:${p.stripe}`)!.subarray(p.from, p.to), p.outOffset);
    return out;
  }

  /**
   * Rebuild the `wanted` blocks (stripe → shard indexes) from other shards, fetching more of them
   * until each stripe has k good blocks. Throws EUNRECOVERABLE naming the object otherwise.
   */
  private async reconstructStripes(
    record: PlacementRecord,
    layout: StripeLayout,
    wanted: Map<number, number[]>,
    blocks: Map<string, Uint8Array>,
    faults: Map<number, ShardFault>,
  ): Promise<void> {
    const n = record.k + record.m;
    const stripes = [...wanted.keys()];
    const sMin = Math.min(...stripes);
    const sMax = Math.max(...stripes);
    const goodCount = (s: number) => {
      let c = 0;
      for (let i = 0; i < n; i++) if (blocks.has(`${i}:${s}`)) c++;
      return c;
    };
    const tried = new Set<number>(faults.keys());
    const hasAll = (i: number) => stripes.every((s) => blocks.has(`${i}:${s}`));
    for (;;) {
      const short = Math.max(...stripes.map((s) => record.k - goodCount(s)));
      if (short <= 0) break;
      const next = Array.from({ length: n }, (_, i) => i).filter((i) => !tried.has(i) && !hasAll(i)).slice(0, short);
      if (next.length === 0) break;
      await mapLimit(next, this.concurrency, async (i) => {
        tried.add(i);
        const rd = await this.fetchShard(record, layout, i, sMin, sMax);
        rd.blocks.forEach((b, j) => b && blocks.set(`${i}:${sMin + j}`, b));
        if (rd.fault) faults.set(i, { index: i, backend: record.shards[i]!.backend, reason: rd.fault });
      });
    }
    const lost = stripes.filter((s) => goodCount(s) < record.k);
    if (lost.length > 0) {
      const list = [...faults.values()].sort((a, b) => a.index - b.index);
      throw new ProllyError(
        ErrorCodes.UNRECOVERABLE,
        `${this.name}: ${record.name} is unreadable: ${n - list.length} of ${n} shards usable, ${record.k} needed (${list.map((f) => `shard ${f.index} on ${f.backend || '(none)'}: ${f.reason}`).join('; ')})`,
        { object: record.name, faults: list, needed: record.k },
      );
    }
    for (const s of stripes) {
      const b = blockSizeOf(layout, s);
      const shards: (Uint8Array | undefined)[] = Array.from({ length: n }, (_, i) => blocks.get(`${i}:${s}`));
      const want = wanted.get(s)!;
      await this.rs.reconstruct(shards, b, want);
      for (const i of want) blocks.set(`${i}:${s}`, shards[i]!);
      this.stats.reconstructedBlocks += want.length;
    }
  }

  /** Blocks s1..s2 of shard `i`, each checked against its checksum. Never throws for bad shards. */
  private async fetchShard(record: PlacementRecord, layout: StripeLayout, i: number, s1: number, s2: number): Promise<ShardRead> {
    const count = s2 - s1 + 1;
    const none = (fault: string): ShardRead => ({ blocks: new Array(count).fill(undefined), fault });
    const sp = record.shards[i]!;
    if (!sp.backend) return none('never stored (written degraded)');
    const member = this.members.get(sp.backend);
    if (!member) return none(`backend "${sp.backend}" is not configured`);
    if (layout.stripes === 0) return { blocks: [] };
    const start = shardOffset(layout, s1);
    const end = shardOffset(layout, s2) + blockSizeOf(layout, s2);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await member.backend.get(sp.object, { start, end });
    } catch (e) {
      return none(`unreachable: ${(e as Error).message}`);
    }
    if (!bytes) return none('missing');
    const sums = this.checksumsOf(sp);
    const blocks: (Uint8Array | undefined)[] = [];
    let fault: string | undefined;
    for (let s = s1; s <= s2; s++) {
      const from = shardOffset(layout, s) - start;
      const to = from + blockSizeOf(layout, s);
      if (to > bytes.length) {
        blocks.push(undefined);
        fault ??= 'truncated';
        continue;
      }
      const block = bytes.subarray(from, to);
      const sum = sha256(block);
      if (Buffer.compare(sum.subarray(0, BLOCK_CHECKSUM_BYTES), sums.subarray(s * BLOCK_CHECKSUM_BYTES, (s + 1) * BLOCK_CHECKSUM_BYTES)) !== 0) {
        blocks.push(undefined);
        fault ??= `corrupt (block ${s} does not match its checksum)`;
        continue;
      }
      blocks.push(block);
    }
    return { blocks, fault };
  }

  private checksumsOf(sp: ShardPlacement): Buffer {
    let c = this.checksumCache.get(sp);
    if (!c) {
      c = Buffer.from(sp.blocks, 'base64');
      this.checksumCache.set(sp, c);
    }
    return c;
  }

  private presenceFault(sp: ShardPlacement, layout: StripeLayout, present: Map<string, Map<string, number> | undefined>): string | undefined {
    if (!sp.backend) return 'never stored (written degraded)';
    if (!this.members.has(sp.backend)) return `backend "${sp.backend}" is not configured`;
    const names = present.get(sp.backend);
    if (!names) return 'backend unreachable';
    const size = names.get(sp.object);
    if (size === undefined) return 'missing';
    if (size !== layout.shardLength) return `wrong size ${size}, expected ${layout.shardLength}`;
    return undefined;
  }

  // ---------------------------------------------------------------- repair

  private async repairObject(r: PlacementRecord): Promise<'healthy' | { unrecoverable: ObjectFaults } | { object: string; shards: RepairedShard[] }> {
    const layout = stripeLayout(r.size, r.k, r.blockSize);
    const n = r.k + r.m;
    const reads = await mapLimit(Array.from({ length: n }, (_, i) => i), this.concurrency, (i) => this.fetchShard(r, layout, i, 0, Math.max(0, layout.stripes - 1)));
    const bad = reads.flatMap((rd, i) => (rd.fault ? [i] : []));
    if (bad.length === 0) return 'healthy';
    const faults = bad.map((i) => ({ index: i, backend: r.shards[i]!.backend, reason: reads[i]!.fault! }));
    const rebuilt = bad.map(() => Buffer.alloc(layout.shardLength));
    const sums = bad.map(() => Buffer.alloc(layout.stripes * BLOCK_CHECKSUM_BYTES));
    for (let s = 0; s < layout.stripes; s++) {
      const b = blockSizeOf(layout, s);
      const shards = reads.map((rd) => rd.blocks[s]);
      const good = shards.filter((x) => x !== undefined).length;
      if (good < r.k) return { unrecoverable: { object: r.name, size: r.size, available: good, faults } };
      const want = bad.filter((i) => !shards[i]);
      await this.rs.reconstruct(shards, b, want);
      bad.forEach((i, j) => {
        rebuilt[j]!.set(shards[i]!, shardOffset(layout, s));
        sums[j]!.set(sha256(shards[i]!).subarray(0, BLOCK_CHECKSUM_BYTES), s * BLOCK_CHECKSUM_BYTES);
      });
    }
    // Members already holding a good shard of this object are not eligible.
    const holding = new Set(r.shards.filter((_, i) => !bad.includes(i)).map((sp) => sp.backend));
    const providerCounts = new Map<string, number>();
    for (const id of holding) {
      const p = this.members.get(id)?.provider;
      if (p !== undefined) providerCounts.set(p, (providerCounts.get(p) ?? 0) + 1);
    }
    const writeId = randomBytes(8).toString('hex');
    const shards = [...r.shards];
    const repaired: RepairedShard[] = [];
    // A bad shard goes back to its own member when that is still configured (a corrupt object, or an
    // emptied backend put back under its id); those members are kept from the spares of the others.
    const reserved = new Set(bad.map((i) => r.shards[i]!.backend).filter((id) => this.members.has(id) && !holding.has(id)));
    for (const [j, i] of bad.entries()) {
      const old = r.shards[i]!;
      const object = this.shardObjectName(r.name, writeId, i);
      const digest = sha256(rebuilt[j]!);
      const candidates: ErasureMember[] = [];
      const same = this.members.get(old.backend);
      if (same && reserved.has(same.id) && !holding.has(same.id)) candidates.push(same);
      let placed: ErasureMember | undefined;
      for (;;) {
        const mbr = candidates.shift() ?? this.pickSpare(new Set([...holding, ...reserved]), providerCounts);
        if (!mbr) break;
        holding.add(mbr.id);
        try {
          await mbr.backend.put(object, rebuilt[j]!, { sha256: digest });
          this.stats.shardsWritten++;
          placed = mbr;
          if (mbr.provider !== undefined) providerCounts.set(mbr.provider, (providerCounts.get(mbr.provider) ?? 0) + 1);
          break;
        } catch {
          this.stats.shardWriteFailures++;
        }
      }
      if (!placed) continue; // nowhere to put it now: stays degraded, a later repair retries
      shards[i] = { backend: placed.id, object, sha256: toHex(digest), blocks: sums[j]!.toString('base64') };
      repaired.push({ index: i, from: old.backend || '(none)', to: placed.id, reason: faults[j]!.reason });
    }
    if (repaired.length === 0) return { object: r.name, shards: [] };
    const record: PlacementRecord = { ...r, generation: this.nextGeneration(), shards };
    await this.writeSegment([record]);
    this.manifest.add([record]);
    this.degraded.delete(r.name);
    // Old copies of replaced shards, where they can still be reached.
    await Promise.allSettled(
      repaired.map(({ index }) => {
        const old = r.shards[index]!;
        const mbr = this.members.get(old.backend);
        return mbr && old.object !== shards[index]!.object ? mbr.backend.delete(old.object) : Promise.resolve();
      }),
    );
    return { object: r.name, shards: repaired };
  }

  private pickSpare(exclude: Set<string>, providerCounts: Map<string, number>): ErasureMember | undefined {
    try {
      return selectBackends({ candidates: this.memberList, count: 1, exclude, strategy: this.selection, providerCounts, maxPerProvider: this.maxPerProvider, random: this.random })[0];
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------- manifest

  private async lookup(name: string): Promise<PlacementRecord | undefined> {
    await this.ensureManifest();
    let r = this.manifest.get(name);
    if (!r && Date.now() - this.lastRefresh >= this.refreshIntervalMs) {
      await this.refreshManifest();
      r = this.manifest.get(name);
    }
    return r;
  }

  private ensureManifest(): Promise<void> {
    this.manifestLoad ??= this.refreshManifest().catch((e: unknown) => {
      this.manifestLoad = undefined;
      throw e;
    });
    return this.manifestLoad;
  }

  /** Segment name → members that list it. Unreachable members are skipped. */
  private async listSegments(): Promise<Map<string, string[]>> {
    const listed = new Map<string, string[]>();
    await mapLimit(this.memberList, this.concurrency, async (mbr) => {
      try {
        for await (const o of mbr.backend.list(PLACEMENT_PREFIX)) {
          if (!segmentHash(o.name)) continue;
          const holders = listed.get(o.name) ?? [];
          holders.push(mbr.id);
          listed.set(o.name, holders);
        }
      } catch {
        // An unreachable member: the manifest is on the others.
      }
    });
    return listed;
  }

  private async refreshManifest(): Promise<void> {
    this.lastRefresh = Date.now();
    const listed = await this.listSegments();
    const fresh = [...listed.entries()].filter(([name]) => !this.loadedSegments.has(name));
    const problems: string[] = [];
    await mapLimit(fresh, this.concurrency, async ([name, holders]) => {
      const reasons: string[] = [];
      for (const id of holders) {
        const mbr = this.members.get(id)!;
        let bytes: Uint8Array | undefined;
        try {
          bytes = await mbr.backend.get(name);
        } catch (e) {
          reasons.push(`${id}: ${(e as Error).message}`);
          continue;
        }
        if (!bytes) continue; // compacted away since the listing
        if (toHex(sha256(bytes)) !== segmentHash(name)) {
          reasons.push(`${id}: does not hash to its name`);
          continue;
        }
        try {
          this.manifest.add(decodeSegment(bytes, `${mbr.backend.name}/${name}`, this.sealer));
        } catch (e) {
          // No key for a sealed manifest is a configuration error: say so at once. (A wrong master key
          // is caught earlier, by the keyring; a segment under a key the keyring no longer holds is a
          // leftover of a re-encryption that could not delete it, and is only reported.)
          if (e instanceof ProllyError && e.code === ErrorCodes.KEY_MISSING) throw e;
          reasons.push(`${id}: ${(e as Error).message}`);
          continue;
        }
        this.loadedSegments.add(name);
        return;
      }
      if (reasons.length > 0) problems.push(`${name}: ${reasons.join('; ')}`);
    });
    this.manifestProblems = problems;
  }
}

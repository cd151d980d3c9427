/**
 * LocalStore.compact — gc's sweep — on real pack files: what it removes and keeps, the recent-pack
 * rule, dry runs, idempotence, crashes at each step (the store reopened afterwards, as after a real
 * crash), readers that opened the store before the compaction, and pack ids that never come back.
 */
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import type { Chunk } from '../../src/store/chunk-store.js';
import { LocalStore, type CompactStep } from '../../src/store/local-store.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

const dirs: string[] = [];
const stores: LocalStore[] = [];
const DAY = 86_400_000;

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'prolly-compact-'));
  dirs.push(dir);
  return dir;
}

async function open(options: Parameters<typeof LocalStore.open>[0]): Promise<LocalStore> {
  const s = await LocalStore.open({ durable: false, ...options });
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Chunk i: deterministic bytes of a size between 200 B and ~3 KB. */
function chunk(i: number): Chunk {
  const bytes = utf8(`chunk ${i} `.repeat(20 + ((i * 37) % 300)));
  return { address: sha256(bytes), bytes };
}

/** Pack, index and checkpoint files with their sizes. */
function listing(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of readdirSync(dir).sort()) if (/\.(pack|idx|ckpt)$/.test(n)) out[n] = statSync(join(dir, n)).size;
  return out;
}

/** Make every pack look `days` old (gc only rewrites packs older than its cutoff). */
function age(dir: string, days: number): void {
  const when = new Date(Date.now() - days * DAY);
  for (const n of readdirSync(dir)) if (n.endsWith('.pack')) utimesSync(join(dir, n), when, when);
}

async function addresses(store: LocalStore): Promise<string[]> {
  const out: string[] = [];
  for await (const a of store.list()) out.push(toHex(a));
  return out.sort();
}

/**
 * A store of `n` chunks in packs of ~8 KiB (many packs), all aged 30 days; chunks with i % 3 === 0
 * are garbage.
 */
async function filled(dir: string, n = 120): Promise<{ all: Chunk[]; live: Set<string> }> {
  const w = await open({ dir, packSizeLimit: 8192 });
  const all = Array.from({ length: n }, (_, i) => chunk(i));
  for (const c of all) await w.put(c);
  await w.close();
  age(dir, 30);
  return { all, live: new Set(all.filter((_, i) => i % 3 !== 0).map((c) => toHex(c.address))) };
}

async function expectReadable(store: LocalStore, chunks: readonly Chunk[]): Promise<void> {
  const got = await store.getMany(chunks.map((c) => c.address));
  got.forEach((bytes, i) => expect(bytes && Buffer.from(bytes).equals(Buffer.from(chunks[i]!.bytes)), `chunk ${i}`).toBe(true));
}

describe('LocalStore.compact', () => {
  it('removes the records of dead chunks, keeps every live one readable, and says so exactly (dry run first)', async () => {
    const dir = await tempDir();
    const { all, live } = await filled(dir);
    const liveChunks = all.filter((c) => live.has(toHex(c.address)));
    const deadBytes = all.filter((c) => !live.has(toHex(c.address))).reduce((n, c) => n + c.bytes.length + 41, 0);
    const before = listing(dir);
    const w = await open({ dir, packSizeLimit: 8192 });
    const isLive = (a: Uint8Array) => live.has(toHex(a));

    const dry = await w.compact({ live: isLive, keepNewerThanMs: Date.now() - DAY, dryRun: true });
    expect(listing(dir)).toEqual(before);
    expect(dry).toMatchObject({ dryRun: true, chunksBefore: 120, garbageChunks: 40, garbageBytes: deadBytes, reclaimedChunks: 40, reclaimedBytes: deadBytes, chunksAfter: 80, recentGarbageChunks: 0 });

    const done = await w.compact({ live: isLive, keepNewerThanMs: Date.now() - DAY });
    // The dry run predicted the outcome exactly, file sizes included.
    expect({ ...done, dryRun: true }).toEqual(dry);
    expect(done.bytesAfter).toBe(Object.values(listing(dir)).reduce((a, b) => a + b, 0));
    expect(done.bytesBefore - done.bytesAfter).toBeGreaterThanOrEqual(deadBytes - 2048);
    await expectReadable(w, liveChunks);
    for (const c of all) if (!live.has(toHex(c.address))) expect(await w.has(c.address)).toBe(false);
    expect(await addresses(w)).toEqual([...live].sort());
    // Each new pack respects the size limit, and only whole new packs remain.
    for (const [name, size] of Object.entries(listing(dir))) if (name.endsWith('.pack')) expect(size).toBeLessThanOrEqual(8192);
    await w.close();

    // A fresh process sees the same; a second run finds nothing to do.
    const again = await open({ dir, packSizeLimit: 8192 });
    await expectReadable(again, liveChunks);
    const second = await again.compact({ live: isLive, keepNewerThanMs: Date.now() + DAY });
    expect(second).toMatchObject({ garbageChunks: 0, reclaimedChunks: 0, packsRewritten: 0, packsWritten: 0 });
    expect(second.bytesAfter).toBe(second.bytesBefore);
  });

  it('leaves packs newer than the cutoff whole, garbage and all, and gives new packs the age of what they replace', async () => {
    const dir = await tempDir();
    const { all, live } = await filled(dir, 60);
    const agedAt = statSync(join(dir, readdirSync(dir).find((n) => n.endsWith('.pack'))!)).mtimeMs;
    const w = await open({ dir, packSizeLimit: 8192 });
    const fresh = Array.from({ length: 30 }, (_, i) => chunk(1000 + i)); // written now, all dead
    for (const c of fresh) await w.put(c);
    await w.flush();
    const packIds = () => readdirSync(dir).filter((n) => n.endsWith('.pack')).map((n) => Number(n.slice(0, 8)));
    const maxIdBefore = Math.max(...packIds());
    const isLive = (a: Uint8Array) => live.has(toHex(a));
    const cutoff = Date.now() - DAY;
    const dry = await w.compact({ live: isLive, keepNewerThanMs: cutoff, dryRun: true });
    const r = await w.compact({ live: isLive, keepNewerThanMs: cutoff });
    // Exact even though the pack being appended to is not rewritten (it is sealed, not copied).
    expect({ ...r, dryRun: true }).toEqual(dry);
    expect(r.garbageChunks).toBe(20 + 30);
    // The fresh chunks, and old ones sharing the pack the writer appended to, stay for now.
    expect(r.recentGarbageChunks).toBeGreaterThanOrEqual(30);
    expect(r.reclaimedChunks + r.recentGarbageChunks).toBe(50);
    expect(r.reclaimedChunks).toBeGreaterThan(0);
    await expectReadable(w, fresh);
    await expectReadable(w, all.filter((c) => isLive(c.address)));
    // Packs written by the compaction carry the (old) mtime of their sources, so they stay eligible.
    const written = readdirSync(dir).filter((n) => n.endsWith('.pack') && Number(n.slice(0, 8)) > maxIdBefore);
    expect(written.length).toBe(r.packsWritten);
    for (const n of written) expect(Math.abs(statSync(join(dir, n)).mtimeMs - agedAt)).toBeLessThan(2000);
    // Once old enough, the rest goes too.
    const later = await w.compact({ live: isLive, keepNewerThanMs: Date.now() + DAY });
    expect(later.reclaimedChunks).toBe(r.recentGarbageChunks);
    expect(later.garbageChunks).toBe(r.recentGarbageChunks);
    await expectReadable(w, all.filter((c) => isLive(c.address)));
  });

  for (const crashAt of ['packs-written', 'pack-deleted'] as CompactStep[]) {
    it(`a crash at "${crashAt}" leaves every live chunk readable; the next run completes and removes the duplicates`, async () => {
      const dir = await tempDir();
      const { all, live } = await filled(dir);
      const liveChunks = all.filter((c) => live.has(toHex(c.address)));
      const w = await open({ dir, packSizeLimit: 8192 });
      const crash = new Error(`simulated crash at ${crashAt}`);
      await expect(
        w.compact({
          live: (a) => live.has(toHex(a)),
          keepNewerThanMs: Date.now() - DAY,
          onStep: (step) => {
            if (step === crashAt) throw crash;
          },
        }),
      ).rejects.toBe(crash);
      // As after a real crash: the process is gone; the next one opens the directory afresh.
      stores.splice(stores.indexOf(w), 1);
      await w.close().catch(() => {});

      const reader = await open({ dir, readOnly: true });
      await expectReadable(reader, liveChunks);
      const w2 = await open({ dir, packSizeLimit: 8192 });
      await expectReadable(w2, liveChunks);
      const r = await w2.compact({ live: (a) => live.has(toHex(a)), keepNewerThanMs: Date.now() - DAY });
      expect(r.duplicateChunks).toBeGreaterThan(0); // live chunks both in old packs and in the new ones
      await expectReadable(w2, liveChunks);
      const listed = await addresses(w2);
      expect(listed).toEqual([...live].sort()); // no duplicates, nothing dead, nothing live lost
      await expectReadable(reader, liveChunks);
    });
  }

  it('a reader opened before the compaction still finds every live chunk, in packs it had opened or not', async () => {
    const dir = await tempDir();
    const { all, live } = await filled(dir);
    const liveChunks = all.filter((c) => live.has(toHex(c.address)));
    const reader = await open({ dir, readOnly: true });
    // Open some packs (reads from the newest ones); the oldest packs stay unopened.
    await expectReadable(reader, liveChunks.slice(-10));
    const w = await open({ dir, packSizeLimit: 8192 });
    const r = await w.compact({ live: (a) => live.has(toHex(a)), keepNewerThanMs: Date.now() - DAY });
    expect(r.packsRewritten).toBeGreaterThan(1);
    expect(readdirSync(dir).filter((n) => n.endsWith('.pack')).length).toBe(r.packsAfter);
    await expectReadable(reader, liveChunks);
    const listed = new Set(await addresses(reader));
    for (const a of live) expect(listed.has(a)).toBe(true);
  });

  it('a reader whose listing looks current (same directory mtime) still re-lists when a pack it never opened is gone', async () => {
    const dir = await tempDir();
    const { all, live } = await filled(dir);
    const liveChunks = all.filter((c) => live.has(toHex(c.address)));
    // Readers notice new packs by the directory's mtime; pin it so that this reader's stamp matches
    // after the compaction, as it can when both happen within one clock tick.
    const pinned = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000);
    utimesSync(dir, pinned, pinned);
    const reader = await open({ dir, readOnly: true });
    await expectReadable(reader, liveChunks.slice(-3));
    const w = await open({ dir, packSizeLimit: 8192 });
    await w.compact({ live: (a) => live.has(toHex(a)), keepNewerThanMs: Date.now() - DAY });
    utimesSync(dir, pinned, pinned);
    await expectReadable(reader, liveChunks);
    const listed = new Set(await addresses(reader));
    for (const a of live) expect(listed.has(a)).toBe(true);
  });

  it('never reuses a pack id: a store emptied by gc continues after its highest id, and stale indexes are swept', async () => {
    const dir = await tempDir();
    await filled(dir, 30);
    const before = readdirSync(dir).filter((n) => n.endsWith('.pack')).sort();
    const highest = Number(before[before.length - 1]!.slice(0, 8));
    const w = await open({ dir, packSizeLimit: 8192 });
    const r = await w.compact({ live: () => false, keepNewerThanMs: Date.now() - DAY });
    expect(r).toMatchObject({ chunksAfter: 0, packsWritten: 1, packsAfter: 1 });
    expect(readdirSync(dir).filter((n) => n.endsWith('.pack'))).toEqual([`${String(highest + 1).padStart(8, '0')}.pack`]);
    const c = chunk(5000);
    await w.put(c);
    await w.close();
    expect(readdirSync(dir).filter((n) => n.endsWith('.pack')).sort().pop()).toBe(`${String(highest + 2).padStart(8, '0')}.pack`);
    // An index whose pack is gone (a crash between deleting a pack and its index) is removed by the next writer.
    writeFileSync(join(dir, '00000001.idx'), readFileSync(join(dir, `${String(highest + 1).padStart(8, '0')}.idx`)));
    const w2 = await open({ dir });
    expect(readdirSync(dir)).not.toContain('00000001.idx');
    await expectReadable(w2, [c]);
  });

  it('a live record that fails its check stops the compaction before anything is deleted', async () => {
    const dir = await tempDir();
    const { all, live } = await filled(dir, 30);
    const victim = all.find((c) => live.has(toHex(c.address)))!;
    const pack = readdirSync(dir).find((n) => n.endsWith('.pack') && readFileSync(join(dir, n)).includes(Buffer.from(victim.address)))!;
    const bytes = readFileSync(join(dir, pack));
    const at = bytes.indexOf(Buffer.from(victim.address)) + 32 + 5;
    bytes[at] ^= 0x20;
    writeFileSync(join(dir, pack), bytes);
    age(dir, 30);
    const before = listing(dir);
    const w = await open({ dir, packSizeLimit: 8192 });
    const err = await w.compact({ live: (a) => live.has(toHex(a)), keepNewerThanMs: Date.now() - DAY }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('ECHUNKCORRUPT');
    expect((err as ProllyError).message).toContain(toHex(victim.address));
    for (const name of Object.keys(before)) if (name.endsWith('.pack')) expect(readdirSync(dir)).toContain(name);
    await expectReadable(w, all.filter((c) => c !== victim && live.has(toHex(c.address))));
  });
});

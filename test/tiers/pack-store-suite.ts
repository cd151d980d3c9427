/**
 * PackStore behaviour that must hold over every ObjectBackend (directory, S3): packing, cold-read
 * request counts, concurrent writers, failed-flush recovery, corruption detection, compaction.
 * Request counts come from the backend's own counters (one per object operation).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import type { ObjectBackend, ObjectBackendStats, PutObjectOptions } from '../../src/store/backends/object-backend.js';
import { PackStore } from '../../src/store/pack/pack-store.js';
import { toHex } from '../../src/util/bytes.js';
import { randomChunk } from '../store/conformance.js';

export interface BackendFixture {
  backend: ObjectBackend;
  /** A second backend object over the same storage (what another process would open). */
  reopen(): ObjectBackend;
  cleanup(): Promise<void>;
}

const KiB = 1024;
const MiB = 1024 * KiB;

function delta(after: ObjectBackendStats, before: ObjectBackendStats): ObjectBackendStats {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof ObjectBackendStats)[]) out[k] = after[k] - before[k];
  return out;
}

/** A backend wrapper that fails `put` of pack objects after `okPacks` succeeded (fault injection). */
export class FailingPackPuts implements ObjectBackend {
  okPacks: number;
  constructor(
    private readonly inner: ObjectBackend,
    okPacks: number,
  ) {
    this.okPacks = okPacks;
  }
  get name() {
    return this.inner.name;
  }
  get stats() {
    return this.inner.stats;
  }
  async put(name: string, bytes: Uint8Array, opts?: PutObjectOptions) {
    if (name.startsWith('packs/')) {
      if (this.okPacks <= 0) throw new ProllyError('EBACKEND', `injected failure writing ${name}`, { object: name });
      this.okPacks--;
    }
    return this.inner.put(name, bytes, opts);
  }
  putIfAbsent(name: string, bytes: Uint8Array, opts?: PutObjectOptions) {
    return this.inner.putIfAbsent(name, bytes, opts);
  }
  get(name: string, range?: { start: number; end: number }) {
    return this.inner.get(name, range);
  }
  head(name: string) {
    return this.inner.head(name);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(name: string) {
    return this.inner.delete(name);
  }
}

async function names(backend: ObjectBackend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of backend.list(prefix)) out.push(o.name);
  return out;
}

export function describePackStoreBehaviour(label: string, makeBackend: () => Promise<BackendFixture>): void {
  describe(`PackStore over ${label}`, () => {
    let fixture: BackendFixture | undefined;
    const stores: PackStore[] = [];
    const open = (backend: ObjectBackend, opts: Partial<ConstructorParameters<typeof PackStore>[0]> = {}) => {
      const s = new PackStore({ backend, ...opts });
      stores.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => undefined);
      await fixture?.cleanup();
      fixture = undefined;
    });

    it('packs 5,000 × 4 KiB chunks into about bytes / 8 MiB PUTs', async () => {
      fixture = await makeBackend();
      const { backend } = fixture;
      const chunks = Array.from({ length: 5000 }, () => randomChunk(4 * KiB));
      const before = { ...backend.stats };
      const store = open(backend);
      for (let i = 0; i < chunks.length; i += 700) await store.putMany(chunks.slice(i, i + 700));
      await store.flush();
      const d = delta(backend.stats, before);
      const totalBytes = 5000 * 4 * KiB;
      const packs = Math.ceil(totalBytes / (8 * MiB));
      expect(store.stats.packsWritten).toBe(packs);
      expect(store.stats.segmentsWritten).toBe(1);
      // One PUT per pack plus one manifest segment; per-pack HEAD checks are reads, not uploads.
      expect(d.puts).toBe(packs + 1);
      expect(d.puts).toBeLessThanOrEqual(totalBytes / (8 * MiB) + 2);
      expect(d.bytesUp).toBeGreaterThan(totalBytes);
      expect(d.bytesUp).toBeLessThan(totalBytes * 1.05); // index + manifest overhead under 5%
      expect(await names(backend, 'packs/')).toHaveLength(packs);
      // Everything reads back from a cold store.
      const cold = open(fixture.reopen());
      const sample = [0, 1, 2047, 2048, 4999].map((i) => chunks[i]!);
      const got = await cold.getMany(sample.map((c) => c.address));
      got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(sample[i]!.bytes)));
    });

    it('a cold read costs one manifest LIST, one segment GET and one ranged GET; neighbours share a GET', async () => {
      fixture = await makeBackend();
      const writer = open(fixture.backend, { targetPackBytes: 256 * KiB });
      const chunks = Array.from({ length: 200 }, () => randomChunk(3 * KiB)); // 600 KiB → 3 packs
      await writer.putMany(chunks);
      await writer.flush();
      expect(writer.stats.packsWritten).toBe(3);

      const backend = fixture.reopen();
      const cold = open(backend);
      const s0 = { ...backend.stats };
      expect(toHex((await cold.get(chunks[10]!.address))!)).toBe(toHex(chunks[10]!.bytes));
      const d0 = delta(backend.stats, s0);
      expect({ lists: d0.lists, gets: d0.gets, heads: d0.heads, puts: d0.puts }).toEqual({ lists: 1, gets: 2, heads: 0, puts: 0 });

      // Ten chunks written together sit together in one pack: one ranged GET for all of them.
      const s1 = { ...backend.stats };
      const run = chunks.slice(20, 30);
      const got = await cold.getMany(run.map((c) => c.address));
      got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(run[i]!.bytes)));
      expect(delta(backend.stats, s1).gets).toBe(1);
      expect(delta(backend.stats, s1).bytesDown).toBe(10 * 3 * KiB);

      // Chunks from the first and last pack: one ranged GET per pack, no manifest traffic.
      const s2 = { ...backend.stats };
      await cold.getMany([chunks[0]!.address, chunks[199]!.address]);
      expect(delta(backend.stats, s2)).toMatchObject({ gets: 2, lists: 0 });

      // hasMany answers from the manifest: no requests at all.
      const s3 = { ...backend.stats };
      const has = await cold.hasMany([...chunks.map((c) => c.address), randomChunk(5).address]);
      expect(has.filter(Boolean)).toHaveLength(200);
      expect(has[200]).toBe(false);
      expect(delta(backend.stats, s3)).toMatchObject({ gets: 0, heads: 0, lists: 0 });
    });

    it('two stores flushing to the same prefix at once both land, and the manifest lists both', async () => {
      fixture = await makeBackend();
      const a = open(fixture.backend);
      const b = open(fixture.reopen());
      const shared = randomChunk(1000);
      const ca = [shared, ...Array.from({ length: 50 }, () => randomChunk(2000))];
      const cb = [shared, ...Array.from({ length: 50 }, () => randomChunk(2000))];
      await Promise.all([a.putMany(ca), b.putMany(cb)]);
      await Promise.all([a.flush(), b.flush()]);
      expect(await names(fixture.backend, 'manifest/')).toHaveLength(2);
      const c = open(fixture.reopen());
      const all = [...ca, ...cb.slice(1)];
      const got = await c.getMany(all.map((x) => x.address));
      got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(all[i]!.bytes)));
      const listed = new Set<string>();
      for await (const addr of c.list()) listed.add(toHex(addr));
      expect(listed).toEqual(new Set(all.map((x) => toHex(x.address))));
      // A writer that read the manifest before the other's flush sees it after a miss-triggered refresh.
      expect(toHex((await a.get(cb[5]!.address))!)).toBe(toHex(cb[5]!.bytes));
    });

    it('a flush that fails part-way loses nothing; a retry or a re-run uploads only the missing packs', async () => {
      fixture = await makeBackend();
      const chunks = Array.from({ length: 120 }, () => randomChunk(10 * KiB)); // 1.2 MB → 5 packs of 256 KiB
      const failing = new FailingPackPuts(fixture.backend, 2);
      const first = open(failing, { targetPackBytes: 256 * KiB, uploadConcurrency: 1 });
      let err: unknown;
      try {
        await first.putMany(chunks);
        await first.flush();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProllyError);
      expect((err as ProllyError).code).toBe('EBACKEND');
      expect(await names(fixture.backend, 'manifest/')).toHaveLength(0);
      const packsAfterFailure = await names(fixture.backend, 'packs/');
      expect(packsAfterFailure).toHaveLength(2);

      // A new process knows nothing of the failed push and puts the same chunks again:
      // packs are named by content, so the two already uploaded are found and not sent again.
      const rerun = open(fixture.reopen(), { targetPackBytes: 256 * KiB });
      expect((await rerun.hasMany(chunks.map((c) => c.address))).some(Boolean)).toBe(false);
      await rerun.putMany(chunks);
      await rerun.flush();
      expect(rerun.stats.packsReused).toBe(2);
      expect(rerun.stats.packsWritten).toBe(3);
      expect(await names(fixture.backend, 'packs/')).toHaveLength(5);

      // The failed store itself, once the backend works again, retries only what it had not
      // landed (finding them uploaded by the re-run); chunks it had accepted are not re-packed.
      failing.okPacks = Infinity;
      const before = first.stats.packsWritten + first.stats.packsReused;
      await first.putMany(chunks);
      await first.flush();
      expect(first.stats.packsWritten + first.stats.packsReused - before).toBe(3);
      expect(first.stats.packsWritten).toBe(2);
      const cold = open(fixture.reopen());
      const got = await cold.getMany(chunks.map((c) => c.address));
      expect(got.every((g, i) => g && toHex(g) === toHex(chunks[i]!.bytes))).toBe(true);
    });

    it('a corrupted byte in a pack is caught by the stored per-chunk checksum', async () => {
      fixture = await makeBackend();
      const store = open(fixture.backend);
      const chunks = Array.from({ length: 10 }, () => randomChunk(1000));
      await store.putMany(chunks);
      await store.flush();
      const [packName] = await names(fixture.backend, 'packs/');
      const bytes = (await fixture.backend.get(packName!))!;
      const loc = (await store.locate(chunks[3]!.address))!;
      const damaged = Uint8Array.from(bytes);
      damaged[loc.offset + 17]! ^= 0x40;
      await fixture.backend.put(packName!, damaged);

      const cold = open(fixture.reopen());
      let err: unknown;
      try {
        await cold.get(chunks[3]!.address);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProllyError);
      expect((err as ProllyError).code).toBe('ECHUNKCORRUPT');
      expect((err as ProllyError).message).toContain(toHex(chunks[3]!.address));
      // Its neighbours are intact and still readable.
      expect(toHex((await cold.get(chunks[4]!.address))!)).toBe(toHex(chunks[4]!.bytes));
    });

    it('compaction merges segments into one without losing a chunk; a segment cache avoids refetching', async () => {
      fixture = await makeBackend();
      const store = open(fixture.backend, { compactAfterSegments: 0 });
      const chunks = Array.from({ length: 40 }, () => randomChunk(500));
      for (let i = 0; i < 40; i += 10) {
        await store.putMany(chunks.slice(i, i + 10));
        await store.flush();
      }
      expect(await names(fixture.backend, 'manifest/')).toHaveLength(4);
      // Another writer adds a segment the compactor has not seen yet.
      const other = open(fixture.reopen());
      const late = randomChunk(700);
      await other.put(late);
      await other.flush();
      expect(await store.compactManifest()).toBe(5);
      expect(await names(fixture.backend, 'manifest/')).toHaveLength(1);

      const dir = await mkdtemp(join(tmpdir(), 'prolly-segcache-'));
      try {
        const backend = fixture.reopen();
        const cold = open(backend, { cacheDir: dir });
        const got = await cold.getMany([...chunks, late].map((c) => c.address));
        expect(got.every((g, i) => g && toHex(g) === toHex([...chunks, late][i]!.bytes))).toBe(true);
        expect(cold.stats.segmentsFetched).toBe(1);
        const again = open(fixture.reopen(), { cacheDir: dir });
        expect(await again.has(late.address)).toBe(true);
        expect(again.stats.segmentsFetched).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('flushes automatically compact once the manifest reaches compactAfterSegments', async () => {
      fixture = await makeBackend();
      const store = open(fixture.backend, { compactAfterSegments: 3 });
      for (let i = 0; i < 3; i++) {
        await store.put(randomChunk(100));
        await store.flush();
      }
      expect(store.stats.compactions).toBe(1);
      expect(await names(fixture.backend, 'manifest/')).toHaveLength(1);
      const cold = open(fixture.reopen());
      let n = 0;
      for await (const _ of cold.list()) n++;
      expect(n).toBe(3);
    });
  });
}

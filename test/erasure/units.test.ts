/**
 * Erasure-coding building blocks: the Reed-Solomon codec (any m losses recover the data), the
 * stripe layout, backend selection, placement segments (sealed and plain), write quorum and
 * degraded writes on real directories with injected put failures.
 */
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, ProllyError } from '../../src/errors.js';
import { DirectoryBackend } from '../../src/store/backends/directory-backend.js';
import type { ObjectBackend, PutObjectOptions } from '../../src/store/backends/object-backend.js';
import { Keyring } from '../../src/store/crypto/keyring.js';
import { ErasureBackend, type ErasureMember } from '../../src/store/erasure/erasure-backend.js';
import { blockSizeOf, piecesOfRange, stripeData, stripeLayout } from '../../src/store/erasure/layout.js';
import { decodeSegment, encodeSegment, type PlacementRecord } from '../../src/store/erasure/placement-manifest.js';
import { ReedSolomon } from '../../src/store/erasure/reed-solomon.js';
import { selectBackends, type Candidate } from '../../src/store/erasure/select.js';
import { toHex } from '../../src/util/bytes.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'prolly-ec-'));
  dirs.push(d);
  return d;
}

/** A real directory backend whose puts fail while `failing` is set (a full disk, a dead server). */
class FlakyBackend extends DirectoryBackend {
  failing = false;
  override async put(name: string, bytes: Uint8Array, opts?: PutObjectOptions): Promise<void> {
    if (this.failing) throw new ProllyError(ErrorCodes.BACKEND, `${this.name}: cannot write ${name}: disk full`, {});
    return super.put(name, bytes, opts);
  }
}

async function members(n: number, make: (root: string) => ObjectBackend = (root) => new DirectoryBackend({ root, fsync: false })): Promise<ErasureMember[]> {
  const base = await tempDir();
  return Array.from({ length: n }, (_, i) => ({ id: `d${i}`, backend: make(join(base, `d${i}`)) }));
}

describe('ReedSolomon', () => {
  it('rebuilds any m lost shards of a stripe exactly (k=10, m=4)', async () => {
    const rs = new ReedSolomon(10, 4);
    const b = 4096;
    const data = new Uint8Array(randomBytes(10 * b));
    const parity = await rs.encode(data, b);
    expect(parity.length).toBe(4 * b);
    const original = [...Array.from({ length: 10 }, (_, i) => data.subarray(i * b, (i + 1) * b)), ...Array.from({ length: 4 }, (_, i) => parity.subarray(i * b, (i + 1) * b))].map((x) =>
      Uint8Array.from(x),
    );
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: 13 }), { minLength: 1, maxLength: 4 }), async (lost) => {
        const shards: (Uint8Array | undefined)[] = original.map((x, i) => (lost.includes(i) ? undefined : x));
        await rs.reconstruct(shards, b, lost);
        for (const i of lost) expect(toHex(shards[i]!)).toBe(toHex(original[i]!));
      }),
      { numRuns: 60 },
    );
    const five: (Uint8Array | undefined)[] = original.map((x, i) => (i < 5 ? undefined : x));
    await expect(rs.reconstruct(five, b, [0, 1, 2, 3, 4])).rejects.toMatchObject({ code: ErrorCodes.UNRECOVERABLE });
  });
});

describe('stripe layout', () => {
  it('maps every byte of a range to exactly one data block, with at most 8·k bytes of padding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 1, max: 12 }), fc.constantFrom(64, 1024, 4096), (size, k, bs) => {
        const layout = stripeLayout(size, k, bs);
        expect(layout.shardLength * k - size).toBeGreaterThanOrEqual(0);
        expect(layout.shardLength * k - size).toBeLessThan(8 * k + (size === 0 ? 1 : 0));
        if (size === 0) return;
        const bytes = new Uint8Array(size).map((_, i) => (i * 7) & 255);
        // Rebuild the object from the stripes' data blocks through piecesOfRange.
        const start = Math.floor(size / 3);
        const end = size;
        const out = new Uint8Array(end - start);
        for (const p of piecesOfRange(layout, start, end)) {
          const stripe = stripeData(bytes, layout, p.stripe);
          const b = blockSizeOf(layout, p.stripe);
          out.set(stripe.subarray(p.shard * b + p.from, p.shard * b + p.to), p.outOffset);
        }
        expect(Buffer.compare(Buffer.from(out), Buffer.from(bytes.subarray(start, end)))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('selectBackends', () => {
  it('never picks one backend twice, respects the per-provider cap, and favours heavy weights', () => {
    const candidates: Candidate[] = [
      ...Array.from({ length: 6 }, (_, i) => ({ id: `aws${i}`, provider: 'aws' })),
      ...Array.from({ length: 6 }, (_, i) => ({ id: `gcp${i}`, provider: 'gcp' })),
      { id: 'local', weight: 1 },
    ];
    for (let t = 0; t < 50; t++) {
      const chosen = selectBackends({ candidates, count: 9, maxPerProvider: 4 });
      expect(new Set(chosen.map((c) => c.id)).size).toBe(9);
      expect(chosen.filter((c) => c.provider === 'aws').length).toBeLessThanOrEqual(4);
      expect(chosen.filter((c) => c.provider === 'gcp').length).toBeLessThanOrEqual(4);
    }
    expect(() => selectBackends({ candidates, count: 10, maxPerProvider: 4 })).toThrow(/only 9 of 13/);
    const weighted = [
      { id: 'heavy', weight: 50 },
      ...Array.from({ length: 9 }, (_, i) => ({ id: `light${i}`, weight: 1 })),
    ];
    let heavyFirst = 0;
    for (let t = 0; t < 200; t++) if (selectBackends({ candidates: weighted, count: 1, strategy: 'weighted' })[0]!.id === 'heavy') heavyFirst++;
    expect(heavyFirst).toBeGreaterThan(120); // expected 50/59 ≈ 85 %
  });
});

describe('placement segments', () => {
  const record: PlacementRecord = {
    name: 'packs/ab.pack',
    size: 10,
    k: 2,
    m: 1,
    blockSize: 8,
    generation: 1,
    shards: [0, 1, 2].map((i) => ({ backend: `d${i}`, object: `shards/x${i}.shard`, sha256: '00', blocks: '' })),
  };

  it('round-trip plain and sealed; sealed segments reveal no object name and need the key', async () => {
    expect(decodeSegment(encodeSegment([record]), 'p')).toEqual([record]);
    const store = { name: 'mem', bytes: undefined as Uint8Array | undefined, load: async () => store.bytes, save: async (b: Uint8Array) => void (store.bytes = b) };
    const ring = await Keyring.open({ store, master: new Uint8Array(randomBytes(32)), create: true });
    const sealed = encodeSegment([record], ring);
    expect(Buffer.from(sealed).includes(Buffer.from('packs/ab.pack'))).toBe(false);
    expect(Buffer.from(sealed).includes(Buffer.from('d1'))).toBe(false);
    expect(decodeSegment(sealed, 's', ring)).toEqual([record]);
    expect(() => decodeSegment(sealed, 's')).toThrow(/encrypted/);
    expect(() => decodeSegment(encodeSegment([record]), 's', ring)).toThrow(/not encrypted/);
    const evil = Uint8Array.from(sealed);
    evil[evil.length - 1]! ^= 1;
    expect(() => decodeSegment(evil, 's', ring)).toThrow(/failed authentication/);
  });
});

describe('ErasureBackend writes', () => {
  it('with k + m members and a failing one, a put below quorum fails with EQUORUM and leaves nothing behind', async () => {
    const ms = await members(6, (root) => new FlakyBackend({ root, fsync: false }));
    const ec = new ErasureBackend({ members: ms, dataShards: 4, parityShards: 2, blockSize: 1024 });
    (ms[2]!.backend as FlakyBackend).failing = true;
    const err = await ec.put('packs/a.pack', new Uint8Array(randomBytes(10_000))).then(
      () => undefined,
      (e: unknown) => e as ProllyError,
    );
    expect(err?.code).toBe(ErrorCodes.WRITE_QUORUM);
    expect(err?.message).toContain('disk full');
    for (const m of ms) {
      const left: string[] = [];
      for await (const o of m.backend.list('shards/')) left.push(o.name);
      expect(left).toEqual([]);
    }
    expect(await ec.head('packs/a.pack')).toBeUndefined();
  });

  it('fails over to a spare member, and with writeQuorum = k writes degraded; repair completes it', async () => {
    const ms = await members(8, (root) => new FlakyBackend({ root, fsync: false }));
    const ec = new ErasureBackend({ members: ms, dataShards: 4, parityShards: 2, blockSize: 1024, writeQuorum: 5, selection: 'ordered' });
    const bytes = new Uint8Array(randomBytes(20_000));
    (ms[0]!.backend as FlakyBackend).failing = true;
    await ec.put('packs/spare.pack', bytes);
    const rec = (await ec.placementOf('packs/spare.pack'))!;
    expect(rec.shards.every((s) => s.backend !== '' && s.backend !== 'd0')).toBe(true);
    expect(new Set(rec.shards.map((s) => s.backend)).size).toBe(6);

    // Three members down: only 5 of 6 shards can be stored; quorum 5 accepts it as degraded.
    for (const i of [0, 1, 2]) (ms[i]!.backend as FlakyBackend).failing = true;
    await ec.put('packs/degraded.pack', bytes);
    const st = await ec.status();
    expect(st.degraded.map((d) => d.object)).toEqual(['packs/degraded.pack']);
    expect(st.degraded[0]!.faults[0]!.reason).toMatch(/never stored/);
    expect(toHex((await ec.get('packs/degraded.pack'))!)).toBe(toHex(bytes));

    for (const i of [0, 1, 2]) (ms[i]!.backend as FlakyBackend).failing = false;
    const report = await ec.repair();
    expect(report.repaired.map((r) => r.object)).toEqual(['packs/degraded.pack']);
    const after = await new ErasureBackend({ members: ms, dataShards: 4, parityShards: 2 }).status({ verify: true });
    expect(after.degraded).toEqual([]);
    expect(after.healthy).toBe(2);
  });

  it('rejects a configuration with fewer members than k + m', async () => {
    const ms = await members(5);
    expect(() => new ErasureBackend({ members: ms, dataShards: 4, parityShards: 2 })).toThrow(/at least 6 backends/);
  });
});

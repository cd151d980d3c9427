/**
 * `strategy = "erasure"` through the tiered layer's createPlacement, configured as a user would:
 * [[storage.backends]] directories, [storage.routing] k and m, zstd, and client encryption with the
 * key in an environment variable.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig, type ProllyConfig } from '../../src/config/config.js';
import { ErrorCodes, ProllyError } from '../../src/errors.js';
import { EnvKeyProvider } from '../../src/store/crypto/key-provider.js';
import { ErasurePlacement, registerErasurePlacement, registerPerPackReplication } from '../../src/store/erasure/placement.js';
import { createPlacement } from '../../src/store/tiered/placement.js';
import { Tier } from '../../src/store/tiered/tier.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function config(base: string): ProllyConfig {
  const c = defaultConfig();
  c.storage.backends = Array.from({ length: 6 }, (_, i) => ({ name: `share${i}`, type: 'local' as const, path: join(base, `share${i}`) }));
  c.storage.routing = { ...c.storage.routing, strategy: 'erasure', data_shards: 4, parity_shards: 2 };
  c.security = { ...c.security, client_encryption: true, key_provider: 'env:PROLLY_TEST_EC_KEY' };
  return c;
}

function tiersOf(c: ProllyConfig, base: string): Tier[] {
  return c.storage.backends.map((b) => new Tier(b, { workTree: base, compression: c.compression }));
}

describe('ErasurePlacement via createPlacement', () => {
  it('stores encrypted, erasure-coded packs on the configured directories and reads them back after losing 2', async () => {
    const base = await mkdtemp(join(tmpdir(), 'prolly-ecplace-'));
    dirs.push(base);
    const c = config(base);
    const env = { PROLLY_TEST_EC_KEY: randomBytes(32).toString('hex') };
    registerErasurePlacement({ compression: c.compression, security: c.security, keyProvider: new EnvKeyProvider({ variable: 'PROLLY_TEST_EC_KEY', env }) });
    const placement = createPlacement({ routing: c.storage.routing, tiers: tiersOf(c, base) });
    expect(placement).toBeInstanceOf(ErasurePlacement);
    const rows = Array.from({ length: 300 }, (_, i) => utf8(`{"patient":"p-${i}","diagnosis":"confidential-${i}"}`));
    const chunks = rows.map((bytes) => ({ address: sha256(bytes), bytes }));
    await placement.putMany(chunks);
    await placement.flush();
    await placement.close();

    for (let i = 0; i < 6; i++) {
      const d = join(base, `share${i}`);
      const files = await readdir(d, { recursive: true, withFileTypes: true });
      const shards = files.filter((f) => f.isFile() && f.parentPath.endsWith('shards'));
      expect(shards.length).toBeGreaterThan(0);
      for (const f of files.filter((x) => x.isFile())) {
        const bytes = await readFile(join(f.parentPath, f.name));
        expect(bytes.includes(Buffer.from('confidential'))).toBe(false);
      }
    }

    // Two shares wiped: a fresh placement still reads every chunk.
    await rm(join(base, 'share1'), { recursive: true, force: true });
    await rm(join(base, 'share4'), { recursive: true, force: true });
    const again = createPlacement({ routing: c.storage.routing, tiers: tiersOf(c, base) }) as ErasurePlacement;
    const got = await again.getMany(chunks.map((x) => x.address));
    got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(rows[i]!)));
    const set = await again.erasureSet();
    // Every pack has one shard on each of the 6 shares, so each is degraded now. (Whether the reads
    // above were degraded depends on where the random placement put the data shards: both wiped
    // shares hold only parity for 1 pack in 15, so the read counter is not asserted here.)
    const before = await set.backend.status();
    expect(before.objects).toBeGreaterThan(0);
    expect(before.degraded.length).toBe(before.objects);
    for (const d of before.degraded) expect(d.available).toBe(4);
    const report = await set.backend.repair();
    expect(report.unrecoverable).toEqual([]);
    expect((await set.backend.status({ verify: true })).degraded).toEqual([]);

    // Without the key: EKEYMISSING; with another key: EKEYWRONG.
    registerErasurePlacement({ compression: c.compression, security: c.security, keyProvider: new EnvKeyProvider({ variable: 'PROLLY_TEST_EC_KEY', env: {} }) });
    const missing = await createPlacement({ routing: c.storage.routing, tiers: tiersOf(c, base) }).get(chunks[0]!.address).catch((e: unknown) => e as ProllyError);
    expect((missing as ProllyError).code).toBe(ErrorCodes.KEY_MISSING);
    registerErasurePlacement({
      compression: c.compression,
      security: c.security,
      keyProvider: new EnvKeyProvider({ variable: 'K', env: { K: randomBytes(32).toString('hex') } }),
    });
    const wrong = await createPlacement({ routing: c.storage.routing, tiers: tiersOf(c, base) }).get(chunks[0]!.address).catch((e: unknown) => e as ProllyError);
    expect((wrong as ProllyError).code).toBe(ErrorCodes.KEY_WRONG);
  });

  it('refuses fewer backends than k + m with a configuration error', () => {
    const c = config('/nonexistent');
    c.storage.routing.parity_shards = 3;
    registerErasurePlacement({ compression: c.compression, security: c.security });
    expect(() => createPlacement({ routing: c.storage.routing, tiers: tiersOf(c, '/nonexistent') })).toThrow(/needs 7 remote backends, 6 are configured/);
  });
});

describe('per-pack replication (strategy = "replicate" through ErasurePlacement)', () => {
  it('puts replication_factor copies of each pack on members chosen per pack, and survives losing all but one copy', async () => {
    const base = await mkdtemp(join(tmpdir(), 'prolly-repl-'));
    dirs.push(base);
    const c = defaultConfig();
    c.storage.backends = Array.from({ length: 6 }, (_, i) => ({ name: `r${i}`, type: 'local' as const, path: join(base, `r${i}`) }));
    c.storage.routing = { ...c.storage.routing, strategy: 'replicate', replication_factor: 3, quorum: 2 };
    registerPerPackReplication({ compression: c.compression, security: c.security, targetPackBytes: 8 * 1024 });
    const placement = createPlacement({ routing: c.storage.routing, tiers: tiersOf(c, base) }) as ErasurePlacement;
    expect(placement.strategy).toBe('replicate');
    const chunks = Array.from({ length: 120 }, (_, i) => {
      const bytes = new Uint8Array(randomBytes(400 + i));
      return { address: sha256(bytes), bytes };
    });
    await placement.putMany(chunks);
    await placement.flush();
    const set = await placement.erasureSet();
    const layouts = new Set<string>();
    for await (const o of set.backend.list('packs/')) {
      const rec = (await set.backend.placementOf(o.name))!;
      expect(rec.k).toBe(1);
      expect(rec.shards.length).toBe(3);
      const members = rec.shards.map((s) => s.backend);
      expect(new Set(members).size).toBe(3);
      layouts.add([...members].sort().join(','));
    }
    expect(layouts.size).toBeGreaterThan(1); // chosen per pack, not one fixed set of tiers
    await placement.close();

    // Wipe two members: every pack still has at least one copy (3 copies, 2 lost at most).
    await rm(join(base, 'r0'), { recursive: true, force: true });
    await rm(join(base, 'r3'), { recursive: true, force: true });
    const again = createPlacement({ routing: c.storage.routing, tiers: tiersOf(c, base) });
    const got = await again.getMany(chunks.map((x) => x.address));
    got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(chunks[i]!.bytes)));
  });
});

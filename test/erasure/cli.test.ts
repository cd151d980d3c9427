/**
 * `git prolly repair` and `git prolly rekey` through the real CLI, in a throwaway repository whose
 * .prolly/config.toml spreads an encrypted, erasure-coded remote (k = 4, m = 2) over six directories.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { StaticKeyProvider } from '../../src/store/crypto/key-provider.js';
import { ErasurePlacement } from '../../src/store/erasure/placement.js';
import { remoteTiers } from '../../src/store/tiered/repo-store.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { ensureBuilt, makeRepo, type TestRepo } from '../cli/helpers.js';

beforeAll(ensureBuilt, 300_000);

const SHARES = 6;

/** The newest audit-log entry. */
function lastAudit(r: TestRepo): { op: string; what: string; details: Record<string, unknown> } {
  const all = JSON.parse(r.ok(['audit', '--json'])) as { entry: { seq: number; op: string; what: string; details: Record<string, unknown> } }[];
  return all.reduce((a, b) => (b.entry.seq > a.entry.seq ? b : a)).entry;
}

describe('git prolly repair / rekey', () => {
  let r: TestRepo;
  const key1 = randomBytes(32).toString('hex');
  const key2 = randomBytes(32).toString('hex');
  const rows = Array.from({ length: 200 }, (_, i) => utf8(`{"invoice":${i},"amount":"${i * 3}.00 EUR","secret":"s-${i}"}`));
  const chunks = rows.map((bytes) => ({ address: sha256(bytes), bytes }));
  const share = (i: number) => join(r.home, `share${i}`);

  function placement(keyHex: string): ErasurePlacement {
    const config = loadConfig(join(r.dir, '.prolly', 'config.toml'));
    const loc = { workTree: r.dir, prollyDir: join(r.dir, '.git', 'prolly') };
    return new ErasurePlacement({
      routing: config.storage.routing,
      tiers: remoteTiers(config, loc),
      settings: { compression: config.compression, security: config.security, keyProvider: new StaticKeyProvider(Buffer.from(keyHex, 'hex')) },
    });
  }

  beforeAll(async () => {
    r = makeRepo({ init: true });
    const backends = Array.from({ length: SHARES }, (_, i) => `[[storage.backends]]\nname = "share${i}"\ntype = "local"\npath = "${share(i)}"\n`).join('\n');
    writeFileSync(
      join(r.dir, '.prolly', 'config.toml'),
      `[[storage.backends]]\nname = "local"\ntype = "local"\npath = ".git/prolly/store"\n\n${backends}\n[storage.routing]\nstrategy = "erasure"\ndata_shards = 4\nparity_shards = 2\n\n[security]\nclient_encryption = true\nkey_provider = "env"\n`,
    );
    const p = placement(key1);
    await p.putMany(chunks);
    await p.flush();
    await p.close();
  });
  afterAll(() => r?.cleanup());

  it('repair --dry-run reports health; after a share is wiped, repair rebuilds its shards', () => {
    const env = { GIT_PROLLY_ENCRYPTION_KEY: key1 };
    const healthy = r.prolly(['repair', '--dry-run'], { env });
    expect(healthy.stderr).toBe('');
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/0 degraded, 0 unreadable/);

    rmSync(share(2), { recursive: true, force: true });
    const hurt = r.prolly(['repair', '--dry-run', '--json'], { env });
    expect(hurt.code).toBe(1);
    const st = JSON.parse(hurt.stdout) as { degraded: { object: string; faults: { backend: string }[] }[]; unreadable: unknown[] };
    expect(st.degraded.length).toBeGreaterThan(0);
    expect(st.unreadable).toEqual([]);
    for (const d of st.degraded) expect(d.faults.map((f) => f.backend)).toEqual(['share2']);
    // storage status shows the same degraded packs next to backend health.
    const status = r.prolly(['storage', 'status'], { env });
    expect(status.stdout).toMatch(new RegExp(`${st.degraded.length} degraded, 0 unreadable`));
    expect(status.stdout).toContain(`degraded   ${st.degraded[0]!.object}`);
    const statusJson = JSON.parse(r.prolly(['storage', 'status', '--json'], { env }).stdout) as { erasure: { degraded: unknown[] } };
    expect(statusJson.erasure.degraded.length).toBe(st.degraded.length);

    const fixed = r.prolly(['repair'], { env });
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(new RegExp(`${st.degraded.length} repaired, 0 unrecoverable`));
    // The repair is in the audit log: which objects, which shards, from where to where.
    const entry = lastAudit(r);
    expect(entry.op).toBe('repair');
    expect((entry.details.repaired as { object: string; shards: { to: string }[] }[]).map((x) => x.object).sort()).toEqual(st.degraded.map((d) => d.object).sort());
    expect((entry.details.repaired as { shards: { to: string }[] }[]).flatMap((x) => x.shards.map((s) => s.to))).toContain('share2');
    expect(fixed.stdout).toMatch(/share2 → share2/);
    expect(readdirSync(join(share(2), 'shards')).length).toBe(st.degraded.length);
    expect(r.prolly(['repair', '--dry-run'], { env }).code).toBe(0);
  });

  it('a missing or wrong key is one clear line with exit 2', () => {
    const missing = r.prolly(['repair', '--dry-run'], { env: { GIT_PROLLY_ENCRYPTION_KEY: '' } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^git-prolly: client encryption is on but no key is set: environment variable GIT_PROLLY_ENCRYPTION_KEY is empty/);
    const wrong = r.prolly(['repair', '--dry-run'], { env: { GIT_PROLLY_ENCRYPTION_KEY: randomBytes(32).toString('hex') } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/is not the key this remote was encrypted with/);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('rekey --new-key re-wraps (old key refused, new key reads); rekey --reencrypt replaces every shard', async () => {
    const wrap = r.prolly(['rekey', '--new-key', 'env:NEW_PROLLY_KEY'], { env: { GIT_PROLLY_ENCRYPTION_KEY: key1, NEW_PROLLY_KEY: key2 } });
    expect(wrap.stderr).toBe('');
    expect(wrap.code).toBe(0);
    expect(wrap.stdout).toMatch(/keyring re-wrapped under env:NEW_PROLLY_KEY/);
    const wrapEntry = lastAudit(r);
    expect(wrapEntry.op).toBe('rekey');
    expect(wrapEntry.what).toContain('re-wrapped under env:NEW_PROLLY_KEY');
    // Names of key providers only: no key material in the log.
    const log = r.ok(['audit', '--json']);
    for (const secret of [key1, key2]) expect(log).not.toContain(secret);
    expect(r.prolly(['repair', '--dry-run'], { env: { GIT_PROLLY_ENCRYPTION_KEY: key1 } }).stderr).toMatch(/not the key/);
    expect(r.prolly(['repair', '--dry-run'], { env: { GIT_PROLLY_ENCRYPTION_KEY: key2 } }).code).toBe(0);

    const shardsBefore = new Set(Array.from({ length: SHARES }, (_, i) => readdirSync(join(share(i), 'shards'))).flat());
    const re = r.prolly(['rekey', '--reencrypt', '--json'], { env: { GIT_PROLLY_ENCRYPTION_KEY: key2 } });
    expect(re.stderr).toBe('');
    expect(re.code).toBe(0);
    const out = JSON.parse(re.stdout) as { remotes: { chunks: number; oldKeyIds: string[]; newKeyId: string }[] };
    expect(out.remotes[0]!.chunks).toBe(chunks.length);
    const reEntry = lastAudit(r);
    expect(reEntry.op).toBe('rekey');
    expect((reEntry.details.remotes as { chunks: number; newKeyId: string }[])[0]).toMatchObject({ chunks: chunks.length, newKeyId: out.remotes[0]!.newKeyId });
    const shardsAfter = Array.from({ length: SHARES }, (_, i) => readdirSync(join(share(i), 'shards'))).flat();
    expect(shardsAfter.filter((s) => shardsBefore.has(s))).toEqual([]);

    const p = placement(key2);
    const got = await p.getMany(chunks.map((c) => c.address));
    got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(rows[i]!)));
    const set = await p.erasureSet();
    expect(set.keyring!.all.map((k) => k.idHex)).toEqual([out.remotes[0]!.newKeyId]);
    expect((await set.backend.status({ verify: true })).degraded).toEqual([]);
  });
});

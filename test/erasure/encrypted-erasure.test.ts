/**
 * Encryption and erasure coding together, the way a user who trusts no provider runs them:
 * EncryptingStore → PackStore → ErasureBackend (sealed placement manifest) → directories. No backend
 * holds plaintext, a pack name, or a clue to where the other shards are; a wrong key fails cleanly.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, ProllyError } from '../../src/errors.js';
import { DirectoryBackend } from '../../src/store/backends/directory-backend.js';
import { EncryptingStore } from '../../src/store/crypto/encrypting-store.js';
import { Keyring, ReplicatedKeyringStore } from '../../src/store/crypto/keyring.js';
import { reencryptPackRemote } from '../../src/store/crypto/rekey.js';
import type { ByteRange, ObjectInfo, PutObjectOptions } from '../../src/store/backends/object-backend.js';
import { ErasureBackend, type ErasureMember } from '../../src/store/erasure/erasure-backend.js';
import { PackStore } from '../../src/store/pack/pack-store.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function allFiles(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath, e.name);
      out.push({ path: p.slice(dir.length), bytes: await readFile(p) });
    }
  }
  return out;
}

describe('encrypted, erasure-coded remote (k=4, m=2 over 6 directories)', () => {
  it('stores only ciphertext and sealed placement; reads back with the key; a wrong key is EKEYWRONG', async () => {
    const base = await mkdtemp(join(tmpdir(), 'prolly-ecenc-'));
    dirs.push(base);
    const members: ErasureMember[] = Array.from({ length: 6 }, (_, i) => ({ id: `d${i}`, backend: new DirectoryBackend({ root: join(base, `d${i}`), fsync: false }) }));
    const master = new Uint8Array(randomBytes(32));
    const keyringStore = new ReplicatedKeyringStore({ backends: members.map((m) => m.backend), quorum: 3 });
    const open = async (key: Uint8Array, create = false) => {
      const keyring = await Keyring.open({ store: keyringStore, master: key, create });
      const ec = new ErasureBackend({ members, dataShards: 4, parityShards: 2, blockSize: 4096, sealer: keyring });
      const pack = new PackStore({ backend: ec, targetPackBytes: 64 * 1024 });
      return { ec, pack, store: new EncryptingStore({ inner: pack, keyring }) };
    };
    const rows = Array.from({ length: 400 }, (_, i) => utf8(JSON.stringify({ id: `acct-${i}`, iban: `PT50000201231234567890${String(i).padStart(3, '0')}` })));
    const chunks = rows.map((bytes) => ({ address: sha256(bytes), bytes }));
    const w = await open(master, true);
    await w.store.putMany(chunks);
    await w.store.flush();
    const packNames: string[] = [];
    for await (const o of w.ec.list('packs/')) packNames.push(o.name);
    expect(packNames.length).toBeGreaterThan(0);

    for (const m of members) {
      const files = await allFiles((m.backend as DirectoryBackend).name.slice('dir:'.length));
      expect(files.length).toBeGreaterThan(2);
      const blob = Buffer.concat(files.map((f) => f.bytes));
      const paths = files.map((f) => f.path).join('\n');
      expect(blob.includes(Buffer.from('PT5000020123'))).toBe(false);
      expect(blob.includes(Buffer.from('acct-'))).toBe(false);
      // The placement manifest is sealed: no pack name, no member id, inside any object or path.
      expect(blob.includes(Buffer.from('packs/'))).toBe(false);
      expect(blob.includes(Buffer.from('"backend"'))).toBe(false);
      for (const p of packNames) expect(paths).not.toContain(p.slice('packs/'.length, 'packs/'.length + 16));
      for (const c of chunks.slice(0, 50)) expect(blob.includes(Buffer.from(c.address))).toBe(false);
    }

    // Lose two members entirely: still readable with the key.
    const degraded = members.map((m, i) => (i < 2 ? { id: m.id, backend: new DirectoryBackend({ root: join(base, `empty${i}`), fsync: false }) } : m));
    const keyring = await Keyring.open({ store: new ReplicatedKeyringStore({ backends: degraded.map((m) => m.backend), quorum: 3 }), master });
    const ec = new ErasureBackend({ members: degraded, dataShards: 4, parityShards: 2, sealer: keyring });
    const reader = new EncryptingStore({ inner: new PackStore({ backend: ec }), keyring });
    const got = await reader.getMany(chunks.map((c) => c.address));
    got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(rows[i]!)));

    const wrong = await open(new Uint8Array(randomBytes(32))).then(
      () => undefined,
      (e: unknown) => e as ProllyError,
    );
    expect(wrong?.code).toBe(ErrorCodes.KEY_WRONG);
    // Reading the sealed placement without any key says it is encrypted, not "corrupt".
    const noKey = new ErasureBackend({ members, dataShards: 4, parityShards: 2 });
    const err = await noKey.head(packNames[0]!).then(
      () => undefined,
      (e: unknown) => e as ProllyError,
    );
    expect(err?.code).toBe(ErrorCodes.KEY_MISSING);
  });
});

/** A real directory that can be switched off (a provider outage): every call then fails. */
class OutageBackend extends DirectoryBackend {
  down = false;
  private gate(): void {
    if (this.down) throw new ProllyError(ErrorCodes.BACKEND, `${this.name}: connection refused`, {});
  }
  override async put(name: string, bytes: Uint8Array, opts?: PutObjectOptions): Promise<void> {
    this.gate();
    return super.put(name, bytes, opts);
  }
  override async get(name: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    this.gate();
    return super.get(name, range);
  }
  override async head(name: string): Promise<ObjectInfo | undefined> {
    this.gate();
    return super.head(name);
  }
  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.gate();
    yield* super.list(prefix);
  }
  override async delete(name: string): Promise<void> {
    this.gate();
    return super.delete(name);
  }
}

describe('re-encryption while a member is down', () => {
  it('rewrites everything on the reachable members; the leftover segment sealed under the retired key is reported, not fatal', async () => {
    const base = await mkdtemp(join(tmpdir(), 'prolly-ecrekey-'));
    dirs.push(base);
    const members: ErasureMember[] = Array.from({ length: 7 }, (_, i) => ({ id: `d${i}`, backend: new OutageBackend({ root: join(base, `d${i}`), fsync: false }) }));
    const ringStore = new ReplicatedKeyringStore({ backends: members.map((m) => m.backend), quorum: 3 });
    const master = new Uint8Array(randomBytes(32));
    const open = async (manifestCopies = 3) => {
      const keyring = await Keyring.open({ store: ringStore, master, create: true });
      const ec = new ErasureBackend({ members, dataShards: 4, parityShards: 2, blockSize: 1024, sealer: keyring, manifestCopies });
      return { keyring, ec, store: new EncryptingStore({ inner: new PackStore({ backend: ec, targetPackBytes: 16 * 1024 }), keyring }) };
    };
    const chunks = Array.from({ length: 60 }, (_, i) => {
      const bytes = utf8(`row ${i} ${'x'.repeat(300)}`);
      return { address: sha256(bytes), bytes };
    });
    // Every member holds a copy of each placement segment.
    const w = await open(7);
    await w.store.putMany(chunks);
    await w.store.flush();

    const d6 = members[6]!.backend as OutageBackend;
    d6.down = true;
    const a = await open();
    const oldKey = a.keyring.active.idHex;
    const result = await reencryptPackRemote({ backend: a.ec, keyring: a.keyring, packOptions: { targetPackBytes: 16 * 1024 }, beforeRetire: async () => void (await a.ec.compactPlacement()) });
    expect(result.oldKeyIds).toEqual([oldKey]);
    d6.down = false;

    const b = await open();
    expect(b.keyring.all.map((k) => k.idHex)).toEqual([result.newKeyId]);
    const got = await b.store.getMany(chunks.map((c) => c.address));
    got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(chunks[i]!.bytes)));
    const st = await b.ec.status();
    expect(st.manifestProblems.length).toBeGreaterThan(0);
    expect(st.manifestProblems.join('\n')).toMatch(new RegExp(`encrypted under key ${oldKey}|sealed under key ${oldKey}`));
    expect(st.unreadable).toEqual([]);
  });
});

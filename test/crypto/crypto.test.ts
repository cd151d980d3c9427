/**
 * Client-side encryption: key providers, data keys, the keyring, the EncryptingStore layer, and an
 * encrypted pack remote on a real S3 server (s3rver) scanned byte by byte for leaks.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, ProllyError } from '../../src/errors.js';
import { DirectoryBackend } from '../../src/store/backends/directory-backend.js';
import type { ObjectBackend } from '../../src/store/backends/object-backend.js';
import { S3Backend } from '../../src/store/backends/s3-backend.js';
import type { Chunk } from '../../src/store/chunk-store.js';
import { DataKey, ENCRYPTION_OVERHEAD, keyIdOf } from '../../src/store/crypto/data-key.js';
import { EncryptingStore } from '../../src/store/crypto/encrypting-store.js';
import { EnvKeyProvider, FileKeyProvider, generateMasterKeyText, parseKeyProvider } from '../../src/store/crypto/key-provider.js';
import { BackendKeyringStore, Keyring } from '../../src/store/crypto/keyring.js';
import { reencryptPackRemote, rewrapMasterKey } from '../../src/store/crypto/rekey.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { PackStore } from '../../src/store/pack/pack-store.js';
import { NodeStore } from '../../src/tree/node-store.js';
import { ProllyTree } from '../../src/tree/prolly-tree.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { s3Endpoint } from '../setup/servers.js';
import { createTestBucket, s3rverClient } from '../setup/s3rver.js';
import { describeChunkStoreConformance, randomChunk } from '../store/conformance.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'prolly-crypto-'));
  dirs.push(d);
  return d;
}

async function rejection(p: Promise<unknown>): Promise<ProllyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProllyError);
  return err as ProllyError;
}

function master(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** Memory-backed keyring store (the keyring object itself is tested on real backends below). */
function memoryKeyringStore() {
  let bytes: Uint8Array | undefined;
  return {
    name: 'memory keyring',
    load: async () => bytes,
    save: async (b: Uint8Array) => {
      bytes = b;
    },
    get bytes() {
      return bytes;
    },
    set bytes(b: Uint8Array | undefined) {
      bytes = b;
    },
  };
}

/** Real prolly-tree chunks of `rows` JSON rows (plaintext we can search for afterwards). */
async function treeChunks(rows: number): Promise<{ chunks: Chunk[]; rowTexts: string[]; root: Uint8Array }> {
  const mem = new MemoryStore();
  const nodes = new NodeStore(mem);
  const rowTexts: string[] = [];
  const entries: [Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < rows; i++) {
    const text = JSON.stringify({ id: `user-${String(i).padStart(5, '0')}`, email: `person${i}@example.org`, city: 'Lisbon' });
    rowTexts.push(text);
    entries.push([utf8(`user-${String(i).padStart(5, '0')}`), utf8(text)]);
  }
  const tree = await ProllyTree.fromSorted(nodes, entries);
  await nodes.flush();
  const chunks: Chunk[] = [];
  for await (const address of mem.list()) chunks.push({ address, bytes: (await mem.get(address))! });
  return { chunks, rowTexts, root: tree.root };
}

async function rawObjects(client: S3Client, bucket: string): Promise<{ key: string; bytes: Buffer }[]> {
  const out: { key: string; bytes: Buffer }[] = [];
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of listed.Contents ?? []) {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
    out.push({ key: o.Key!, bytes: Buffer.from(await got.Body!.transformToByteArray()) });
  }
  return out;
}

describe('key providers', () => {
  it('env, env:NAME and file:PATH read hex, base64 and raw keys; a missing key is EKEYMISSING, a malformed one EBADKEY', async () => {
    const hex = generateMasterKeyText();
    const env = { GIT_PROLLY_ENCRYPTION_KEY: hex, OTHER: Buffer.from(hex, 'hex').toString('base64') };
    expect(toHex(await parseKeyProvider('env', { env }).getKey())).toBe(hex);
    expect(toHex(await parseKeyProvider('env:OTHER', { env }).getKey())).toBe(hex);

    const dir = await tempDir();
    await writeFile(join(dir, 'key.hex'), `${hex}\n`);
    await writeFile(join(dir, 'key.bin'), Buffer.from(hex, 'hex'));
    expect(toHex(await parseKeyProvider('file:key.hex', { cwd: dir }).getKey())).toBe(hex);
    expect(toHex(await new FileKeyProvider({ path: join(dir, 'key.bin') }).getKey())).toBe(hex);

    const missingEnv = await rejection(new EnvKeyProvider({ variable: 'NOPE_UNSET', env: {} }).getKey());
    expect(missingEnv.code).toBe(ErrorCodes.KEY_MISSING);
    expect(missingEnv.message).toContain('NOPE_UNSET');
    const missingFile = await rejection(parseKeyProvider(`file:${join(dir, 'absent')}`).getKey());
    expect(missingFile.code).toBe(ErrorCodes.KEY_MISSING);
    expect(missingFile.message).toContain('absent');
    const bad = await rejection(parseKeyProvider('env:OTHER', { env: { OTHER: 'hunter2' } }).getKey());
    expect(bad.code).toBe(ErrorCodes.BAD_KEY);
    expect(() => parseKeyProvider('kms')).toThrow(/not a key provider/);
  });
});

describe('DataKey', () => {
  it('object names are a keyed permutation of addresses: invertible with the key, unrelated without it', () => {
    const key = DataKey.generate();
    const other = DataKey.generate();
    const addresses = Array.from({ length: 100 }, () => sha256(randomBytes(20)));
    const names = key.objectNames(addresses);
    expect(key.addressesOfNames(names).map(toHex)).toEqual(addresses.map(toHex));
    expect(new Set(names.map(toHex)).size).toBe(100);
    for (let i = 0; i < 100; i++) {
      expect(toHex(names[i]!)).not.toBe(toHex(addresses[i]!));
      expect(toHex(other.objectNames([addresses[i]!])[0]!)).not.toBe(toHex(names[i]!));
    }
    // One address at a time gives the same names as a batch.
    expect(toHex(key.objectNames([addresses[7]!])[0]!)).toBe(toHex(names[7]!));
  });

  it('encryption is deterministic per (address, bytes), authenticated, and bound to the address', () => {
    const key = DataKey.generate();
    const bytes = utf8('{"id":"alice","balance":100}');
    const address = sha256(bytes);
    const a = key.encryptChunk(address, bytes);
    expect(toHex(key.encryptChunk(address, bytes))).toBe(toHex(a));
    expect(a.length).toBe(bytes.length + ENCRYPTION_OVERHEAD);
    expect(keyIdOf(a)).toBe(key.idHex);
    expect(Buffer.from(a).includes(Buffer.from('alice'))).toBe(false);
    expect(Buffer.from(key.decryptChunk(address, a, 't')).toString()).toBe('{"id":"alice","balance":100}');
    // Other bytes under the same address (e.g. compressed differently) get another nonce.
    const b = key.encryptChunk(address, utf8('{"id":"alice","balance":100} '));
    expect(toHex(b.subarray(9, 21))).not.toBe(toHex(a.subarray(9, 21)));

    const tampered = Uint8Array.from(a);
    tampered[30]! ^= 1;
    const e1 = (() => {
      try {
        key.decryptChunk(address, tampered, 'remote');
      } catch (e) {
        return e as ProllyError;
      }
    })();
    expect(e1?.code).toBe(ErrorCodes.CHUNK_CORRUPT);
    expect(e1?.message).toMatch(/failed authentication/);
    expect(() => key.decryptChunk(sha256(utf8('other')), a, 'remote')).toThrow(/failed authentication/);
    expect(() => DataKey.generate().decryptChunk(address, a, 'remote')).toThrow(/encrypted under key/);
  });
});

describe('Keyring', () => {
  it('creates, reopens, tells a wrong master key (EKEYWRONG) from a tampered keyring (ECHUNKCORRUPT), and re-wraps', async () => {
    const store = memoryKeyringStore();
    const m1 = master();
    const ring = await Keyring.open({ store, master: m1, create: true });
    const id = ring.active.idHex;
    expect((await Keyring.open({ store, master: m1 })).active.idHex).toBe(id);
    expect(Buffer.from(store.bytes!).toString()).not.toContain(toHex(ring.active.exportRaw()));

    const wrong = await rejection(Keyring.open({ store, master: master(), source: 'env:GIT_PROLLY_ENCRYPTION_KEY' }));
    expect(wrong.code).toBe(ErrorCodes.KEY_WRONG);
    expect(wrong.message).toContain('env:GIT_PROLLY_ENCRYPTION_KEY');

    const saved = store.bytes!;
    const j = JSON.parse(Buffer.from(saved).toString());
    const w = Buffer.from(j.keys[0].wrapped, 'base64');
    w[20]! ^= 1;
    j.keys[0].wrapped = w.toString('base64');
    store.bytes = utf8(JSON.stringify(j));
    const tampered = await rejection(Keyring.open({ store, master: m1 }));
    expect(tampered.code).toBe(ErrorCodes.CHUNK_CORRUPT);
    expect(tampered.message).toMatch(/tampered/);
    store.bytes = saved;

    const m2 = master();
    await rewrapMasterKey({ store, oldMaster: m1, newMaster: m2 });
    expect((await rejection(Keyring.open({ store, master: m1 }))).code).toBe(ErrorCodes.KEY_WRONG);
    expect((await Keyring.open({ store, master: m2 })).active.idHex).toBe(id);
    const none = await rejection(Keyring.open({ store: memoryKeyringStore(), master: m1 }));
    expect(none.code).toBe(ErrorCodes.CHUNK_MISSING);
  });
});

describeChunkStoreConformance(
  'EncryptingStore over MemoryStore',
  async () => {
    const keyring = await Keyring.open({ store: memoryKeyringStore(), master: master(), create: true });
    return { store: new EncryptingStore({ inner: new MemoryStore(), keyring }), cleanup: async () => {} };
  },
  { manyChunks: 500 },
);

describe('EncryptingStore', () => {
  it('a tampered stored body fails authentication naming the chunk; a missing chunk is undefined', async () => {
    const inner = new MemoryStore();
    const keyring = await Keyring.open({ store: memoryKeyringStore(), master: master(), create: true });
    const store = new EncryptingStore({ inner, keyring, name: 'remote-x' });
    const c = randomChunk(500);
    await store.put(c);
    const [name] = keyring.active.objectNames([c.address]);
    expect(await inner.get(c.address)).toBeUndefined(); // never stored under its address
    const body = (await inner.get(name!))!;
    const evil = new MemoryStore();
    const flipped = Uint8Array.from(body);
    flipped[flipped.length - 20]! ^= 0x80;
    await evil.put({ address: name!, bytes: flipped });
    const err = await rejection(new EncryptingStore({ inner: evil, keyring, name: 'remote-x' }).get(c.address));
    expect(err.code).toBe(ErrorCodes.CHUNK_CORRUPT);
    expect(err.message).toContain(toHex(c.address));
    expect(err.message).toContain('remote-x');
    expect(await store.get(randomChunk(10).address)).toBeUndefined();
  });
});

describe('encrypted pack remote on s3rver', () => {
  async function bucket() {
    const { client, counter } = s3rverClient(await s3Endpoint());
    const name = await createTestBucket(client, 'enc');
    return { client, counter, bucket: name, backend: new S3Backend({ client, bucket: name, prefix: 'repo' }) };
  }

  async function open(backend: ObjectBackend, m: Uint8Array, create = false) {
    const keyring = await Keyring.open({ store: new BackendKeyringStore(backend), master: m, create });
    const pack = new PackStore({ backend, targetPackBytes: 64 * 1024 });
    return { keyring, pack, store: new EncryptingStore({ inner: pack, keyring }) };
  }

  it('holds no plaintext row and no object named by (or containing) a plaintext chunk address; dedup survives', async () => {
    const { client, bucket: b, backend } = await bucket();
    const { chunks, rowTexts } = await treeChunks(3000);
    expect(chunks.length).toBeGreaterThan(20);
    const m = master();
    const a = await open(backend, m, true);
    await a.store.putMany(chunks);
    await a.store.flush();
    const objects = await rawObjects(client, b);
    expect(objects.some((o) => o.key.startsWith('repo/packs/'))).toBe(true);
    const blob = Buffer.concat(objects.map((o) => o.bytes));
    for (const row of rowTexts.filter((_, i) => i % 100 === 0)) expect(blob.includes(Buffer.from(row))).toBe(false);
    expect(blob.includes(Buffer.from('@example.org'))).toBe(false);
    expect(blob.includes(Buffer.from('Lisbon'))).toBe(false);
    for (const c of chunks) {
      expect(blob.includes(Buffer.from(c.address))).toBe(false);
      expect(blob.includes(Buffer.from(toHex(c.address)))).toBe(false);
      for (const o of objects) expect(o.key).not.toContain(toHex(c.address));
    }

    // Control: the same rows pushed without encryption are visible, so the scan above can fail.
    const plainBucket = await createTestBucket(client, 'plain');
    const plain = new PackStore({ backend: new S3Backend({ client, bucket: plainBucket, prefix: 'repo' }), targetPackBytes: 64 * 1024 });
    await plain.putMany(chunks);
    await plain.flush();
    const plainBlob = Buffer.concat((await rawObjects(client, plainBucket)).map((o) => o.bytes));
    expect(plainBlob.includes(Buffer.from(rowTexts[0]!))).toBe(true);
    expect(plainBlob.includes(Buffer.from(chunks[0]!.address))).toBe(true);

    // A second clone with the same key pushes the same chunks: identical names, nothing uploaded.
    const before = objects.map((o) => o.key).sort();
    const b2 = await open(backend, m);
    await b2.store.putMany(chunks);
    await b2.store.flush();
    expect(b2.pack.stats.packsWritten).toBe(0);
    expect((await rawObjects(client, b)).map((o) => o.key).sort()).toEqual(before);
    // Re-encrypting the same chunks gives the same ciphertext (what makes that dedup possible).
    const again = a.keyring.active.encryptChunk(chunks[0]!.address, chunks[0]!.bytes);
    const [name] = a.keyring.active.objectNames([chunks[0]!.address]);
    expect(toHex((await a.pack.get(name!))!)).toBe(toHex(again));

    // A cold reader with the key gets every chunk back; list() yields the plaintext addresses.
    const cold = await open(backend, m);
    const got = await cold.store.getMany(chunks.map((c) => c.address));
    got.forEach((g, i) => expect(toHex(sha256(g!))).toBe(toHex(chunks[i]!.address)));
    const listed: string[] = [];
    for await (const x of cold.store.list()) listed.push(toHex(x));
    expect(listed.sort()).toEqual(chunks.map((c) => toHex(c.address)).sort());

    // A wrong key fails cleanly before any chunk is read.
    const wrong = await rejection(open(backend, master()));
    expect(wrong.code).toBe(ErrorCodes.KEY_WRONG);
  });

  it('rekey: re-wrap keeps every data object; re-encrypt rewrites them under a new data key and retires the old one', async () => {
    const dir = await tempDir();
    const backend = new DirectoryBackend({ root: dir, fsync: false });
    const chunks = Array.from({ length: 200 }, () => randomChunk(2000));
    const m1 = master();
    const a = await open(backend, m1, true);
    await a.store.putMany(chunks);
    await a.store.flush();
    const listNames = async () => {
      const names: string[] = [];
      for await (const o of backend.list('')) if (!o.name.startsWith('keys/')) names.push(o.name);
      return names.sort();
    };
    const dataBefore = await listNames();
    const oldRing = await backend.get('keys/keyring.json');

    // Re-wrap: only the keyring changes.
    const m2 = master();
    await rewrapMasterKey({ store: new BackendKeyringStore(backend), oldMaster: m1, newMaster: m2 });
    expect(await listNames()).toEqual(dataBefore);
    expect((await rejection(open(backend, m1))).code).toBe(ErrorCodes.KEY_WRONG);
    const b = await open(backend, m2);
    expect((await b.store.getMany(chunks.slice(0, 5).map((c) => c.address))).every((x) => x !== undefined)).toBe(true);

    // Re-encrypt: new data key, every pack and segment replaced, old key retired.
    const oldId = b.keyring.active.idHex;
    const result = await reencryptPackRemote({ backend, keyring: b.keyring, packOptions: { targetPackBytes: 64 * 1024 } });
    expect(result.chunks).toBe(200);
    expect(result.oldKeyIds).toEqual([oldId]);
    expect(result.newKeyId).not.toBe(oldId);
    const dataAfter = await listNames();
    expect(dataAfter.filter((n) => dataBefore.includes(n))).toEqual([]);
    const c = await open(backend, m2);
    expect(c.keyring.all.map((k) => k.idHex)).toEqual([result.newKeyId]);
    const got = await c.store.getMany(chunks.map((x) => x.address));
    got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(chunks[i]!.bytes)));
    // Someone holding the old keyring and old master key can no longer read anything.
    const stale = memoryKeyringStore();
    stale.bytes = oldRing;
    const staleRing = await Keyring.open({ store: stale, master: m1 });
    const staleStore = new EncryptingStore({ inner: new PackStore({ backend }), keyring: staleRing });
    expect(await staleStore.get(chunks[0]!.address)).toBeUndefined();
    const [newName] = c.keyring.active.objectNames([chunks[0]!.address]);
    const body = (await c.pack.get(newName!))!;
    expect(() => staleRing.keyFor(body, 'chunk')).toThrow(/does not hold/);
  });
});

import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { LocalStore, openLocalStack } from '../../src/store/local-store.js';
import { VerifyingStore } from '../../src/store/verifying-store.js';
import { toHex } from '../../src/util/bytes.js';
import { randomChunk } from './conformance.js';

const dirs: string[] = [];
const stores: { close(): Promise<void> }[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'prolly-local-'));
  dirs.push(dir);
  return dir;
}

async function open(options: Parameters<typeof LocalStore.open>[0]): Promise<LocalStore> {
  const s = await LocalStore.open(options);
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function caught(p: Promise<unknown> | (() => Promise<unknown>)): Promise<ProllyError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(ProllyError);
    return e as ProllyError;
  }
  throw new Error('expected a ProllyError');
}

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith(suffix))
    .sort();
}

/** Offset in `file` of the payload of the chunk with `address` (the payload follows the address in its record). */
function payloadOffset(file: string, address: Uint8Array): number {
  const at = readFileSync(file).indexOf(Buffer.from(address));
  expect(at).toBeGreaterThan(0);
  return at + address.length;
}

function flipByte(file: string, offset: number): void {
  const b = readFileSync(file);
  b[offset] ^= 0x40;
  writeFileSync(file, b);
}

describe('LocalStore files', () => {
  it('rolls to a new pack at the size limit, seals each full pack with an index, and reopens from the indexes', async () => {
    const dir = await tempDir();
    const store = await open({ dir, packSizeLimit: 32 * 1024 });
    const chunks = Array.from({ length: 60 }, () => randomChunk(2000));
    await store.putMany(chunks);
    await store.close();
    const packs = files(dir, '.pack');
    expect(packs.length).toBeGreaterThanOrEqual(4);
    // Full packs are sealed (.idx); the last, still open for appends, got a checkpoint (.ckpt) at close.
    expect(files(dir, '.idx')).toEqual(packs.slice(0, -1).map((p) => p.replace('.pack', '.idx')));
    expect(files(dir, '.ckpt')).toEqual([packs[packs.length - 1]!.replace('.pack', '.ckpt')]);
    for (const p of packs.slice(0, -1)) expect(statSync(join(dir, p)).size).toBeLessThanOrEqual(32 * 1024);

    const reader = await open({ dir, readOnly: true });
    // Opening looked only at the directory and the last pack: sealed packs load on first lookup.
    expect(reader.stats().chunks).toBeLessThan(60);
    for (const c of chunks) expect(toHex((await reader.get(c.address))!)).toBe(toHex(c.bytes));
    // Every pack had an index covering it (sealed, or the checkpoint written at close): nothing was scanned.
    expect(reader.stats().bytesScanned).toBe(0);
    expect(reader.stats().chunks).toBe(60);
    expect(reader.stats().sealedPacks).toBe(packs.length - 1);
  });

  it('continues appending to the unsealed last pack after a clean reopen', async () => {
    const dir = await tempDir();
    const a = await open({ dir });
    const first = randomChunk(100);
    await a.put(first);
    await a.close();
    const b = await open({ dir });
    const second = randomChunk(100);
    await b.put(second);
    await b.close();
    expect(files(dir, '.pack')).toEqual(['00000001.pack']);
    const r = await open({ dir, readOnly: true });
    expect(await r.hasMany([first.address, second.address])).toEqual([true, true]);
    expect(r.stats().bytesScanned).toBe(0);
  });

  it('a torn tail (partial record after the last good one) is cut off by the next writer', async () => {
    const dir = await tempDir();
    const store = await open({ dir });
    const chunks = Array.from({ length: 10 }, () => randomChunk(700));
    await store.putMany(chunks);
    await store.close();
    const pack = join(dir, '00000001.pack');
    const goodSize = statSync(pack).size;
    // Half of a record: kind byte, a length, part of an address.
    const torn = Buffer.concat([Buffer.from([1, 0xe8, 0x03, 0, 0]), Buffer.alloc(20, 7)]);
    appendFileSync(pack, torn);

    // A reader stops at the torn record and does not change the file.
    const reader = await open({ dir, readOnly: true });
    expect(await reader.has(chunks[9]!.address)).toBe(true);
    expect(statSync(pack).size).toBe(goodSize + torn.length);

    const writer = await open({ dir });
    expect(writer.stats().tornBytesTruncated).toBe(torn.length);
    expect(statSync(pack).size).toBe(goodSize);
    // The cut bytes are kept aside, never silently destroyed.
    const saved = files(dir, '').filter((n) => n.startsWith('00000001.pack.torn-'));
    expect(saved.length).toBe(1);
    expect(readFileSync(join(dir, saved[0]!)).equals(torn)).toBe(true);
    for (const c of chunks) expect(toHex((await writer.get(c.address))!)).toBe(toHex(c.bytes));
    const more = randomChunk(300);
    await writer.put(more);
    await writer.close();
    const again = await open({ dir, readOnly: true });
    expect(toHex((await again.get(more.address))!)).toBe(toHex(more.bytes));
    expect((await again.get(chunks[0]!.address))!.length).toBe(700);
  });

  it('recovers a crashed writer\'s pack cut mid-record: earlier records stay, the cut one is gone', async () => {
    const dir = await tempDir();
    const live = await open({ dir });
    const chunks = Array.from({ length: 20 }, () => randomChunk(1000));
    await live.putMany(chunks);
    await live.flush();
    // Snapshot the directory as a crash would leave it: no checkpoint index, no lock release.
    const crashed = await tempDir();
    cpSync(join(dir, '00000001.pack'), join(crashed, '00000001.pack'));
    expect(existsSync(join(dir, '00000001.ckpt'))).toBe(false);
    const pack = join(crashed, '00000001.pack');
    const lastPayload = payloadOffset(pack, chunks[19]!.address);
    truncateSync(pack, lastPayload + 500); // inside the last record

    const store = await open({ dir: crashed });
    expect(store.stats().tornBytesTruncated).toBe(lastPayload + 500 - (lastPayload - 37));
    expect(statSync(pack).size).toBe(lastPayload - 37);
    for (const c of chunks.slice(0, 19)) expect(toHex((await store.get(c.address))!)).toBe(toHex(c.bytes));
    expect(await store.has(chunks[19]!.address)).toBe(false);
    await store.put(chunks[19]!);
    await store.close();
    const r = await open({ dir: crashed, readOnly: true });
    expect(toHex((await r.get(chunks[19]!.address))!)).toBe(toHex(chunks[19]!.bytes));
  });

  it('a record whose CRC does not match ends the valid part of an unindexed pack', async () => {
    const dir = await tempDir();
    const live = await open({ dir });
    const chunks = Array.from({ length: 5 }, () => randomChunk(400));
    await live.putMany(chunks);
    await live.flush();
    const crashed = await tempDir();
    cpSync(join(dir, '00000001.pack'), join(crashed, '00000001.pack'));
    const pack = join(crashed, '00000001.pack');
    flipByte(pack, payloadOffset(pack, chunks[3]!.address) + 10);
    const store = await open({ dir: crashed });
    expect(await store.hasMany(chunks.map((c) => c.address))).toEqual([true, true, true, false, false]);
  });

  it('a corrupt checkpoint index is ignored and the pack is scanned instead', async () => {
    const dir = await tempDir();
    const s = await open({ dir });
    const chunks = Array.from({ length: 30 }, () => randomChunk(300));
    await s.putMany(chunks);
    await s.close();
    const idx = join(dir, '00000001.ckpt');
    flipByte(idx, 40); // in the fan-out table: header CRC fails
    const r = await open({ dir, readOnly: true });
    for (const c of chunks) expect(await r.has(c.address)).toBe(true);
    expect(r.stats().bytesScanned).toBeGreaterThan(30 * 300);
  });

  it('a sealed index with a corrupt table is detected by its CRC and rebuilt by the writer', async () => {
    const dir = await tempDir();
    const s = await open({ dir, packSizeLimit: 16 * 1024 });
    const chunks = Array.from({ length: 40 }, () => randomChunk(1500));
    await s.putMany(chunks);
    await s.close();
    const idx = join(dir, '00000001.idx');
    const size = statSync(idx).size;
    flipByte(idx, size - 10); // in the locations table
    const w = await open({ dir, packSizeLimit: 16 * 1024 });
    for (const c of chunks) expect(toHex((await w.get(c.address))!)).toBe(toHex(c.bytes));
    await w.put(randomChunk(10));
    expect(new Set((await collectHex(w.list()))).size).toBe(41);
    await w.close();
    // The rewritten index is valid again: a fresh reader needs no scan.
    const r = await open({ dir, readOnly: true });
    for (const c of chunks) expect(await r.has(c.address)).toBe(true);
    expect(r.stats().bytesScanned).toBe(0);
  });

  it('a missing sealed index is rebuilt from its pack by the writer', async () => {
    const dir = await tempDir();
    const s = await open({ dir, packSizeLimit: 16 * 1024 });
    const chunks = Array.from({ length: 30 }, () => randomChunk(1500));
    await s.putMany(chunks);
    await s.close();
    rmSync(join(dir, '00000001.idx'));
    const w = await open({ dir, packSizeLimit: 16 * 1024 });
    expect(existsSync(join(dir, '00000001.idx'))).toBe(true);
    expect(w.stats().seals).toBe(1);
    for (const c of chunks) expect(await w.has(c.address)).toBe(true);
  });

  it('refuses a file that is not a pack, naming it', async () => {
    const dir = await tempDir();
    writeFileSync(join(dir, '00000001.pack'), 'definitely not a pack file');
    const err = await caught(LocalStore.open({ dir }));
    expect(err.code).toBe('EBADENCODING');
    expect(err.message).toContain('00000001.pack');
  });

  it('rejects malformed addresses and bytes with EINVAL', async () => {
    const dir = await tempDir();
    const s = await open({ dir });
    expect((await caught(s.put({ address: new Uint8Array(31), bytes: new Uint8Array(1) }))).code).toBe('EINVAL');
    expect((await caught(s.get(new Uint8Array(33)))).code).toBe('EINVAL');
    expect((await caught(s.put({ address: new Uint8Array(32), bytes: 'x' as unknown as Uint8Array }))).code).toBe('EINVAL');
  });

  it('counts reads, bytes read and writes', async () => {
    const dir = await tempDir();
    const s = await open({ dir });
    const c = randomChunk(1234);
    await s.put(c);
    await s.put(c);
    await s.get(c.address);
    await s.get(randomChunk(1).address);
    const st = s.stats();
    expect(st).toMatchObject({ writes: 1, writeBytes: 1234, duplicatePuts: 1, reads: 2, readHits: 1, readBytes: 1234, chunks: 1 });
  });
});

describe('LocalStore readers and the writer lock (one process)', () => {
  it('a read-only store sees what the writer flushed, including new packs, and cannot write', async () => {
    const dir = await tempDir();
    const writer = await open({ dir, packSizeLimit: 8 * 1024 });
    const reader = await open({ dir, readOnly: true });
    const a = randomChunk(3000);
    expect(await reader.get(a.address)).toBeUndefined();
    await writer.put(a);
    await writer.flush();
    expect(toHex((await reader.get(a.address))!)).toBe(toHex(a.bytes));
    const later = Array.from({ length: 12 }, () => randomChunk(3000)); // several more packs
    await writer.putMany(later);
    await writer.flush();
    expect((await reader.getMany(later.map((c) => c.address))).map((b) => b && toHex(b))).toEqual(
      later.map((c) => toHex(c.bytes)),
    );
    expect(new Set(await collectHex(reader.list())).size).toBe(13);
    expect(reader.stats().refreshes).toBeGreaterThan(0);
    const err = await caught(reader.put(randomChunk(5)));
    expect(err.code).toBe('EREADONLY');
    expect(err.message).toContain(dir);
  });

  it('a second writer gets ELOCKED naming the holder pid; it gets the lock once the first closes', async () => {
    const dir = await tempDir();
    const first = await open({ dir });
    const err = await caught(LocalStore.open({ dir }));
    expect(err.code).toBe('ELOCKED');
    expect(err.message).toContain(`process ${process.pid}`);
    expect(err.data.pid).toBe(process.pid);
    // The budget only has to outlast the 100 ms before close, however loaded the machine is.
    const waiting = LocalStore.open({ dir, lockTimeoutMs: 60_000 });
    setTimeout(() => void first.close(), 100);
    const second = await waiting;
    stores.push(second);
    await second.put(randomChunk(10));
  });

  it('takes over a lock left by a dead process', async () => {
    const dir = await tempDir();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(child.stdout);
    expect(deadPid).toBeGreaterThan(0);
    writeFileSync(
      join(dir, 'LOCK'),
      JSON.stringify({ pid: deadPid, hostname: hostname(), acquiredAt: new Date().toISOString(), token: 'dead' }),
    );
    const s = await open({ dir });
    await s.put(randomChunk(10));
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    await s.close();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });

  it('treats a lock whose pid now belongs to a different process (pid reuse) as stale', async (ctx) => {
    if (!existsSync('/proc/self/stat')) ctx.skip();
    const dir = await tempDir();
    writeFileSync(
      join(dir, 'LOCK'),
      JSON.stringify({ pid: process.pid, hostname: hostname(), processStart: '1', acquiredAt: 'x', token: 'reused' }),
    );
    const s = await open({ dir });
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).token).not.toBe('reused');
    await s.close();
  });
});

describe('corruption is caught on read', () => {
  it('a flipped byte in a stored chunk gives ECHUNKCORRUPT naming the chunk and the store', async () => {
    const dir = await tempDir();
    const chunks = Array.from({ length: 8 }, () => randomChunk(2048));
    const w = await open({ dir });
    await w.putMany(chunks);
    await w.close();
    const victim = chunks[5]!;
    const pack = join(dir, '00000001.pack');
    flipByte(pack, payloadOffset(pack, victim.address) + 100);

    const local = await open({ dir, readOnly: true });
    const store = new VerifyingStore({ inner: local });
    expect(toHex((await store.get(chunks[4]!.address))!)).toBe(toHex(chunks[4]!.bytes));
    const err = await caught(store.get(victim.address));
    expect(err.code).toBe('ECHUNKCORRUPT');
    expect(err.message).toContain(toHex(victim.address));
    expect(err.message).toContain(`local:${dir}`);
    expect(err.data).toMatchObject({ address: toHex(victim.address), store: `local:${dir}` });
    expect((await caught(store.getMany(chunks.map((c) => c.address)))).code).toBe('ECHUNKCORRUPT');
  });

  it('through the full stack (compressed chunks) as well', async () => {
    const dir = await tempDir();
    // Compressible content, so the stored form is a zstd frame.
    const chunks = Array.from({ length: 6 }, (_, i) => {
      const bytes = new TextEncoder().encode(`row ${i} `.repeat(400));
      return { bytes, address: new Uint8Array(0) };
    });
    const { sha256 } = await import('../../src/util/hash.js');
    for (const c of chunks) c.address = sha256(c.bytes);
    const stack = await openLocalStack({ dir, cacheBytes: 0 });
    await stack.store.putMany(chunks);
    expect(stack.compressing!.stats.compressed).toBe(6);
    await stack.store.close();
    const pack = join(dir, '00000001.pack');
    flipByte(pack, payloadOffset(pack, chunks[2]!.address) + 12);
    const again = await openLocalStack({ dir, readOnly: true, cacheBytes: 0 });
    stores.push(again.store);
    expect(new TextDecoder().decode((await again.store.get(chunks[1]!.address))!)).toBe('row 1 '.repeat(400));
    const err = await caught(again.store.get(chunks[2]!.address));
    expect(err.code).toBe('ECHUNKCORRUPT');
    expect(err.message).toContain(toHex(chunks[2]!.address));
    expect(err.message).toContain(dir);
  });
});

async function collectHex(it: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const a of it) out.push(toHex(a));
  return out;
}

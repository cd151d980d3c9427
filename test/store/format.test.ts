/**
 * The local store's files against docs/FORMAT.md ("Stored chunk encoding and the local store"):
 * packs written by hand from the document are readable, and files the store writes decode by the
 * document alone. The encoders/decoders here are deliberately written from the text, not shared
 * with src/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/store/local-store.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'prolly-format-'));
  dirs.push(d);
  return d;
}
const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** A record exactly as the table in FORMAT.md lays it out. */
function record(payload: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([1]), u32(payload.length), sha(payload), payload]);
  return Buffer.concat([body, u32(crc32(body))]);
}

describe('docs/FORMAT.md storage layout', () => {
  it('the documented CRC-32 check value holds for zlib.crc32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('a pack written by hand from the document is read by the store', async () => {
    const dir = await tempDir();
    const payloads = [Buffer.from('hello'), randomBytes(5000), Buffer.alloc(0)];
    const header = Buffer.concat([Buffer.from('PRLYPACK', 'ascii'), u32(1), u32(0)]);
    writeFileSync(join(dir, '00000007.pack'), Buffer.concat([header, ...payloads.map(record)]));
    const store = await LocalStore.open({ dir, readOnly: true });
    for (const p of payloads) expect(Buffer.from((await store.get(sha(p)))!).equals(p)).toBe(true);
    await store.close();
    // A writer continues after it: the record does not fit under the 1 KiB limit, so pack 7 is
    // sealed and the record goes to pack 8, the next id.
    const writer = await LocalStore.open({ dir, packSizeLimit: 1024 });
    const big = randomBytes(2000);
    await writer.put({ address: sha(big), bytes: big });
    await writer.close();
    expect(statSync(join(dir, '00000008.pack')).size).toBe(16 + 41 + 2000);
  });

  it('an index the store writes decodes by the document alone', async () => {
    const dir = await tempDir();
    const store = await LocalStore.open({ dir, packSizeLimit: 20 * 1024 });
    const payloads = Array.from({ length: 30 }, (_, i) => randomBytes(1000 + i * 13));
    for (const p of payloads) await store.put({ address: sha(p), bytes: p });
    await store.close();

    const ids = readdirSync(dir)
      .filter((n) => n.endsWith('.pack'))
      .map((n) => n.slice(0, -5))
      .sort();
    expect(ids.length).toBeGreaterThanOrEqual(2);
    for (const id of ids) {
      const pack = readFileSync(join(dir, `${id}.pack`));
      const last = id === ids[ids.length - 1];
      // Full packs are sealed (.idx); the last got a checkpoint index (.ckpt) at close.
      const idx = readFileSync(join(dir, `${id}.${last ? 'ckpt' : 'idx'}`));
      expect(idx.subarray(0, 8).toString('ascii')).toBe('PRLYIDX1');
      const flags = idx.readUInt32LE(8);
      const count = idx.readUInt32LE(12);
      const covered = Number(idx.readBigUInt64LE(16));
      expect(idx.readUInt32LE(24)).toBe(0);
      expect(idx.readUInt32LE(28)).toBe(crc32(idx.subarray(32, 1056), crc32(idx.subarray(0, 28))));
      expect(idx.length).toBe(1060 + 44 * count);
      expect(idx.readUInt32LE(idx.length - 4)).toBe(crc32(idx.subarray(0, idx.length - 4)));
      expect(covered).toBe(pack.length);
      expect(flags).toBe(last ? 0 : 1);
      let prev = Buffer.alloc(0);
      for (let i = 0; i < count; i++) {
        const addr = idx.subarray(1056 + 32 * i, 1056 + 32 * (i + 1));
        expect(Buffer.compare(prev, addr)).toBeLessThan(0);
        prev = addr;
        const fan = idx.readUInt32LE(32 + 4 * addr[0]!);
        const before = addr[0] === 0 ? 0 : idx.readUInt32LE(32 + 4 * (addr[0]! - 1));
        expect(i).toBeGreaterThanOrEqual(before);
        expect(i).toBeLessThan(fan);
        const loc = 1056 + 32 * count + 12 * i;
        const offset = Number(idx.readBigUInt64LE(loc));
        const length = idx.readUInt32LE(loc + 8);
        expect(sha(pack.subarray(offset, offset + length)).equals(addr)).toBe(true);
        // The record around the payload: kind, length and address precede it; its CRC follows.
        const start = offset - 37;
        expect(pack[start]).toBe(1);
        expect(pack.readUInt32LE(start + 1)).toBe(length);
        expect(pack.readUInt32LE(offset + length)).toBe(crc32(pack.subarray(start, offset + length)));
      }
      expect(idx.readUInt32LE(32 + 4 * 255)).toBe(count);
    }
  });
});

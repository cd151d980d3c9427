/**
 * Shared helpers for the blob tests, including an independent, deliberately plain implementation of
 * the FastCDC rule as docs/FORMAT.md states it, to cross-check the optimized chunker.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import type { ChunkStore } from '../../src/store/chunk-store.js';
import { toHex } from '../../src/util/bytes.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Gear table straight from the FORMAT.md definition (no shared code with src/blob/gear.ts). */
export function specGearTable(): number[] {
  const out: number[] = [];
  for (let i = 0; i < 256; i++) {
    const d = createHash('sha256').update(Buffer.concat([Buffer.from('git-prolly gear', 'ascii'), Buffer.from([i])])).digest();
    out.push(d.readUInt32BE(0));
  }
  return out;
}

const SPEC = { min: 16384, avg: 65536, max: 262144, maskS: 0xffffc000, maskL: 0xfffc0000 };

/** Chunk lengths per the FORMAT.md text, written for clarity, not speed (unsigned arithmetic, one byte at a time). */
export function specChunkLengths(data: Uint8Array, gear: number[] = specGearTable()): number[] {
  const out: number[] = [];
  let start = 0;
  while (start < data.length) {
    const n = data.length - start;
    let len = Math.min(n, SPEC.max);
    if (n > SPEC.min) {
      let h = 0;
      for (let i = SPEC.min; i < Math.min(n, SPEC.max); i++) {
        h = (h * 2 + gear[data[start + i]!]!) % 2 ** 32;
        const mask = i < SPEC.avg ? SPEC.maskS : SPEC.maskL;
        if ((h & mask) >>> 0 === 0) {
          len = i + 1;
          break;
        }
      }
    }
    out.push(len);
    start += len;
  }
  return out;
}

/** Concatenate everything an async iterable of byte arrays yields. */
export async function collect(parts: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const list: Uint8Array[] = [];
  for await (const p of parts) list.push(Uint8Array.from(p));
  return Buffer.concat(list);
}

/** Every address in a store, as hex. */
export async function storeAddresses(store: ChunkStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const a of store.list()) out.add(toHex(a));
  return out;
}

/** Read a JSON fixture, or (with PROLLY_WRITE_VECTORS=1) write `value` to it first. */
export function fixture<T>(relPath: string, value: () => T): T {
  const path = ROOT + relPath;
  if (process.env.PROLLY_WRITE_VECTORS === '1') writeFileSync(path, JSON.stringify(value(), null, 2) + '\n');
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Split `data` into pieces at the given cut offsets (sorted, deduplicated, within range). */
export function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(Math.max(c, 0), data.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  return out;
}

export async function* asAsync(pieces: Iterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for (const p of pieces) yield p;
}

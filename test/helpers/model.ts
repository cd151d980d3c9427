/** Test helpers: a seeded PRNG and a sorted-map model the tree is checked against. */
import { BlobRef, type TreeValue } from '../../src/blob/blob-ref.js';
import { compareBytes, toHex } from '../../src/util/bytes.js';
import { mulberry32 } from '../../src/util/prng.js';

/** Seeded PRNG, so failures reproduce from the seed fast-check prints. */
export const prng = mulberry32;

export function randomBytes(rand: () => number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (rand() * 256) | 0;
  return b;
}

/** A key drawn from a bounded space so puts and deletes collide with existing keys. */
export function randomKey(rand: () => number, space: number): Uint8Array {
  const id = Math.floor(rand() * space);
  // Variable-length keys with shared prefixes exercise ordering of prefixes.
  return new TextEncoder().encode(`k${id.toString(36)}${id % 3 === 0 ? '' : '/' + (id % 7)}`);
}

export function randomValue(rand: () => number, maxLen = 200): Uint8Array {
  return randomBytes(rand, 1 + Math.floor(rand() * maxLen));
}

/** Sorted map from byte keys to values, the reference the tree must agree with. */
export class SortedModel {
  readonly map = new Map<string, { key: Uint8Array; value: TreeValue }>();
  put(key: Uint8Array, value: TreeValue): void {
    this.map.set(toHex(key), { key, value });
  }
  delete(key: Uint8Array): void {
    this.map.delete(toHex(key));
  }
  get(key: Uint8Array): TreeValue | undefined {
    return this.map.get(toHex(key))?.value;
  }
  clone(): SortedModel {
    const m = new SortedModel();
    for (const [k, v] of this.map) m.map.set(k, v);
    return m;
  }
  entries(): [Uint8Array, TreeValue][] {
    return [...this.map.values()].sort((a, b) => compareBytes(a.key, b.key)).map((e) => [e.key, e.value]);
  }
}

export function valueHex(v: TreeValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v instanceof BlobRef ? `blob:${toHex(v.address)}:${v.length}` : toHex(v);
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

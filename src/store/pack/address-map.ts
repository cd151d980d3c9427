/**
 * A hash map from 32-byte chunk addresses to a pair of integers, kept in typed arrays. A push puts
 * tens of thousands of chunks into a PackStore, each looked up and recorded once; a JS Map would
 * need a string key per address (an allocation and a copy each) and a boxed value per entry.
 * Addresses are SHA-256 digests, so their first bytes are already a good hash; open addressing with
 * linear probing, full 32-byte comparison on every probe.
 */
import { ADDRESS_BYTES } from '../../util/hash.js';

const EMPTY = -1;

/**
 * Address → (a, b) map, insert and lookup only; `clear()` empties it.
 *
 * @example
 * const m = new AddressMap();
 * m.set(address, 3, 17);
 * const slot = m.find(address); // ≥ 0 when present
 * m.first(slot); // 3
 * m.second(slot); // 17
 */
export class AddressMap {
  private addresses: Uint8Array;
  private a: Int32Array;
  private b: Int32Array;
  /** Open-addressing table of indexes into the arrays above (EMPTY when free). */
  private table: Int32Array;
  private mask: number;
  /** Entries stored. */
  size = 0;

  constructor(capacity = 1024) {
    const cap = Math.max(16, capacity);
    this.addresses = new Uint8Array(cap * ADDRESS_BYTES);
    this.a = new Int32Array(cap);
    this.b = new Int32Array(cap);
    const slots = nextPow2(cap * 2);
    this.table = new Int32Array(slots).fill(EMPTY);
    this.mask = slots - 1;
  }

  /** The entry index of `address`, or -1 when absent. */
  find(address: Uint8Array): number {
    let s = hashOf(address, 0) & this.mask;
    for (;;) {
      const i = this.table[s]!;
      if (i === EMPTY) return -1;
      if (this.matches(i, address)) return i;
      s = (s + 1) & this.mask;
    }
  }

  has(address: Uint8Array): boolean {
    return this.find(address) >= 0;
  }

  /** First value of the entry `find` returned. */
  first(entry: number): number {
    return this.a[entry]!;
  }

  /** Second value of the entry `find` returned. */
  second(entry: number): number {
    return this.b[entry]!;
  }

  /** Add `address` → (a, b), or overwrite its values when present. Returns its entry index. */
  set(address: Uint8Array, a: number, b: number): number {
    if (address.length !== ADDRESS_BYTES) throw new RangeError(`address must be ${ADDRESS_BYTES} bytes, got ${address.length}`);
    let s = hashOf(address, 0) & this.mask;
    for (;;) {
      const i = this.table[s]!;
      if (i === EMPTY) break;
      if (this.matches(i, address)) {
        this.a[i] = a;
        this.b[i] = b;
        return i;
      }
      s = (s + 1) & this.mask;
    }
    if (this.size === this.a.length) {
      this.grow();
      return this.set(address, a, b);
    }
    const i = this.size++;
    this.addresses.set(address, i * ADDRESS_BYTES);
    this.a[i] = a;
    this.b[i] = b;
    this.table[s] = i;
    return i;
  }

  /** The stored copy of entry `i`'s address (a view: copy it to keep it past the next `set`). */
  addressAt(i: number): Uint8Array {
    return this.addresses.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
  }

  clear(): void {
    this.size = 0;
    this.table.fill(EMPTY);
  }

  private matches(i: number, address: Uint8Array): boolean {
    const base = i * ADDRESS_BYTES;
    const stored = this.addresses;
    for (let k = 0; k < ADDRESS_BYTES; k++) if (stored[base + k] !== address[k]) return false;
    return true;
  }

  private grow(): void {
    const cap = this.a.length * 2;
    const addresses = new Uint8Array(cap * ADDRESS_BYTES);
    addresses.set(this.addresses);
    const a = new Int32Array(cap);
    a.set(this.a);
    const b = new Int32Array(cap);
    b.set(this.b);
    this.addresses = addresses;
    this.a = a;
    this.b = b;
    const slots = nextPow2(cap * 2);
    this.table = new Int32Array(slots).fill(EMPTY);
    this.mask = slots - 1;
    for (let i = 0; i < this.size; i++) {
      let s = hashOf(this.addresses, i * ADDRESS_BYTES) & this.mask;
      while (this.table[s] !== EMPTY) s = (s + 1) & this.mask;
      this.table[s] = i;
    }
  }
}

function hashOf(a: Uint8Array, o: number): number {
  // SHA-256 output is uniform; mixing two words guards against inputs that share a prefix.
  const w0 = (a[o]! << 24) | (a[o + 1]! << 16) | (a[o + 2]! << 8) | a[o + 3]!;
  const w1 = (a[o + 28]! << 24) | (a[o + 29]! << 16) | (a[o + 30]! << 8) | a[o + 31]!;
  const h = Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1), 0x85ebca6b);
  return (h ^ (h >>> 15)) >>> 0;
}

function nextPow2(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

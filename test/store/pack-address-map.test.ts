/**
 * AddressMap: the typed-array hash map PackStore keeps its unflushed chunks in.
 */
import { describe, expect, it } from 'vitest';
import { AddressMap } from '../../src/store/pack/address-map.js';
import { toHex } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

const addr = (i: number) => sha256(new Uint8Array(new Uint32Array([i, i * 7]).buffer));

describe('AddressMap', () => {
  it('maps addresses to value pairs through growth, overwrites in place, and clears', () => {
    const m = new AddressMap(16);
    for (let i = 0; i < 5000; i++) expect(m.set(addr(i), i, 7 * i + 1)).toBe(i);
    expect(m.size).toBe(5000);
    for (let i = 0; i < 5000; i += 7) {
      const e = m.find(addr(i));
      expect(e).toBe(i);
      expect([m.first(e), m.second(e)]).toEqual([i, 7 * i + 1]);
      expect(toHex(m.addressAt(e))).toBe(toHex(addr(i)));
    }
    expect(m.find(addr(5000))).toBe(-1);
    expect(m.has(addr(4999))).toBe(true);
    // Same address again: values replaced, no new entry.
    expect(m.set(addr(42), 1, 2)).toBe(42);
    expect(m.size).toBe(5000);
    expect([m.first(42), m.second(42)]).toEqual([1, 2]);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.has(addr(42))).toBe(false);
    m.set(addr(42), 3, 4);
    expect(m.first(m.find(addr(42)))).toBe(3);
  });

  it('tells apart addresses that share the bytes it hashes', () => {
    const m = new AddressMap();
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    b[10] = 1; // differs only in a byte outside the hashed words
    m.set(a, 1, 1);
    expect(m.find(b)).toBe(-1);
    m.set(b, 2, 2);
    expect(m.first(m.find(a))).toBe(1);
    expect(m.first(m.find(b))).toBe(2);
  });

  it('rejects addresses that are not 32 bytes', () => {
    expect(() => new AddressMap().set(new Uint8Array(31), 0, 0)).toThrow(/32 bytes/);
  });
});

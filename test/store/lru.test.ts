import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteLru } from '../../src/store/lru.js';

const sized = (maxBytes: number, extra: Partial<ConstructorParameters<typeof ByteLru<string, string>>[0]> = {}) =>
  new ByteLru<string, string>({ maxBytes, sizeOf: (v) => v.length, ...extra });

describe('ByteLru', () => {
  it('evicts least recently used entries to stay within maxBytes', () => {
    const evicted: string[] = [];
    const lru = sized(10, { onEvict: (k) => evicted.push(k) });
    lru.set('a', 'aaaa');
    lru.set('b', 'bbbb');
    expect(lru.get('a')).toBe('aaaa'); // a is now more recent than b
    lru.set('c', 'cccc'); // 12 bytes > 10: evict b
    expect(evicted).toEqual(['b']);
    expect(lru.has('b')).toBe(false);
    expect(lru.has('a')).toBe(true);
    expect(lru.bytes).toBe(8);
    expect(lru.stats).toMatchObject({ hits: 1, evictions: 1 });
  });

  it('refuses a value larger than the whole budget without evicting others', () => {
    const lru = sized(5);
    lru.set('a', 'aa');
    expect(lru.set('big', 'xxxxxx')).toBe(false);
    expect(lru.has('a')).toBe(true);
    expect(lru.stats.rejected).toBe(1);
  });

  it('replacing a key re-charges its size', () => {
    const lru = sized(100);
    lru.set('a', 'x'.repeat(40));
    lru.set('a', 'y'.repeat(10));
    expect(lru.bytes).toBe(10);
    expect(lru.size).toBe(1);
    expect(lru.delete('a')).toBe(true);
    expect(lru.bytes).toBe(0);
    expect(lru.delete('a')).toBe(false);
  });

  it('counts hits and misses; has() leaves recency and counters alone', () => {
    const lru = sized(8);
    lru.set('a', 'aaaa');
    lru.set('b', 'bbbb');
    expect(lru.has('a')).toBe(true); // does not refresh a
    lru.set('c', 'cccc'); // so a is evicted
    expect(lru.get('a')).toBeUndefined();
    expect(lru.get('c')).toBe('cccc');
    expect(lru.stats).toMatchObject({ hits: 1, misses: 1 });
  });

  it('expires entries after ttlMs', () => {
    let now = 1000;
    const lru = sized(100, { ttlMs: 50, now: () => now });
    lru.set('a', 'aaa');
    now += 49;
    expect(lru.get('a')).toBe('aaa');
    now += 1;
    expect(lru.has('a')).toBe(false);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.bytes).toBe(0);
    expect(lru.stats.expirations).toBe(1);
  });

  it('rejects a negative budget or a non-positive ttl', () => {
    expect(() => sized(-1)).toThrow(/maxBytes/);
    expect(() => sized(10, { ttlMs: 0 })).toThrow(/ttlMs/);
  });

  it('behaves like a reference second-chance model under random operations', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('set' as const), k: fc.integer({ min: 0, max: 9 }), n: fc.integer({ min: 0, max: 12 }) }),
            fc.record({ op: fc.constant('get' as const), k: fc.integer({ min: 0, max: 9 }) }),
            fc.record({ op: fc.constant('del' as const), k: fc.integer({ min: 0, max: 9 }) }),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const max = 30;
          const lru = sized(max);
          // Oldest first; `ref` marks an entry read since it was inserted or last moved to the back.
          let model: { k: string; v: string; ref: boolean }[] = [];
          for (const o of ops) {
            const k = String(o.k);
            if (o.op === 'set') {
              const v = 'v'.repeat(o.n);
              model = model.filter((e) => e.k !== k);
              if (v.length <= max) {
                model.push({ k, v, ref: false });
                let total = model.reduce((s, e) => s + e.v.length, 0);
                while (total > max) {
                  const oldest = model.shift()!;
                  if (oldest.ref) model.push({ ...oldest, ref: false });
                  else total -= oldest.v.length;
                }
              }
              lru.set(k, v);
            } else if (o.op === 'get') {
              const e = model.find((m) => m.k === k);
              if (e) e.ref = true;
              expect(lru.get(k)).toBe(e?.v);
            } else {
              const before = model.length;
              model = model.filter((m) => m.k !== k);
              expect(lru.delete(k)).toBe(model.length !== before);
            }
            expect([...lru.keys()]).toEqual(model.map((m) => m.k));
            expect(lru.bytes).toBe(model.reduce((s, m) => s + m.v.length, 0));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

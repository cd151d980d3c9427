/**
 * Small seeded pseudo-random generators for reproducible sample data, tests and benchmarks.
 * Not for anything secret: use node:crypto for that.
 */

/**
 * mulberry32: floats in [0, 1), fully determined by the seed.
 * @example const rand = mulberry32(42); rand() // 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * xorshift32: unsigned 32-bit integers, fully determined by the (non-zero) seed; the cheapest
 * generator for filling large benchmark data sets.
 * @example const next = xorshift32(1); next() // 270369
 */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

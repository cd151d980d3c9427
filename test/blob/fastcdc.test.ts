import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CDC_AVG_SIZE,
  CDC_MASK_L,
  CDC_MASK_S,
  CDC_MAX_SIZE,
  CDC_MIN_SIZE,
  cdcChunks,
  fastCdcCut,
  FastCdcChunker,
} from '../../src/blob/fastcdc.js';
import { pseudoRandomBytes } from '../../src/blob/pseudo-random.js';
import { splitAt, specChunkLengths } from './helpers.js';

const lengths = (data: Uint8Array): number[] => [...cdcChunks(data)].map((c) => c.length);

function streamLengths(pieces: Iterable<Uint8Array>): { lengths: number[]; bytes: Uint8Array[] } {
  const chunker = new FastCdcChunker();
  const out: Uint8Array[] = [];
  for (const p of pieces) out.push(...chunker.push(p));
  out.push(...chunker.finish());
  return { lengths: out.map((c) => c.length), bytes: out };
}

describe('FastCDC parameters', () => {
  it('match the documented values and keep chunks under the 1 MiB IPFS block limit', () => {
    expect([CDC_MIN_SIZE, CDC_AVG_SIZE, CDC_MAX_SIZE]).toEqual([16384, 65536, 262144]);
    expect(CDC_MAX_SIZE).toBeLessThanOrEqual(1 << 20);
    // Normalized chunking level 2: 16 = log2(avg) bits, +2 below avg and -2 above.
    const bits = (m: number): number => m.toString(2).replace(/0/g, '').length;
    expect(bits(CDC_MASK_S)).toBe(18);
    expect(bits(CDC_MASK_L)).toBe(14);
    expect(CDC_MASK_S >>> 0).toBe(0xffffc000);
    expect(CDC_MASK_L >>> 0).toBe(0xfffc0000);
  });
});

describe('fastCdcCut', () => {
  it('agrees with a plain per-spec implementation on random data (several seeds and sizes)', () => {
    for (const [seed, n] of [
      ['a', 3 << 20],
      ['b', 1_000_003],
      ['c', CDC_MIN_SIZE + 1],
      ['d', CDC_MAX_SIZE * 2 + 7],
    ] as const) {
      const data = pseudoRandomBytes(`fastcdc-spec-${seed}`, n);
      expect(lengths(data), `seed ${seed}`).toEqual(specChunkLengths(data));
    }
  });

  it('agrees with the spec on low-entropy inputs (few distinct bytes, where mask handling matters)', () => {
    const rnd = pseudoRandomBytes('low-entropy', 2 << 20);
    for (const alphabet of [2, 3, 4, 16]) {
      const data = rnd.map((b) => b % alphabet);
      expect(lengths(data), `alphabet ${alphabet}`).toEqual(specChunkLengths(data));
    }
  });

  it('cuts all-zero input into max-size chunks (the gear hash settles to a constant with mask bits set)', () => {
    const data = new Uint8Array(CDC_MAX_SIZE * 3 + 5);
    expect(lengths(data)).toEqual(specChunkLengths(data));
    expect(lengths(data)).toEqual([CDC_MAX_SIZE, CDC_MAX_SIZE, CDC_MAX_SIZE, 5]);
  });

  it('keeps every chunk within [MIN+1, MAX] except a short last one, and covers the input exactly', () => {
    const data = pseudoRandomBytes('bounds', 8 << 20);
    const ls = lengths(data);
    expect(ls.reduce((a, b) => a + b, 0)).toBe(data.length);
    for (const l of ls.slice(0, -1)) {
      expect(l).toBeGreaterThan(CDC_MIN_SIZE);
      expect(l).toBeLessThanOrEqual(CDC_MAX_SIZE);
    }
    // Random data: the mean lands between avg and avg + the easy mask's expected run (16 KiB).
    const mean = data.length / ls.length;
    expect(mean).toBeGreaterThan(CDC_AVG_SIZE * 0.9);
    expect(mean).toBeLessThan(CDC_AVG_SIZE * 1.4);
  });

  it('returns the whole remainder for inputs up to MIN bytes, and for exactly MIN+1 a single chunk', () => {
    for (const n of [0, 1, 100, CDC_MIN_SIZE]) expect(fastCdcCut(new Uint8Array(n + 10), 10, n + 10)).toBe(n);
    // MIN+1 bytes: only the byte at offset MIN is hashed; whether or not it is a boundary, one chunk.
    const data = pseudoRandomBytes('min+1', CDC_MIN_SIZE + 1);
    expect(lengths(data)).toEqual([CDC_MIN_SIZE + 1]);
  });

  it('depends only on the bytes of the chunk (same content at another offset gives the same cut)', () => {
    const data = pseudoRandomBytes('offset', 1 << 20);
    const shifted = new Uint8Array(data.length + 12345);
    shifted.set(data, 12345);
    expect(fastCdcCut(shifted, 12345, shifted.length)).toBe(fastCdcCut(data, 0, data.length));
  });
});

describe('FastCdcChunker (streaming)', () => {
  const data = pseudoRandomBytes('stream-property', 3 << 20);
  const oneShot = lengths(data);

  it('gives the same chunks as one-shot chunking however the input is split (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 40 }), (cuts) => {
        const { lengths: ls, bytes } = streamLengths(splitAt(data, cuts));
        expect(ls).toEqual(oneShot);
        expect(Buffer.concat(bytes).equals(data)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('handles byte-at-a-time and tiny pieces around the block size', () => {
    const small = data.subarray(0, 600_000);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < small.length; i += 1) pieces.push(small.subarray(i, i + 1));
    expect(streamLengths(pieces).lengths).toEqual(lengths(small));
    // Pieces that straddle the chunker's internal 4 MiB block boundary.
    const big = pseudoRandomBytes('straddle', 9 << 20);
    const cuts = [(4 << 20) - 1, 4 << 20, (4 << 20) + 1, (8 << 20) - 3];
    expect(streamLengths(splitAt(big, cuts)).lengths).toEqual(lengths(big));
  });

  it('returned chunks stay intact after later pushes and the caller reusing its buffer', () => {
    const chunker = new FastCdcChunker();
    const piece = new Uint8Array(1 << 20);
    const got: Uint8Array[] = [];
    const source = pseudoRandomBytes('reuse', 10 << 20);
    for (let o = 0; o < source.length; o += piece.length) {
      piece.set(source.subarray(o, o + piece.length));
      got.push(...chunker.push(piece));
      piece.fill(0xee); // the caller scribbles over its buffer
    }
    got.push(...chunker.finish());
    expect(Buffer.concat(got).equals(source)).toBe(true);
    expect(got.map((c) => c.length)).toEqual(lengths(source));
  });

  it('rejects use after finish()', () => {
    const chunker = new FastCdcChunker();
    chunker.finish();
    expect(() => chunker.push(new Uint8Array(1))).toThrow(/after finish/);
  });
});

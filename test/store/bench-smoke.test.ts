import { describe, expect, it } from 'vitest';
import { benchStore } from '../../bench/store.js';

// Not a benchmark run: checks that the benchmark function works end to end on a tiny input and
// reports the figures the lead's bench script reads. Timings are never asserted.
describe('bench/store.ts', () => {
  it('runs on a small input and returns finite figures', async () => {
    const figures = await benchStore({ chunks: 300, chunkBytes: 2048, randomReads: 50 });
    for (const key of ['putMs', 'flushMs', 'putPlusFlushMs', 'openInProcessMs', 'getAllMs', 'stackPutPlusFlushMs']) {
      expect(Number.isFinite(figures[key]), key).toBe(true);
    }
    expect(figures.chunks).toBe(300);
    expect(figures.packs).toBe(1);
    expect(figures.stackStoredBytesRatio).toBeLessThan(1);
  });
});

/** 1M-entry round trip through a shared-directory backend (packs on a filesystem). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTRIES } from './fixtures/dataset-1m.js';
import { ROUND_TRIP_TIMEOUT_MS, roundTrip } from './fixtures/roundtrip.js';

describe('1M-entry round trip: directory backend', () => {
  it('push, fetch into an empty store, every entry identical', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prolly-rt-dir-'));
    try {
      const f = await roundTrip({ name: 'share', type: 'local', path: dir });
      expect(f.pushed).toBeGreaterThan(1000);
      expect(f.fetched).toBe(f.pushed);
      expect(f.entries).toBe(ENTRIES);
      expect(f.mismatches).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, ROUND_TRIP_TIMEOUT_MS);
});

/** 1M-entry round trip through S3 (the shared s3rver). */
import { describe, expect, it } from 'vitest';
import { ENTRIES } from './fixtures/dataset-1m.js';
import { ROUND_TRIP_TIMEOUT_MS, roundTrip } from './fixtures/roundtrip.js';
import { newBucket } from './helpers.js';

describe('1M-entry round trip: S3 backend (s3rver)', () => {
  it('push, fetch into an empty store, every entry identical', async () => {
    const { endpoint, bucket } = await newBucket();
    const f = await roundTrip({ name: 's3', type: 's3', bucket, prefix: 'rt', endpoint });
    expect(f.pushed).toBeGreaterThan(1000);
    expect(f.fetched).toBe(f.pushed);
    expect(f.entries).toBe(ENTRIES);
    expect(f.mismatches).toBe(0);
  }, ROUND_TRIP_TIMEOUT_MS);
});

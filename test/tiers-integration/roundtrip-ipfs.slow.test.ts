/** 1M-entry round trip through IPFS (the shared js-ipfs node, or PROLLY_TEST_IPFS_API). */
import { describe, expect, it } from 'vitest';
import { ipfsNode, ipfsSkipReason } from '../setup/servers.js';
import { ENTRIES } from './fixtures/dataset-1m.js';
import { ROUND_TRIP_TIMEOUT_MS, roundTrip } from './fixtures/roundtrip.js';

describe.skipIf(ipfsSkipReason())('1M-entry round trip: IPFS backend', () => {
  it('push, fetch into an empty store, every entry identical', async () => {
    const node = await ipfsNode();
    const f = await roundTrip({ name: 'ipfs', type: 'ipfs', endpoint: node.apiUrl });
    // On a user's Kubo, blocks an earlier run pinned are already there (and not sent again).
    expect(f.fetched).toBeGreaterThan(1000);
    expect(f.fetched).toBeGreaterThanOrEqual(f.pushed);
    expect(f.entries).toBe(ENTRIES);
    expect(f.mismatches).toBe(0);
  }, ROUND_TRIP_TIMEOUT_MS);
});

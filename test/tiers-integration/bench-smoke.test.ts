import { describe, expect, it } from 'vitest';
import { benchTiers } from '../../bench/tiers.js';
import { useS3rverCredentials } from '../setup/s3rver.js';
import { ipfsNode, ipfsSkipReason, s3Endpoint } from '../setup/servers.js';

// Not a benchmark run: checks that bench/tiers.ts works end to end on a small dataset and reports
// the figures the bench script writes. Timings are never asserted; request counts are structural.
describe('bench/tiers.ts', () => {
  it('runs on a small dataset and returns the figures', async () => {
    useS3rverCredentials();
    const ipfsApi = ipfsSkipReason() ? undefined : (await ipfsNode()).apiUrl;
    const f = await benchTiers({ entries: 20_000, ipfsEntries: ipfsApi ? 3000 : 0, endpoint: await s3Endpoint(), ipfsApi });
    for (const key of ['push_1m_puts', 'push_1m_bytes', 'push_1m_vs_raw_sdk', 'push_incremental_100_rows_bytes', 'push_incremental_100_rows_puts', 'cold_get_requests', 'depth']) {
      expect(Number.isFinite(f[key]), key).toBe(true);
    }
    expect(f.push_1m_puts).toBeLessThanOrEqual(f.push_1m_puts_limit!);
    expect(f.push_incremental_100_rows_puts).toBeLessThanOrEqual(3);
    expect(f.cold_get_requests).toBeLessThanOrEqual(f.depth! + 2);
    if (ipfsApi) expect(f.ipfs_push_rpc_calls).toBeLessThanOrEqual(f.ipfs_push_rpc_limit!);
  });
});

/**
 * vitest globalSetup: ONE s3rver and ONE IPFS node per test run, shared by every test file.
 * Their URLs reach the tests through `provide`/`inject` (keys below) and, for child processes, the
 * environment (PROLLY_TEST_S3_ENDPOINT, PROLLY_TEST_IPFS_API_URL). Test files get them through
 * test/setup/servers.ts, which starts its own servers when this setup is not wired in.
 *
 * IPFS: PROLLY_TEST_IPFS_API=http://… uses a running Kubo instead of the js-ipfs daemon;
 * PROLLY_TEST_SKIP_IPFS=1 skips IPFS tests (reported as skipped) when neither is available.
 */
import type { TestProject } from 'vitest/node';
import { ipfsUnavailableReason, startIpfs, type RunningIpfs } from './ipfs.js';
import { startS3rver } from './s3rver.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint URL of the shared s3rver. */
    prollyS3Endpoint: string;
    /** API URL of the shared IPFS node ('' when unavailable). */
    prollyIpfsApi: string;
    /** Why the IPFS node is unavailable ('' when it is available). */
    prollyIpfsUnavailable: string;
    /** True when the IPFS node was started for this run (its pins may be wiped). */
    prollyIpfsOwned: boolean;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const s3 = await startS3rver();
  project.provide('prollyS3Endpoint', s3.endpoint);
  process.env.PROLLY_TEST_S3_ENDPOINT = s3.endpoint;

  let ipfs: RunningIpfs | undefined;
  const reason = ipfsUnavailableReason();
  if (reason && process.env.PROLLY_TEST_SKIP_IPFS === '1') {
    project.provide('prollyIpfsApi', '');
    project.provide('prollyIpfsUnavailable', reason);
    project.provide('prollyIpfsOwned', false);
  } else {
    try {
      ipfs = await startIpfs();
    } catch (e) {
      await s3.stop();
      throw e;
    }
    project.provide('prollyIpfsApi', ipfs.apiUrl);
    project.provide('prollyIpfsUnavailable', '');
    project.provide('prollyIpfsOwned', ipfs.owned);
    process.env.PROLLY_TEST_IPFS_API_URL = ipfs.apiUrl;
  }

  return async () => {
    await Promise.allSettled([s3.stop(), ipfs?.stop()]);
  };
}

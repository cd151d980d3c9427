/**
 * What test files call to reach the shared test servers: the ones global-servers.ts started
 * (through `inject`), or — when a run does not use that global setup — servers this file starts
 * on first use and stops after the file's tests.
 *
 * @example
 * const endpoint = await s3Endpoint();
 * const ipfs = await ipfsNode(); // { apiUrl, owned } or throws with the reason
 */
import { afterAll, inject } from 'vitest';
import { ipfsUnavailableReason, startIpfs, type RunningIpfs } from './ipfs.js';
import { startS3rver, type RunningS3rver } from './s3rver.js';
import type {} from './global-servers.js';

let localS3: Promise<RunningS3rver> | undefined;
let localIpfs: Promise<RunningIpfs> | undefined;

afterAll(async () => {
  const [s3, ipfs] = await Promise.all([localS3?.catch(() => undefined), localIpfs?.catch(() => undefined)]);
  await Promise.allSettled([s3?.stop(), ipfs?.stop()]);
});

function injected<K extends 'prollyS3Endpoint' | 'prollyIpfsApi' | 'prollyIpfsUnavailable' | 'prollyIpfsOwned'>(key: K) {
  try {
    return inject(key);
  } catch {
    return undefined;
  }
}

/** Endpoint of an s3rver for this file's tests. */
export async function s3Endpoint(): Promise<string> {
  const shared = injected('prollyS3Endpoint');
  if (shared) return shared;
  localS3 ??= startS3rver();
  return (await localS3).endpoint;
}

/** Whether IPFS tests can run, and if not why (for `describe.skipIf`). */
export function ipfsSkipReason(): string | undefined {
  if (injected('prollyIpfsApi')) return undefined;
  const told = injected('prollyIpfsUnavailable');
  if (told) return told;
  const reason = ipfsUnavailableReason();
  return reason && process.env.PROLLY_TEST_SKIP_IPFS === '1' ? reason : undefined;
}

/** The IPFS node for this file's tests. */
export async function ipfsNode(): Promise<{ apiUrl: string; owned: boolean }> {
  const shared = injected('prollyIpfsApi');
  if (shared) return { apiUrl: shared, owned: Boolean(injected('prollyIpfsOwned')) };
  localIpfs ??= startIpfs();
  const node = await localIpfs;
  return { apiUrl: node.apiUrl, owned: node.owned };
}

/**
 * The IPFS node for tier tests: a real Kubo when PROLLY_TEST_IPFS_API is set, otherwise the
 * offline js-ipfs daemon installed in test/ipfs-daemon (`npm ci --prefix test/ipfs-daemon`).
 */
// @ts-expect-error plain ESM JavaScript without type declarations
import { isIpfsDaemonInstalled, startIpfsDaemon } from '../ipfs-daemon/start.mjs';

export interface RunningIpfs {
  apiUrl: string;
  /** True when this process started the node (and may wipe its pins); false for a user's Kubo. */
  owned: boolean;
  stop(): Promise<void>;
}

/** Why IPFS tests cannot run here, or undefined when they can. */
export function ipfsUnavailableReason(): string | undefined {
  if (process.env.PROLLY_TEST_IPFS_API) return undefined;
  if ((isIpfsDaemonInstalled as () => boolean)()) return undefined;
  return 'js-ipfs test daemon not installed: run `npm ci --prefix test/ipfs-daemon`, or set PROLLY_TEST_IPFS_API=http://127.0.0.1:5001 to use a running Kubo';
}

/**
 * Use PROLLY_TEST_IPFS_API if set, else start the js-ipfs daemon.
 * @example const ipfs = await startIpfs(); create({ url: ipfs.apiUrl })
 */
export async function startIpfs(): Promise<RunningIpfs> {
  const external = process.env.PROLLY_TEST_IPFS_API;
  if (external) return { apiUrl: external.replace(/\/+$/, ''), owned: false, stop: async () => {} };
  const reason = ipfsUnavailableReason();
  if (reason) throw new Error(reason);
  const d = (await startIpfsDaemon()) as { apiUrl: string; stop(): Promise<void> };
  return { apiUrl: d.apiUrl, owned: true, stop: () => d.stop() };
}

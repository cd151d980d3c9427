/**
 * `git prolly pull [git pull arguments…]`: `git pull`, then fetch the chunks of the new HEAD (recorded
 * in the audit log as a `fetch` entry when chunks came in).
 */
import { spawnSync } from 'node:child_process';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';
import { auditFetch, fetchInto } from './fetch.js';

export async function run(out: Output, args: unknown[]): Promise<number | void> {
  const gitArgs = ((args[0] as string[] | undefined) ?? []).map(String);
  const pulled = spawnSync('git', ['pull', ...gitArgs], { stdio: ['inherit', out.json ? 'ignore' : 'inherit', 'inherit'] });
  if (pulled.error) throw new ProllyError(ErrorCodes.GIT_STATE, `cannot run git pull: ${pulled.error.message}`, {});
  if (pulled.status !== 0) return pulled.status ?? 2;
  await withRepo('pull', async (repo) => {
    const summary = await fetchInto(repo, out, {});
    await auditFetch(repo, 'pull', summary);
    if (out.json) await out.printJson(summary);
    else await out.line(`fetched ${formatCount(summary.chunksFetched)} chunks (${formatBytes(summary.bytesFetched)}) for ${formatCount(summary.datasetVersions)} dataset versions`);
  });
}

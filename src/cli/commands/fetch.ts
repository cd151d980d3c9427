/**
 * `git prolly fetch [remote] [--all | --at rev]`: download every chunk the datasets need, for offline
 * use — at HEAD and in the work tree (default), at one revision, or in every commit of every ref.
 */
import type { Repo } from '../../repo/repo.js';
import { allRefTips, commitsBetween, datasetRootsOf } from '../../store/remote/commits.js';
import { fetchChunks } from '../../store/remote/fetch.js';
import type { DatasetRoots } from '../../store/remote/reachable.js';
import { openRepoStore } from '../../store/tiered/repo-store.js';
import { NodeStore } from '../../tree/node-store.js';
import { invalidArgument } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [remote] = args as [string | undefined];
  if (options.all && options.at) throw invalidArgument('use either --all or --at <rev>, not both');
  await withRepo('fetch', async (repo) => {
    const summary = await fetchInto(repo, out, { remote, all: Boolean(options.all), at: options.at as string | undefined });
    await auditFetch(repo, 'fetch', summary);
    if (out.json) await out.printJson(summary);
    else await out.line(summary.chunksFetched === 0 ? `everything is local (${formatCount(summary.datasetVersions)} dataset versions)` : `fetched ${formatCount(summary.chunksFetched)} chunks (${formatBytes(summary.bytesFetched)}) for ${formatCount(summary.datasetVersions)} dataset versions`);
  });
}

/** What a fetch did (also used by pull). */
export interface FetchSummary {
  datasetVersions: number;
  nodes: number;
  chunksFetched: number;
  bytesFetched: number;
  ms: number;
}

/**
 * Record a fetch that brought chunks in as a `fetch` entry of the audit log (nothing when all was local).
 * @example await auditFetch(repo, 'pull', summary)
 */
export async function auditFetch(repo: Repo, command: 'fetch' | 'pull', summary: FetchSummary): Promise<void> {
  if (summary.chunksFetched === 0) return;
  const { auditStorage } = await import('../../audit/record.js');
  await auditStorage(repo, {
    op: 'fetch',
    what: `${command}: fetched ${summary.chunksFetched} chunks (${formatBytes(summary.bytesFetched)}) for ${summary.datasetVersions} dataset versions`,
    details: { command, ...summary },
  });
}

/**
 * Fetch the chunks of the chosen dataset versions into the local store.
 * @example await fetchInto(repo, out, { all: true })
 */
export async function fetchInto(repo: Repo, out: Output, opts: { remote?: string; all?: boolean; at?: string }): Promise<FetchSummary> {
  const git = await repo.git();
  let roots: DatasetRoots[];
  if (opts.at !== undefined) roots = await datasetRootsOf(git, [await git.resolve(opts.at)]);
  else if (opts.all) roots = await datasetRootsOf(git, await commitsBetween(git, await allRefTips(git, { remotes: true })));
  else {
    const head = (await git.head()).oid;
    roots = head ? await datasetRootsOf(git, [head]) : [];
    for (const d of await repo.datasets()) roots.push({ root: d.pointer.root, ...(d.pointer.schema ? { schema: d.pointer.schema } : {}) });
    const distinct = new Map(roots.map((r) => [toHex(r.root) + (r.schema ? toHex(r.schema) : ''), r]));
    roots = [...distinct.values()];
  }
  const wait = process.env.GIT_PROLLY_LOCK_TIMEOUT_MS;
  const rs = await openRepoStore(repo.config, repo.paths, {
    lockTimeoutMs: wait !== undefined && /^\d+$/.test(wait) ? Number(wait) : 0,
    ...(opts.remote ? { onlyTiers: [opts.remote] } : {}),
  });
  const progress = out.progress('fetching');
  try {
    const r = await fetchChunks({
      nodes: new NodeStore(rs.store),
      chunks: rs.store,
      local: rs.local.store,
      roots,
      onProgress: (p) => progress.update({ done: p.nodes, detail: `${formatCount(p.nodes)} nodes, ${formatCount(rs.readThrough.stats.remoteChunks)} chunks fetched (${formatBytes(rs.readThrough.stats.remoteBytes)})` }),
    });
    return { datasetVersions: roots.length, nodes: r.nodes, chunksFetched: rs.readThrough.stats.remoteChunks, bytesFetched: rs.readThrough.stats.remoteBytes, ms: r.ms };
  } finally {
    progress.finish();
    await rs.close();
  }
}

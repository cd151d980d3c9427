/**
 * `git prolly push [remote] [--all] [--jobs N]`: upload every chunk reachable from the current
 * branch's history (or every branch and tag) that the storage backends lack. Idempotent and
 * resumable; `--hook` is what the pre-push hook runs (commits come from git on standard input).
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { allRefTips, commitsBetween, datasetRootsOf } from '../../store/remote/commits.js';
import { isZeroOid, parsePrePushInput } from '../../store/remote/hooks.js';
import { pushChunks } from '../../store/remote/push.js';
import { pushTarget } from '../../store/remote/targets.js';
import { openRepoStore } from '../../store/tiered/repo-store.js';
import { intOption, readStdin, withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [remote] = args as [string | undefined];
  const jobs = intOption('--jobs', options.jobs);
  const hook = Boolean(options.hook);
  await withRepo('push', async (repo) => {
    const git = await repo.git();
    let commits: string[];
    if (hook) {
      const refs = parsePrePushInput(Buffer.from(await readStdin()).toString('utf8'));
      const tips = refs.filter((r) => !isZeroOid(r.localOid)).map((r) => r.localOid);
      commits = tips.length ? await commitsBetween(git, tips, refs.map((r) => r.remoteOid)) : [];
    } else if (options.all) {
      commits = await commitsBetween(git, await allRefTips(git));
    } else {
      const head = (await git.head()).oid;
      commits = head ? await commitsBetween(git, [head]) : [];
    }
    const roots = await datasetRootsOf(git, commits);
    const rs = await openRepoStore(repo.config, repo.paths, { readOnly: true, uploadConcurrency: jobs && jobs > 0 ? jobs : undefined });
    let target;
    try {
      if (roots.length === 0 && !rs.placement && !remote) {
        // Nothing to upload and nowhere to: fine for a repository without datasets or remotes.
        if (!hook) await out.line('nothing to push');
        return;
      }
      target = await pushTarget(rs, remote);
      const where = target.tiers.map((t) => t.name).join(', ');
      const progress = out.progress(`pushing to ${where}`);
      let result;
      try {
        result = await pushChunks({
          chunks: rs.store,
          target: target.store,
          stored: target.stored,
          has: target.has,
          roots,
          onProgress: (p) => progress.update({ done: p.chunks, detail: `${formatCount(p.chunks)} chunks, ${formatBytes(p.bytes)} sent` }),
        });
      } finally {
        progress.finish();
      }
      const summary = {
        remote: target.tiers.map((t) => t.name),
        commits: commits.length,
        datasetVersions: roots.length,
        chunksSent: result.chunks,
        bytesSent: result.bytes,
        chunksExamined: result.examined,
        alreadyPresent: result.present,
        ms: result.ms,
      };
      if (result.chunks > 0) {
        const { auditStorage } = await import('../../audit/record.js');
        await auditStorage(repo, { op: 'push', what: `push to ${where}: ${result.chunks} chunks for ${roots.length} dataset versions`, details: summary });
      }
      if (out.json) await out.printJson(summary);
      else if (result.chunks === 0) {
        if (!hook) await out.line(`${where}: up to date (${formatCount(roots.length)} dataset versions in ${formatCount(commits.length)} commits)`);
      } else {
        const line = `${where}: sent ${formatCount(result.chunks)} chunks (${formatBytes(result.bytes)}) for ${formatCount(roots.length)} dataset versions in ${formatCount(commits.length)} commits`;
        if (hook) process.stderr.write(`git-prolly: ${line}\n`);
        else await out.line(line);
      }
    } catch (err) {
      // What went up stays up (packs are content-named); the next push sends only the rest.
      for (const t of target?.tiers ?? rs.tiers) t.abandon();
      const names = target?.tiers.map((t) => t.name) ?? (remote ? [remote] : (rs.placement?.writeTiers.map((t) => t.name) ?? []));
      throw pushFailed(err, names, hook);
    } finally {
      await rs.close();
    }
  });
}

function pushFailed(err: unknown, names: string[], hook: boolean): unknown {
  if (!(err instanceof ProllyError) || err.code === ErrorCodes.INVALID_ARGUMENT || err.code === ErrorCodes.BAD_CONFIG) return err;
  const where = names.length ? ` to ${names.join(', ')}` : '';
  const next = hook ? 'the git push was stopped; fix the problem and push again' : 'run git prolly push again to upload what is missing';
  return new ProllyError(err.code, `push${where} failed: ${err.message} — nothing local was lost; ${next}`, err.data, { cause: err });
}

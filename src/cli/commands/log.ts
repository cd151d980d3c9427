/** `git prolly log [dataset] [-n N] [--first-parent] [--at rev]`. */
import { toHex } from '../../util/bytes.js';
import type { GitIdentity } from '../../repo/git-config.js';
import { formatTz } from '../../repo/git.js';
import { intOption, withRepo } from '../context.js';
import { formatCount, type Output } from '../output.js';

/** git's default date format: "Sat Nov 21 08:04:28 2026 +0000" in the author's zone. */
export function gitDate(p: GitIdentity): string {
  const d = new Date((p.timestamp - p.timezoneOffset * 60) * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const hms = d.toISOString().slice(11, 19);
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${d.getUTCDate()} ${hms} ${d.getUTCFullYear()} ${formatTz(p.timezoneOffset)}`;
}

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset] = args as [string | undefined];
  await withRepo('log', async (repo) => {
    if (dataset !== undefined) repo.dataset(dataset); // validates the name
    const entries = await repo.log({ dataset, rev: options.at as string | undefined, limit: intOption('--limit', options.limit), firstParent: Boolean(options.firstParent) });
    if (out.json) {
      await out.printJson(
        entries.map(({ commit, datasets }) => ({
          commit: commit.oid,
          parents: commit.parents,
          author: { name: commit.author.name, email: commit.author.email, timestamp: commit.author.timestamp },
          message: commit.message,
          datasets: datasets.map((d) => ({
            name: d.name,
            change: d.change,
            before: d.before ? { count: d.before.count, root: toHex(d.before.root) } : null,
            after: d.after ? { count: d.after.count, root: toHex(d.after.root) } : null,
          })),
        })),
      );
      return;
    }
    let first = true;
    for (const { commit, datasets } of entries) {
      if (!first) await out.line('');
      first = false;
      await out.line(`commit ${commit.oid}`);
      if (commit.parents.length > 1) await out.line(`Merge: ${commit.parents.map((p) => p.slice(0, 7)).join(' ')}`);
      await out.line(`Author: ${commit.author.name} <${commit.author.email}>`);
      await out.line(`Date:   ${gitDate(commit.author)}`);
      await out.line('');
      for (const l of commit.message.replace(/\n$/, '').split('\n')) await out.line(`    ${l}`);
      await out.line('');
      for (const d of datasets) {
        const before = d.before ? formatCount(d.before.count) : '∅';
        const after = d.after ? formatCount(d.after.count) : '∅';
        await out.line(`    ${d.change.padEnd(8)} ${d.name} (${before} → ${after} entries)`);
      }
    }
  });
}

/** `git prolly status`: datasets changed since HEAD, conflicts, merge state. */
import { withRepo } from '../context.js';
import { formatCount, type Output } from '../output.js';

export async function run(out: Output): Promise<void> {
  await withRepo('status', async (repo) => {
    const { repoStatus } = await import('../../repo/status.js');
    const s = await repoStatus(repo);
    if (out.json) {
      await out.printJson({
        branch: s.branch ?? null,
        head: s.head ?? null,
        merging: s.merging,
        changes: s.changes.map((c) => ({ dataset: c.dataset, state: c.state, added: c.added, removed: c.removed, modified: c.modified, countBefore: c.from?.count ?? null, countAfter: c.to?.count ?? null })),
        conflicts: s.conflicts,
      });
      return;
    }
    await out.line(s.branch ? `On branch ${s.branch}${s.head ? '' : ' (no commits yet)'}` : `HEAD detached at ${s.head?.slice(0, 7)}`);
    if (s.merging) await out.line('You are in the middle of a merge.');
    if (s.conflicts.length > 0) {
      await out.line('Unresolved conflicts (see git prolly conflicts, settle with git prolly resolve):');
      for (const c of s.conflicts) await out.line(`  ${c.dataset}: ${c.count} ${c.count === 1 ? 'key' : 'keys'}`);
    }
    if (s.changes.length === 0) {
      await out.line('datasets unchanged since HEAD');
      return;
    }
    await out.line('Dataset changes not committed (git prolly commit -m … to commit them):');
    for (const c of s.changes) {
      const counts = `+${formatCount(c.added)} -${formatCount(c.removed)} ~${formatCount(c.modified)}`;
      await out.line(`  ${c.state.padEnd(9)} ${c.dataset}  (${counts}; ${formatCount(c.from?.count ?? 0)} → ${formatCount(c.to?.count ?? 0)} entries)`);
    }
  });
}

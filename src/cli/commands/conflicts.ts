/** `git prolly conflicts [dataset]`: unresolved conflicts with base / ours / theirs values. */
import type { TreeValue } from '../../blob/blob-ref.js';
import { listConflicts } from '../../repo/conflicts.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';
import { displayKey, displayValue, jsonKey, jsonValue } from '../render.js';

export async function run(out: Output, args: unknown[]): Promise<void> {
  const [only] = args as [string | undefined];
  await withRepo('conflicts', async (repo) => {
    if (only !== undefined) repo.dataset(only);
    const all = listConflicts(repo).filter((c) => only === undefined || c.dataset === only);
    if (out.json) {
      await out.printJson(
        all.flatMap((d) => d.conflicts.map((c) => ({ dataset: d.dataset, ...jsonKey(c.key), ...jsonValue('base', c.base), ...jsonValue('ours', c.ours), ...jsonValue('theirs', c.theirs) }))),
      );
      return;
    }
    if (all.length === 0) {
      await out.line('no unresolved conflicts');
      return;
    }
    const show = (v: TreeValue | undefined) => (v === undefined ? '(absent)' : displayValue(v, 200));
    for (const d of all) {
      await out.line(`${d.dataset}: ${d.conflicts.length} ${d.conflicts.length === 1 ? 'conflict' : 'conflicts'}`);
      for (const c of d.conflicts) {
        await out.line(`  ${displayKey(c.key)}`);
        await out.line(`    base:   ${show(c.base)}`);
        await out.line(`    ours:   ${show(c.ours)}`);
        await out.line(`    theirs: ${show(c.theirs)}`);
      }
    }
  });
}

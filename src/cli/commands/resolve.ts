/** `git prolly resolve <dataset> <key> --ours|--theirs|--value V|--delete`. */
import { invalidArgument } from '../../errors.js';
import type { ResolveChoice } from '../../repo/merge.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset, key] = args as [string, string];
  const picked = (['ours', 'theirs', 'value', 'delete'] as const).filter((k) => options[k] !== undefined && options[k] !== false);
  if (picked.length !== 1) throw invalidArgument('resolve needs exactly one of --ours, --theirs, --value <value>, --delete');
  const choice: ResolveChoice = picked[0] === 'value' ? { value: String(options.value) } : picked[0]!;
  await withRepo('resolve', async (repo) => {
    const { resolveConflict } = await import('../../repo/merge.js');
    const r = await resolveConflict(repo, { dataset, key, choice });
    if (out.json) {
      await out.printJson({ dataset, key, resolution: picked[0], remaining: r.remaining, staged: r.remaining === 0 });
      return;
    }
    if (r.remaining > 0) await out.line(`resolved ${key} in ${dataset} (${r.remaining} ${r.remaining === 1 ? 'conflict' : 'conflicts'} left)`);
    else await out.line(`resolved ${key}; no conflicts left in ${dataset} (staged). Conclude the merge with git prolly commit -m "…" (or git commit).`);
  });
}

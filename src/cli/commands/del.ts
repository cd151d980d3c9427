/** `git prolly del <dataset> <keys...>`. */
import { toHex } from '../../util/bytes.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';

export async function run(out: Output, args: unknown[]): Promise<void> {
  const [dataset, keys] = args as [string, string[]];
  await withRepo('del', async (repo) => {
    const r = await repo.dataset(dataset).del(...keys);
    if (out.json) {
      await out.printJson({ dataset, deleted: r.deleted, missing: keys.length - r.deleted, count: r.count, root: toHex(r.root) });
      return;
    }
    if (r.deleted < keys.length) process.stderr.write(`deleted ${r.deleted} of ${keys.length} keys (the others were not in ${dataset})\n`);
  });
}

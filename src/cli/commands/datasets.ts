/** `git prolly datasets [--at rev]`: names, kinds, entry counts and roots. */
import { toHex } from '../../util/bytes.js';
import { withRepo } from '../context.js';
import { formatCount, type Output } from '../output.js';
import { shortHex } from '../render.js';

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  await withRepo('datasets', async (repo) => {
    const list = await repo.datasets({ at: options.at as string | undefined });
    if (out.json) {
      await out.printJson(list.map(({ name, pointer }) => ({ name, kind: pointer.kind, count: pointer.count, root: toHex(pointer.root), ...(pointer.schema ? { schema: toHex(pointer.schema) } : {}) })));
      return;
    }
    if (list.length === 0) {
      await out.line('no datasets yet (create one with git prolly put or git prolly import)');
      return;
    }
    const width = Math.max(...list.map((d) => d.name.length));
    for (const { name, pointer } of list) await out.line(`${name.padEnd(width)}  ${pointer.kind.padEnd(5)}  ${formatCount(pointer.count).padStart(12)} entries  ${shortHex(pointer.root)}`);
  });
}

/** `git prolly restore <dataset> [--source rev]`: put a dataset back as it is at HEAD. */
import { removeConflicts } from '../../repo/conflicts.js';
import { withRepo } from '../context.js';
import { formatCount, type Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset] = args as [string];
  const source = (options.source as string | undefined) ?? 'HEAD';
  await withRepo('restore', async (repo) => {
    repo.dataset(dataset);
    const pointer = await repo.pointer(dataset, source);
    await repo.acquireLock();
    const current = repo.readWorkPointer(dataset);
    if (!pointer && !current) {
      const { unknownDataset } = await import('../../dataset/dataset.js');
      throw unknownDataset(dataset, source);
    }
    repo.writeWorkPointer(dataset, pointer);
    removeConflicts(repo.paths, dataset);
    if (out.json) await out.printJson({ dataset, source, exists: pointer !== undefined, count: pointer?.count ?? 0 });
    else await out.line(pointer ? `restored ${dataset} from ${source} (${formatCount(pointer.count)} entries)` : `removed ${dataset} (it does not exist at ${source})`);
  });
}

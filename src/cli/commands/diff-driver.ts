/**
 * `git-prolly diff-driver path old-file old-hex old-mode new-file new-hex new-mode` — git's external
 * diff command for pointer files (diff.prolly.command, used by `git diff`). Prints the key-level diff.
 */
import { readFileSync } from 'node:fs';
import { ProllyError } from '../../errors.js';
import { parsePointer, type DatasetPointer } from '../../repo/pointer.js';
import { openRepo } from '../../repo/repo.js';
import type { Output } from '../output.js';
import { printDeltas } from '../print-diff.js';

export async function run(out: Output, args: unknown[]): Promise<void> {
  const argv = (args[0] as string[] | undefined) ?? [];
  if (argv.length < 7) {
    // git passes one argument for an unmerged path.
    await out.line(`* Unmerged dataset ${argv[0] ?? ''} (see git prolly conflicts)`);
    return;
  }
  const [path, oldFile, oldHex, , newFile, newHex] = argv as [string, string, string, string, string, string];
  const dataset = path.split('/').pop()!;
  const read = (file: string): DatasetPointer | undefined => {
    if (file === '/dev/null') return undefined;
    return parsePointer(readFileSync(file, 'utf8'), { file: path });
  };
  const from = read(oldFile);
  const to = read(newFile);
  const repo = await openRepo({ dir: process.cwd(), gitDir: process.env.GIT_DIR, workTree: process.env.GIT_WORK_TREE });
  try {
    const label = (hex: string) => (/^0+$/.test(hex) ? 'worktree' : hex.slice(0, 7));
    await printDeltas(out, repo, [{ dataset, from, to }], { from: label(oldHex), to: label(newHex) });
  } catch (err) {
    if (err instanceof ProllyError && err.code === 'ECHUNKMISSING') {
      await out.line(`  (the data of ${dataset} is not in the local store: ${err.message})`);
      return;
    }
    throw err;
  } finally {
    await repo.close();
  }
}

/**
 * `git-prolly textconv <pointer file>` — git's textconv filter for pointer files (used by
 * `git log -p`, `git show`, and cached in refs/notes/textconv/prolly). Lists `key = value` lines so
 * git's line diff of two versions is the key-level diff. Datasets larger than
 * `[diff] textconv_max_entries` get a summary line only (use `git prolly diff` for those).
 */
import { readFileSync } from 'node:fs';
import { ProllyError } from '../../errors.js';
import { ProllyTree } from '../../tree/prolly-tree.js';
import { parsePointer } from '../../repo/pointer.js';
import { openRepo } from '../../repo/repo.js';
import type { Output } from '../output.js';
import { DIFF_VALUE_WIDTH } from '../print-diff.js';
import { displayKey, displayValue, shortHex } from '../render.js';

export async function run(out: Output, args: unknown[]): Promise<void> {
  const [file] = args as [string];
  const text = readFileSync(file, 'utf8');
  let pointer;
  try {
    pointer = parsePointer(text, { file });
  } catch {
    // Not a pointer (a conflicted or hand-edited file): show it as it is.
    await out.line(text.replace(/\n$/, ''));
    return;
  }
  await out.line(`# ${pointer.kind} dataset, ${pointer.count} ${pointer.count === 1 ? 'entry' : 'entries'}, root ${shortHex(pointer.root)}`);
  const repo = await openRepo({ dir: process.cwd(), gitDir: process.env.GIT_DIR, workTree: process.env.GIT_WORK_TREE });
  try {
    const max = repo.config.diff.textconv_max_entries;
    if (pointer.count > max) {
      await out.line(`# more than ${max} entries: not listed here; use git prolly diff / git prolly show`);
      return;
    }
    const { nodes } = await repo.reader();
    const tree = await ProllyTree.open(nodes, pointer.root);
    for await (const [key, value] of tree.range()) await out.line(`${displayKey(key)} = ${displayValue(value, DIFF_VALUE_WIDTH)}`);
  } catch (err) {
    if (err instanceof ProllyError && err.code === 'ECHUNKMISSING') {
      await out.line(`# (entries not listed: the data is not in the local store)`);
      return;
    }
    throw err;
  } finally {
    await repo.close();
  }
}

/** `git prolly put <dataset> <key> [value] [--file F | --stdin]`. */
import { createReadStream } from 'node:fs';
import { invalidArgument } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { readStdin, withRepo } from '../context.js';
import type { Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset, key, value] = args as [string, string, string | undefined];
  const sources = [value !== undefined, options.file !== undefined, Boolean(options.stdin)].filter(Boolean).length;
  if (sources !== 1) throw invalidArgument('put needs exactly one value: an argument, --file <path> or --stdin');
  await withRepo('put', async (repo) => {
    const ds = repo.dataset(dataset);
    const existed = await ds.exists();
    const source = value !== undefined ? value : options.file !== undefined ? createReadStream(String(options.file)) : await readStdin();
    const r = await ds.put(key, source);
    if (!existed && !out.json) process.stderr.write(`created dataset ${dataset}\n`);
    if (out.json) await out.printJson({ dataset, key, count: r.count, root: toHex(r.root), created: !existed });
  });
}

/** `git prolly import <dataset> <file|-> [--key COL] [--format F] [--replace]`: streaming import. */
import { statSync } from 'node:fs';
import { invalidArgument } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset, file] = args as [string, string];
  const fromStdin = file === '-';
  if (fromStdin && options.format === undefined) throw invalidArgument('importing from standard input ("-") needs --format csv|ndjson|json');
  const total = fromStdin ? undefined : statSync(file).size;
  const started = performance.now();
  await withRepo('import', async (repo) => {
    const progress = out.progress(`importing ${fromStdin ? 'stdin' : file}`);
    let r;
    try {
      r = await repo.dataset(dataset).import(fromStdin ? (process.stdin as AsyncIterable<Uint8Array>) : file, {
        key: options.key as string | undefined,
        format: options.format as string | undefined,
        replace: Boolean(options.replace),
        file: fromStdin ? 'stdin' : file,
        onProgress: ({ bytes, rows }) => progress.update({ done: bytes, total, detail: `${formatBytes(bytes)}${total ? ` of ${formatBytes(total)}` : ''}, ${formatCount(rows)} rows` }),
      });
    } finally {
      progress.finish();
    }
    const seconds = (performance.now() - started) / 1000;
    if (out.json) {
      await out.printJson({ dataset, rows: r.rows, count: r.count, root: toHex(r.root), seconds: Math.round(seconds * 1000) / 1000 });
      return;
    }
    await out.line(`imported ${formatCount(r.rows)} rows into ${dataset} (${formatCount(r.count)} entries) in ${seconds.toFixed(1)} s`);
  });
}

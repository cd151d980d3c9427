/** `git prolly history <dataset> <key> [-n N] [--at rev]`: commits where a key changed. */
import { intOption, withRepo } from '../context.js';
import type { Output } from '../output.js';
import { displayValue, jsonValue } from '../render.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset, key] = args as [string, string];
  await withRepo('history', async (repo) => {
    const entries = await repo.history(dataset, key, { rev: options.at as string | undefined, limit: intOption('--limit', options.limit) });
    if (out.json) {
      await out.printJson(
        entries.map((h) => ({
          commit: h.commit.oid,
          timestamp: h.commit.committer.timestamp,
          subject: h.commit.message.split('\n')[0],
          type: h.type,
          ...jsonValue('from', h.from),
          ...jsonValue('to', h.to),
        })),
      );
      return;
    }
    for (const h of entries) {
      const date = new Date(h.commit.committer.timestamp * 1000).toISOString().slice(0, 10);
      const value = h.to !== undefined ? displayValue(h.to, 120) : '(deleted)';
      await out.line(`${h.commit.oid.slice(0, 7)} ${date} ${h.type.padEnd(8)} ${value}  — ${h.commit.message.split('\n')[0]}`);
    }
  });
}

/** `git prolly scan <dataset> [--prefix P] [--from K] [--to K] [--limit N] [--keys-only] [--reverse] [--at rev]`. */
import { intOption, withRepo } from '../context.js';
import type { Output } from '../output.js';
import { displayKey, displayValue, jsonKey, jsonValue } from '../render.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset] = args as [string];
  const keysOnly = Boolean(options.keysOnly);
  await withRepo('scan', async (repo) => {
    const entries = repo.dataset(dataset).scan({
      prefix: options.prefix as string | undefined,
      from: options.from as string | undefined,
      to: options.to as string | undefined,
      limit: intOption('--limit', options.limit),
      reverse: Boolean(options.reverse),
      keysOnly,
      at: options.at as string | undefined,
    });
    if (out.json) {
      // A JSON array written entry by entry, so a huge scan streams.
      let first = true;
      await out.line('[');
      for await (const { key, value } of entries) {
        const item = keysOnly ? jsonKey(key) : { ...jsonKey(key), ...jsonValue('value', value) };
        await out.line(`${first ? '' : ','}${JSON.stringify(item)}`);
        first = false;
      }
      await out.line(']');
      return;
    }
    for await (const { key, value } of entries) await out.line(keysOnly ? displayKey(key) : `${displayKey(key)}\t${displayValue(value)}`);
  });
}

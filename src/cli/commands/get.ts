/** `git prolly get <dataset> <key> [--at rev]`: the raw value on stdout; exit 1 when absent. */
import { readValue } from '../../dataset/values.js';
import { CheckFailed } from '../run.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';
import { jsonValue } from '../render.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset, key] = args as [string, string];
  const at = options.at as string | undefined;
  await withRepo('get', async (repo) => {
    const ds = repo.dataset(dataset);
    const raw = await ds.getRaw(key, { at });
    if (raw === undefined) throw new CheckFailed(`key ${JSON.stringify(key)} not found in dataset ${dataset}${at ? ` at ${at}` : ''}`, { dataset, key });
    const { store } = await repo.reader();
    if (out.json) {
      await out.printJson({ dataset, key, ...jsonValue('value', await readValue(store, raw)) });
      return;
    }
    const stream = await ds.getStream(key, { at });
    for await (const part of stream!) await out.bytes(part);
    if (out.interactive) await out.line('');
  });
}

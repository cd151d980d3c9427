/**
 * `git prolly export <dataset> [--format csv|ndjson] [--at rev]`. Values that are JSON objects (what
 * import stores) are written as those objects (NDJSON) or as their fields (CSV, columns from the first
 * row); other values as {"key", "value"} / key,value columns.
 */
import { invalidArgument } from '../../errors.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';
import { asText } from '../render.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset] = args as [string];
  const format = String(options.format ?? 'ndjson');
  if (format !== 'csv' && format !== 'ndjson') throw invalidArgument(`--format must be csv or ndjson, got ${JSON.stringify(format)}`);
  await withRepo('export', async (repo) => {
    let columns: string[] | undefined;
    let objects: boolean | undefined;
    for await (const { key, value } of repo.dataset(dataset).scan({ at: options.at as string | undefined })) {
      const keyText = asText(key) ?? `0x${Buffer.from(key).toString('hex')}`;
      const text = asText(value);
      let obj: Record<string, unknown> | undefined;
      if (text !== undefined && text.startsWith('{')) {
        try {
          const parsed = JSON.parse(text) as unknown;
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) obj = parsed as Record<string, unknown>;
        } catch {
          obj = undefined;
        }
      }
      objects ??= obj !== undefined;
      if (format === 'ndjson') {
        await out.line(objects && obj ? JSON.stringify(obj) : JSON.stringify({ key: keyText, value: text ?? Buffer.from(value).toString('base64') }));
        continue;
      }
      if (!columns) {
        columns = objects && obj ? Object.keys(obj) : ['key', 'value'];
        await out.line(columns.map(csvCell).join(','));
      }
      if (objects) {
        if (!obj) throw invalidArgument(`cannot export ${dataset} as CSV: the value at key ${JSON.stringify(keyText)} is not a JSON object like the first row's`);
        const extra = Object.keys(obj).filter((k) => !columns!.includes(k));
        if (extra.length > 0) throw invalidArgument(`cannot export ${dataset} as CSV: the row at key ${JSON.stringify(keyText)} has fields not in the first row: ${extra.join(', ')}`);
        await out.line(columns.map((c) => csvCell(cellText(obj![c]))).join(','));
      } else {
        await out.line([keyText, text ?? Buffer.from(value).toString('base64')].map(csvCell).join(','));
      }
    }
    if (format === 'csv' && !columns) await out.line('key,value');
  });
}

function cellText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

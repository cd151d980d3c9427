/** `git prolly import <dataset> <file|-> [--key COL] [--format F] [--replace]`: streaming import. */
import { readFileSync, statSync } from 'node:fs';
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
    const { auditImport } = await import('../../audit/record.js');
    const audit = auditImport(repo, dataset, fromStdin ? 'stdin' : file);
    const progress = out.progress(`importing ${fromStdin ? 'stdin' : file}`);
    if (options.table) {
      // SQL tables: src/sql/import-table.ts (typed columns, primary key, schema inference).
      const { importTable } = await import('../../sql/import-table.js');
      const { repoTables } = await import('../../sql/repo-tables.js');
      let t;
      try {
        t = await importTable({
          store: repoTables(repo).store,
          table: dataset,
          input: fromStdin ? (process.stdin as AsyncIterable<Uint8Array>) : file,
          format: options.format as string | undefined,
          file: fromStdin ? 'stdin' : file,
          primaryKey: typeof options.pk === 'string' ? options.pk.split(',').map((c) => c.trim()).filter(Boolean) : undefined,
          schema:
            typeof options.schema === 'string'
              ? (await import('../../sql/ddl.js')).schemaFromCreateTable(options.schema.startsWith('@') ? readFileSync(options.schema.slice(1), 'utf8') : options.schema, dataset)
              : undefined,
          replace: Boolean(options.replace),
          onProgress: ({ phase, bytes, rows }) =>
            progress.update({ done: bytes, total, detail: `${phase === 'scan' ? 'reading types: ' : ''}${formatBytes(bytes)}${total ? ` of ${formatBytes(total)}` : ''}, ${formatCount(rows)} rows` }),
        });
      } finally {
        progress.finish();
      }
      const seconds = (performance.now() - started) / 1000;
      await audit.done({ rows: t.rows, table: true });
      if (out.json) {
        await out.printJson({ table: t.table, rows: t.rows, count: t.count, created: t.created, root: toHex(t.root), seconds: Math.round(seconds * 1000) / 1000 });
        return;
      }
      await out.line(`imported ${formatCount(t.rows)} rows into table ${t.table}${t.created ? ' (created)' : ''} (${formatCount(t.count)} rows) in ${seconds.toFixed(1)} s`);
      return;
    }
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
    await audit.done({ rows: r.rows });
    if (out.json) {
      await out.printJson({ dataset, rows: r.rows, count: r.count, root: toHex(r.root), seconds: Math.round(seconds * 1000) / 1000 });
      return;
    }
    await out.line(`imported ${formatCount(r.rows)} rows into ${dataset} (${formatCount(r.count)} entries) in ${seconds.toFixed(1)} s`);
  });
}

/**
 * `git prolly sql ["QUERY"] [-f script.sql] [--at rev] [--format table|json|ndjson|csv] [--verbose]`:
 * run SQL over the repository's tables. The SQL comes from the argument, a file, or standard input when
 * it is piped; with none of them on a terminal, an interactive shell starts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';
import type { SqlSession, StatementResult } from '../../sql/engine.js';
import { fastSelect } from '../../sql/fast-select.js';
import { formatRows, OUTPUT_FORMATS, type OutputFormat } from '../../sql/format.js';
import { RepoRevisions, RepoTableStore } from '../../sql/repo-tables.js';
import { readStdin, withRepo } from '../context.js';
import type { Output } from '../output.js';
import { EXIT_ERROR } from '../run.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<number | void> {
  const [query] = args as [string | undefined];
  const format = (out.json ? 'json' : (options.format as string | undefined) ?? 'table') as OutputFormat;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) throw invalidArgument(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  if (query !== undefined && options.file !== undefined) throw invalidArgument('give the SQL either as an argument or with --file, not both');
  let script: string | undefined = query;
  if (options.file !== undefined) script = readFileSync(String(options.file), 'utf8');
  const interactive = script === undefined && Boolean(process.stdin.isTTY);
  if (script === undefined && !interactive) script = Buffer.from(await readStdin()).toString('utf8');
  const verbose = Boolean(options.verbose);
  return withRepo('sql', async (repo) => {
    const store = new RepoTableStore(repo);
    const revisions = new RepoRevisions(repo, store);
    const at = options.at as string | undefined;
    if (script !== undefined && !verbose) {
      // A primary-key SELECT is answered without loading the SQL engine (alasql), which costs more
      // than the query itself; anything it declines, or any error it meets, goes to the engine.
      const fast = await (async () => fastSelect({ store: at === undefined ? store : await revisions.tablesAt(at), sql: script }))().catch(() => undefined);
      if (fast) {
        await print(out, fast, format, true);
        return 0;
      }
    }
    // The engine loads alasql through a per-user V8 code cache (src/sql/code-cache.ts).
    const { defaultCodeCacheDir, enableCodeCache } = await import('../../sql/code-cache.js');
    enableCodeCache(defaultCodeCacheDir());
    const { SqlSession } = await import('../../sql/engine.js');
    const session = new SqlSession({ store, revisions, at });
    let code = 0;
    try {
      if (interactive) {
        const { runShell } = await import('../../sql/shell.js');
        const failures = await runShell({
          session,
          input: process.stdin,
          output: process.stdout,
          errors: process.stderr,
          format,
          historyFile: join(repo.paths.prollyDir, 'sql_history'),
          prompt: true,
        });
        code = failures > 0 ? 1 : 0;
      } else {
        await runScript(out, session, script!, { format, verbose });
      }
    } catch (e) {
      if (e instanceof ProllyError && e.code === ErrorCodes.SQL_SYNTAX && !out.json && script !== undefined && !options.debug) {
        // The message, then the line with a caret under the column.
        await out.flush();
        process.stderr.write(`git-prolly: ${e.message}\n`);
        showErrorContext(script, e);
        code = EXIT_ERROR;
      } else throw e;
    } finally {
      if (await session.close()) process.stderr.write('git-prolly: the open transaction was rolled back (COMMIT it to keep its changes)\n');
    }
    return code;
  });
}

async function runScript(out: Output, session: SqlSession, script: string, options: { format: OutputFormat; verbose: boolean }): Promise<void> {
  let first = true;
  let started = performance.now();
  for await (const r of session.statements(script)) {
    const ms = performance.now() - started;
    await print(out, r, options.format, first);
    if (options.verbose) describe(r, ms);
    first = false;
    started = performance.now();
  }
}

async function print(out: Output, r: StatementResult, format: OutputFormat, first: boolean): Promise<void> {
  if (r.kind === 'rows') {
    if (format === 'table' && !first) await out.line('');
    const text = formatRows(format, r.columns, r.rows);
    if (text !== '') await out.line(text);
    return;
  }
  if (format === 'json') {
    await out.line(JSON.stringify(r.kind === 'changes' ? { command: r.command, changes: r.changes } : { command: r.command, message: r.message }));
    return;
  }
  await out.flush();
  process.stderr.write(r.kind === 'changes' ? `${r.command}: ${r.changes} row${r.changes === 1 ? '' : 's'}\n` : `${r.message}\n`);
}

/** --verbose: the access plan, rows and nodes read, and the time, on stderr. */
function describe(r: StatementResult, ms: number): void {
  if (r.kind === 'ok') {
    process.stderr.write(`-- ${r.command} (${ms.toFixed(1)} ms)\n`);
    return;
  }
  for (const p of r.plan) {
    const parts = [`${p.table}${p.alias !== p.table ? ` AS ${p.alias}` : ''} @${p.revision}`, p.access + (p.index ? ` via index ${p.index}${p.indexSource ? ` (${p.indexSource})` : ''}` : '')];
    if (p.condition) parts.push(p.condition);
    if (p.estimatedRows !== undefined) parts.push(`est. ${p.estimatedRows} rows`);
    if (p.rowsRead !== undefined) parts.push(`read ${p.rowsRead} rows`);
    process.stderr.write(`-- plan: ${parts.join(', ')}\n`);
  }
  process.stderr.write(`-- ${r.kind === 'rows' ? `${r.rows.length} rows` : `${r.changes} rows changed`}, ${r.nodeReads} nodes read from the store, ${ms.toFixed(1)} ms\n`);
}

/** The offending line of a script with a caret under the error's column. */
function showErrorContext(script: string, e: ProllyError): void {
  const line = Number(e.data.line);
  const column = Number(e.data.column);
  if (!Number.isInteger(line) || !Number.isInteger(column)) return;
  const text = script.split('\n')[line - 1];
  if (text === undefined) return;
  process.stderr.write(`  ${text}\n  ${' '.repeat(Math.max(0, column - 1))}^\n`);
}


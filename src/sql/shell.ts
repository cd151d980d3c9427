/**
 * The interactive SQL shell of `git prolly sql` (no query given, on a terminal): multi-line input (a
 * statement runs when it ends with `;`), history kept across sessions, and dot commands:
 *
 *   .tables            tables and their row counts
 *   .schema [table]    CREATE statements
 *   .mode FORMAT       table, json, ndjson or csv
 *   .timer on|off      show how long each statement took
 *   .explain on|off    show each statement's access plan
 *   .help              this list
 *   .quit / .exit      leave (an open transaction is rolled back)
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { ProllyError } from '../errors.js';
import { schemaToSql } from './ddl.js';
import type { SqlSession, StatementResult } from './engine.js';
import { formatRows, formatTable, OUTPUT_FORMATS, type OutputFormat } from './format.js';
import { isCompleteInput } from './lexer.js';

/** Options of {@link runShell}. */
export interface ShellOptions {
  session: SqlSession;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Where errors and messages go (default: output). */
  errors?: NodeJS.WritableStream;
  format?: OutputFormat;
  /** File to load history from and save it to. */
  historyFile?: string;
  /** Show prompts (false when input is not a terminal). */
  prompt?: boolean;
}

const HELP = `.tables            tables and their row counts
.schema [table]    CREATE statements
.mode FORMAT       output format: table, json, ndjson or csv
.timer on|off      show how long each statement took
.explain on|off    show each statement's access plan
.help              this list
.quit / .exit      leave (an open transaction is rolled back)
SQL statements end with ";" and may span lines.`;

/**
 * Run the shell until end of input or `.quit`. Returns the number of statements that failed.
 * @example await runShell({ session, input: process.stdin, output: process.stdout, historyFile })
 */
export async function runShell(options: ShellOptions): Promise<number> {
  const { session, output } = options;
  const errors = options.errors ?? output;
  let format: OutputFormat = options.format ?? 'table';
  let timer = false;
  let explain = false;
  let failures = 0;
  const history = loadHistory(options.historyFile);
  const entered: string[] = [];
  const rl = createInterface({ input: options.input, output: options.prompt ? output : undefined, terminal: options.prompt === true, history, historySize: 1000, prompt: 'prolly> ' });
  const write = (s: string) => output.write(s.endsWith('\n') ? s : s + '\n');
  const fail = (e: unknown) => {
    failures++;
    errors.write(`error: ${e instanceof ProllyError || e instanceof Error ? e.message : String(e)}\n`);
  };
  if (options.prompt) write('git-prolly SQL shell. Statements end with ";". Type .help for commands, .quit to leave.');
  let buffer = '';
  const prompt = () => {
    if (!options.prompt) return;
    rl.setPrompt(buffer === '' ? `prolly${session.inTransaction ? '*' : ''}> ` : '   ...> ');
    rl.prompt();
  };
  const show = (r: StatementResult, ms: number) => {
    if (r.kind === 'rows') write(formatRows(format, r.columns, r.rows));
    else if (r.kind === 'changes') write(`${r.command}: ${r.changes} row${r.changes === 1 ? '' : 's'}`);
    else write(r.message);
    if (explain && r.kind !== 'ok') for (const p of r.plan) write(`  plan: ${p.table}${p.alias !== p.table ? ` AS ${p.alias}` : ''} @${p.revision}: ${p.access}${p.index ? ` via ${p.index}` : ''}${p.condition ? ` (${p.condition})` : ''}, read ${p.rowsRead ?? 0} rows`);
    if (timer) write(`  time: ${ms.toFixed(1)} ms`);
  };
  const dot = async (line: string): Promise<boolean> => {
    const [cmd, ...args] = line.trim().split(/\s+/);
    switch (cmd) {
      case '.quit':
      case '.exit':
        return false;
      case '.help':
        write(HELP);
        break;
      case '.tables': {
        const names = await session.tableNames();
        const rows = [];
        for (const n of names) rows.push([n, (await session.table(n))?.count ?? null]);
        write(formatTable(['table', 'rows'], rows));
        break;
      }
      case '.schema': {
        const names = args.length > 0 ? args : await session.tableNames();
        for (const n of names) {
          const t = await session.table(n);
          if (!t) errors.write(`no such table: ${n}\n`);
          else write(schemaToSql(t.schema));
        }
        break;
      }
      case '.mode':
        if (!args[0] || !(OUTPUT_FORMATS as readonly string[]).includes(args[0])) errors.write(`usage: .mode ${OUTPUT_FORMATS.join('|')}\n`);
        else format = args[0] as OutputFormat;
        break;
      case '.timer':
        timer = args[0] === 'on';
        break;
      case '.explain':
        explain = args[0] === 'on';
        break;
      default:
        errors.write(`unknown command ${cmd}; .help lists the commands\n`);
    }
    return true;
  };
  prompt();
  try {
    for await (const line of rl) {
      if (buffer === '' && line.trim().startsWith('.')) {
        entered.push(line.trim());
        try {
          if (!(await dot(line))) break;
        } catch (e) {
          fail(e);
        }
        prompt();
        continue;
      }
      buffer += (buffer === '' ? '' : '\n') + line;
      if (buffer.trim() === '' || !isCompleteInput(buffer)) {
        if (buffer.trim() === '') buffer = '';
        prompt();
        continue;
      }
      const sql = buffer;
      buffer = '';
      entered.push(sql.replace(/\s*\n\s*/g, ' ').trim());
      try {
        let started = performance.now();
        for await (const r of session.statements(sql)) {
          show(r, performance.now() - started);
          started = performance.now();
        }
      } catch (e) {
        fail(e);
      }
      prompt();
    }
    if (buffer.trim() !== '') {
      try {
        for await (const r of session.statements(buffer)) show(r, 0);
      } catch (e) {
        fail(e);
      }
    }
  } finally {
    rl.close();
    saveHistory(options.historyFile, [...history].reverse().concat(entered));
  }
  return failures;
}

function loadHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    // readline keeps the newest entry first
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 1000);
  } catch {
    return [];
  }
}

/** Save history, oldest first (at most 1000 entries). */
function saveHistory(file: string | undefined, history: string[]): void {
  if (!file || history.length === 0) return;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, history.filter((h, i) => h !== '' && h !== history[i - 1]).slice(-1000).join('\n') + '\n');
  } catch {
    /* history is a convenience */
  }
}

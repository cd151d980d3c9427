/**
 * A fast path for one-statement primary-key SELECTs (`git prolly sql "SELECT * FROM t WHERE id = 7"`)
 * that never loads alasql: loading and initialising alasql costs more CPU than the whole rest of such a
 * query. It parses a small subset of SQL with the project's own lexer:
 *
 *   SELECT * | col [AS alias], …  FROM table [AS alias]  WHERE pred AND pred …
 *   pred:  col op literal | literal op col | col IN (literal, …) | col BETWEEN literal AND literal | ( pred AND … )
 *   op:    =  <  <=  >  >=        literal: number, -number, 'text'
 *
 * plans the read with the engine's own key planner (src/sql/key-plan.ts), reads the same rows in the
 * same order the engine would, and applies the WHERE with exactly the semantics of the JavaScript alasql
 * compiles for these operators (including its NULL and NaN handling and its UTF-16 text comparison).
 *
 * Anything else — another statement kind, a construct outside the subset, a name it cannot resolve, a
 * plan other than a primary-key read, a name that would change how the engine tokenizes the statement —
 * makes it decline (return undefined), and the caller runs the statement through SqlSession. So the
 * answer is either the engine's answer or no answer; test/sql/fast-select.test.ts checks that on many
 * queries.
 */
import type { StatementResult, TablePlan } from './engine.js';
import { pickPlan, planCandidates, type AccessPlan, type Predicate } from './key-plan.js';
import { isTrivia, splitStatements, unquoteIdentifier, unquoteString, type Token } from './lexer.js';
import { findColumn, keyColumns, sameName, type TableSchema } from './schema.js';
import { countRange, TableHandle } from './table.js';
import type { TableStore } from './table-store.js';
import type { SqlValue } from './types.js';
import { toOutputValue, type EngineRow } from './values.js';

/** A literal of the subset: a number or a text. */
type Literal = number | string;

/** A column as written: optional qualifier, name. */
interface ColumnRef {
  qualifier?: string;
  name: string;
}

/** One comparison of the WHERE. `columnFirst` keeps the written operand order (it matters for JS `<`). */
export type FastCondition =
  | { kind: 'compare'; column: ColumnRef; op: '=' | '<' | '<=' | '>' | '>='; value: Literal; columnFirst: boolean; text: string }
  | { kind: 'in'; column: ColumnRef; values: Literal[]; text: string }
  | { kind: 'between'; column: ColumnRef; low: Literal; high: Literal; text: string };

/** A parsed statement of the subset. */
export interface FastQuery {
  /** Output columns, or '*' for all. */
  columns: '*' | { column: ColumnRef; as?: string }[];
  table: string;
  /** Explicit `AS alias` of the table. */
  alias?: string;
  /** The conjuncts of the WHERE. */
  where: FastCondition[];
}

/** Words with a meaning in the subset: never identifiers here (a quoted name is fine). */
const GRAMMAR_WORDS = new Set(['SELECT', 'FROM', 'WHERE', 'AS', 'AND', 'IN', 'BETWEEN', 'OF']);
/**
 * Names the engine treats as system tables or table functions (src/sql/analyze.ts), never as tables.
 * @example ENGINE_SPECIAL_TABLES.includes('prolly_log') // true
 */
export const ENGINE_SPECIAL_TABLES = ['prolly_log', 'prolly_branches', 'prolly_tables', 'prolly_diff'] as const;
/** Names the engine's generated JavaScript handles as written (no quotes or escapes to get wrong). */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLAIN_TABLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const FLIP = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as const;

/** Thrown inside the parser to decline; never escapes this module. */
class Decline extends Error {}

function decline(): never {
  throw new Decline();
}

/**
 * Parse one statement's tokens as a statement of the subset, or undefined when it is not one.
 * @example parseFastSelect(splitStatements('SELECT * FROM t WHERE id = 1')[0].tokens)?.table // 't'
 */
export function parseFastSelect(allTokens: readonly Token[]): FastQuery | undefined {
  try {
    return parseTokens(allTokens.filter((t) => !isTrivia(t)));
  } catch (e) {
    if (e instanceof Decline) return undefined;
    throw e;
  }
}

function parseTokens(tokens: Token[]): FastQuery {
  let i = 0;
  const peek = (k = 0): Token | undefined => tokens[i + k];
  const isWord = (t: Token | undefined, w: string) => t !== undefined && t.kind === 'word' && t.text.toUpperCase() === w;
  const isPunct = (t: Token | undefined, p: string) => t !== undefined && t.kind === 'punct' && t.text === p;
  const expectWord = (w: string) => (isWord(peek(), w) ? i++ : decline());
  const expectPunct = (p: string) => (isPunct(peek(), p) ? i++ : decline());

  /** A name: a plain word that is not a word of the subset, or a "quoted" / `quoted` identifier. */
  const name = (): string => {
    const t = peek() ?? decline();
    if (t.kind === 'word') {
      if (GRAMMAR_WORDS.has(t.text.toUpperCase())) decline();
      i++;
      return t.text;
    }
    if (t.kind === 'quoted' && (t.text[0] === '"' || t.text[0] === '`')) {
      const n = unquoteIdentifier(t.text);
      if (n === '' || n.includes('`') || n.includes('"')) decline();
      i++;
      return n;
    }
    return decline();
  };

  const columnRef = (): ColumnRef => {
    const first = name();
    const dot = peek();
    if (!isPunct(dot, '.')) return { name: first };
    // `t.col` written together (alasql's reading of spaced dots is not worth guessing).
    const prev = tokens[i - 1]!;
    const next = peek(1);
    if (dot!.offset !== prev.offset + prev.text.length || !next || next.offset !== dot!.offset + 1) decline();
    i++;
    return { qualifier: first, name: name() };
  };

  const literal = (): Literal => {
    let t = peek() ?? decline();
    let negative = false;
    if (isPunct(t, '-')) {
      negative = true;
      i++;
      t = peek() ?? decline();
    }
    if (t.kind === 'number') {
      // Plain decimal digits only: alasql and this lexer agree on these (not on 0x…, 1e5, .5, 5.).
      if (!/^[0-9]+(\.[0-9]+)?$/.test(t.text)) decline();
      const v = Number(t.text);
      if (!t.text.includes('.') && !Number.isSafeInteger(v)) decline();
      i++;
      return negative ? -v : v;
    }
    if (!negative && t.kind === 'string' && t.text[0] === "'" && !t.text.includes('\\')) {
      i++;
      return unquoteString(t.text);
    }
    return decline();
  };

  const textOf = (from: number): string =>
    tokens
      .slice(from, i)
      .map((t) => t.text)
      .join(' ');

  const condition = (out: FastCondition[]): void => {
    if (isPunct(peek(), '(')) {
      i++;
      conjunction(out);
      expectPunct(')');
      return;
    }
    const from = i;
    const t = peek() ?? decline();
    if (t.kind === 'number' || t.kind === 'string' || isPunct(t, '-')) {
      const value = literal();
      const op = comparison();
      const column = columnRef();
      out.push({ kind: 'compare', column, op, value, columnFirst: false, text: textOf(from) });
      return;
    }
    const column = columnRef();
    if (isWord(peek(), 'IN')) {
      i++;
      expectPunct('(');
      const values = [literal()];
      while (isPunct(peek(), ',')) {
        i++;
        values.push(literal());
      }
      expectPunct(')');
      out.push({ kind: 'in', column, values, text: textOf(from) });
      return;
    }
    if (isWord(peek(), 'BETWEEN')) {
      i++;
      const low = literal();
      expectWord('AND');
      const high = literal();
      out.push({ kind: 'between', column, low, high, text: textOf(from) });
      return;
    }
    const op = comparison();
    const value = literal();
    out.push({ kind: 'compare', column, op, value, columnFirst: true, text: textOf(from) });
  };

  const comparison = (): '=' | '<' | '<=' | '>' | '>=' => {
    const t = peek();
    if (t?.kind === 'punct' && (t.text === '=' || t.text === '<' || t.text === '<=' || t.text === '>' || t.text === '>=')) {
      i++;
      return t.text;
    }
    return decline();
  };

  const conjunction = (out: FastCondition[]): void => {
    condition(out);
    while (isWord(peek(), 'AND')) {
      i++;
      condition(out);
    }
  };

  expectWord('SELECT');
  let columns: FastQuery['columns'];
  if (isPunct(peek(), '*')) {
    i++;
    columns = '*';
  } else {
    columns = [];
    for (;;) {
      const column = columnRef();
      let as: string | undefined;
      if (isWord(peek(), 'AS')) {
        i++;
        as = name();
      }
      columns.push({ column, ...(as !== undefined ? { as } : {}) });
      if (!isPunct(peek(), ',')) break;
      i++;
    }
  }
  expectWord('FROM');
  const table = name();
  let alias: string | undefined;
  if (isWord(peek(), 'AS')) {
    i++;
    alias = name(); // `AS OF` is declined: OF is a word of the subset
  }
  expectWord('WHERE');
  const where: FastCondition[] = [];
  conjunction(where);
  if (i !== tokens.length) decline();
  return { columns, table, ...(alias !== undefined ? { alias } : {}), where };
}

/** Options of {@link fastSelect}. */
export interface FastSelectOptions {
  /** The tables to read: the working ones, or a revision's (`--at`); `AS OF` in the statement is declined. */
  store: TableStore;
  /** The SQL script: answered only when it is one statement of the subset. */
  sql: string;
}

/**
 * Answer a one-statement primary-key SELECT without the SQL engine, or return undefined to say "run it
 * through SqlSession". When it answers, the result is the one SqlSession gives (columns, rows, order).
 * @example
 * const r = await fastSelect({ store, sql: 'SELECT * FROM orders WHERE id = 7' });
 * if (r) print(r.columns, r.rows); else await session.execute(sql);
 */
export async function fastSelect(options: FastSelectOptions): Promise<(StatementResult & { kind: 'rows' }) | undefined> {
  let statements;
  try {
    statements = splitStatements(options.sql);
  } catch {
    return undefined; // the engine reports the syntax error
  }
  if (statements.length !== 1 || statements[0]!.keyword !== 'SELECT') return undefined;
  const st = statements[0]!;
  let query: FastQuery | undefined;
  try {
    query = parseFastSelect(st.tokens);
  } catch {
    return undefined;
  }
  if (!query) return undefined;
  const store = options.store;

  // The table, found as the engine finds it.
  if (ENGINE_SPECIAL_TABLES.some((s) => sameName(s, query.table)) || !PLAIN_TABLE_NAME.test(query.table)) return undefined;
  const names = await store.listTables();
  const candidates = names.filter((n) => sameName(n, query.table));
  const stored = candidates.find((n) => n === query.table) ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (stored === undefined) return undefined;
  const state = await store.getTable(stored);
  if (!state) return undefined;
  const schema = state.schema;
  if (schema.primaryKey.length === 0) return undefined;
  // The engine quotes every word that names a table or a column anywhere and is an alasql keyword; a
  // word of this subset among those names would change how the engine reads the statement.
  for (const n of names) {
    if (GRAMMAR_WORDS.has(n.toUpperCase())) return undefined;
    const s = n === stored ? state : await store.getTable(n);
    if (s?.schema.columns.some((c) => GRAMMAR_WORDS.has(c.name.toUpperCase()))) return undefined;
  }
  const alias = query.alias ?? query.table;
  if (!PLAIN_TABLE_NAME.test(alias)) return undefined;

  const resolve = (ref: ColumnRef): string | undefined => {
    if (ref.qualifier !== undefined && ref.qualifier !== alias && !sameName(ref.qualifier, alias)) return undefined;
    const c = findColumn(schema, ref.name);
    return c && plainName(c.name) ? c.name : undefined;
  };

  // Output columns and the engine-row property each reads.
  let outNames: string[];
  let sources: string[];
  if (query.columns === '*') {
    sources = schema.columns.map((c) => c.name);
    outNames = sources;
  } else {
    sources = [];
    outNames = [];
    for (const c of query.columns) {
      const source = resolve(c.column);
      if (source === undefined) return undefined;
      const out = c.as ?? source;
      if (!plainName(out)) return undefined;
      sources.push(source);
      outNames.push(out);
    }
  }
  if (!sources.every(plainName)) return undefined;
  const folded = outNames.map((n) => n.toLowerCase());
  if (new Set(folded).size !== folded.length) return undefined;

  // Predicates for the key planner, and the row filter.
  const preds: Predicate[] = [];
  const tests: ((row: EngineRow) => unknown)[] = [];
  for (const c of query.where) {
    const column = resolve(c.column);
    if (column === undefined) return undefined;
    if (c.kind === 'compare') {
      preds.push({ column, op: c.columnFirst ? c.op : FLIP[c.op], values: [c.value], text: c.text });
      const cmp = compareOp(c.op);
      const v = c.value;
      tests.push(c.columnFirst ? (row) => cmp(row[column], v) : (row) => cmp(v, row[column]));
    } else if (c.kind === 'in') {
      preds.push({ column, op: 'IN', values: c.values, text: c.text });
      const set = new Set<unknown>(c.values);
      tests.push((row) => (isNullish(row[column]) ? undefined : set.has(row[column])));
    } else {
      preds.push({ column, op: '>=', values: [c.low], text: c.text }, { column, op: '<=', values: [c.high], text: c.text });
      const { low, high } = c;
      // alasql: (low <= x) && (x <= high), NULL when any operand is NULL.
      tests.push((row) => {
        const x = row[column];
        return isNullish(x) ? undefined : (low as never) <= (x as never) && (x as never) <= (high as never);
      });
    }
  }

  // The plan the engine would choose: only primary-key reads are answered here.
  const plans = planCandidates(schema, preds);
  if (plans.some((p) => p.index !== undefined)) return undefined;
  const nodes = await store.nodes();
  const readsBefore = nodes.stats.nodeReads;
  const handle = await TableHandle.open(nodes, stored, state);
  let plan: AccessPlan;
  let estimate: number | undefined;
  if (plans.length === 1) {
    plan = plans[0]!;
    estimate = plan.kind === 'full-scan' ? handle.tree.count : 0;
  } else {
    const estimates: (number | undefined)[] = [];
    for (const c of plans) {
      if (c.kind === 'full-scan') estimates.push(handle.tree.count);
      else if (c.kind === 'pk-point') estimates.push(c.ranges.length);
      else if (c.ranges.length > 16) estimates.push(undefined);
      else {
        let n = 0;
        for (const r of c.ranges) n += await countRange(handle.tree, r);
        estimates.push(n);
      }
    }
    ({ plan, estimate } = pickPlan(plans, estimates));
  }
  if (plan.kind !== 'empty' && plan.kind !== 'pk-point' && plan.kind !== 'pk-range') return undefined;

  const read: EngineRow[] = [];
  if (plan.kind === 'pk-point') {
    for (const { row } of await handle.getMany(plan.ranges.map((r) => r.start))) read.push(row);
  } else if (plan.kind === 'pk-range') {
    await handle.scanRows(plan.ranges, (row) => read.push(row));
  }
  const rows: SqlValue[][] = [];
  for (const row of read) {
    if (tests.every((t) => t(row))) rows.push(sources.map((s) => toOutputValue(row[s])));
  }
  const info: TablePlan = {
    table: stored,
    alias,
    revision: store.label,
    access: plan.kind,
    condition: plan.detail,
    ranges: plan.ranges.length,
    ...(estimate !== undefined ? { estimatedRows: estimate } : {}),
    rowsRead: handle.rowsRead,
  };
  return { kind: 'rows', sql: st.text.trim(), columns: outNames, rows, plan: [info], nodeReads: nodes.stats.nodeReads - readsBefore };
}

function plainName(n: string): boolean {
  return PLAIN_NAME.test(n) && !(n in Object.prototype);
}

function isNullish(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

/**
 * The comparison alasql compiles for `a op b` (with src/sql/alasql-runtime.ts's patch of `=`): NULL
 * (undefined) when either side is NULL or NaN, else JavaScript's own comparison.
 */
function compareOp(op: '=' | '<' | '<=' | '>' | '>='): (a: unknown, b: unknown) => unknown {
  const any = (x: unknown) => x as never;
  switch (op) {
    case '=':
      return (a, b) => (isNullish(a) || isNullish(b) ? undefined : a === b || (typeof a === 'object' && sameObject(a, b)));
    case '<':
      return (a, b) => (isNullish(a) || isNullish(b) ? undefined : any(a) < any(b));
    case '<=':
      return (a, b) => (isNullish(a) || isNullish(b) ? undefined : any(a) <= any(b));
    case '>':
      return (a, b) => (isNullish(a) || isNullish(b) ? undefined : any(a) > any(b));
    case '>=':
      return (a, b) => (isNullish(a) || isNullish(b) ? undefined : any(a) >= any(b));
  }
}

/** alasql.prollyEq for an object on the left and a literal (never an object) on the right. */
function sameObject(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array || typeof b !== 'object') return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

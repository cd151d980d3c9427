/**
 * alasql, loaded once and corrected where its semantics differ from SQL (checked against SQLite by
 * test/sql/oracle.test.ts). alasql compiles each expression to JavaScript; the patches below change the
 * code it generates for a few operators and replace its ORDER BY comparator, so every query gets:
 *
 * - ORDER BY in SQL order: NULLs first ascending and last descending (alasql sorted `x || ''`, so NULL,
 *   0 and '' compared equal), NULLS FIRST / LAST honoured, text by Unicode code point (alasql: UTF-16),
 *   and mixed types in SQLite's order (NULL < numbers < text < bytes).
 * - Equality joins where NULL matches nothing (alasql's hash join matched NULL = NULL).
 * - Three-valued logic for NOT, AND and OR (alasql: NOT NULL was true).
 * - NULL-propagating `||` (alasql treated NULL as '').
 * - Division and modulo by zero give NULL (alasql: Infinity / NaN); integer / integer truncates when
 *   the query analysis marked both operands as integers (see src/sql/analyze.ts).
 * - SQL MIN / MAX / SUM (alasql's MIN and MAX ignored text; SUM of no rows was 0 instead of NULL):
 *   the analysis rewrites them to the PROLLY_MIN / PROLLY_MAX / PROLLY_SUM aggregates defined here.
 * - Scalar functions that return NULL for a NULL argument instead of throwing.
 *
 * The patches are process-wide (alasql is a singleton), so this module is the only place that imports
 * alasql.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { compareBytes, fromHex } from '../util/bytes.js';
import { loadCommonJs } from './code-cache.js';
import { positionOf, syntaxError, type SourcePosition } from './lexer.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** alasql's untyped internals (the AST classes under `yy`, databases, tables). */
export type Any = any;

/**
 * The alasql module object. Loaded as CommonJS: importing this 1 MB file from ESM makes Node scan it
 * for named exports first, which costs about 100 ms at every CLI start; and through the code cache
 * when the CLI enabled it (src/sql/code-cache.ts), which saves most of its compile time.
 */
export const alasql: Any = loadCommonJs('alasql', import.meta.url).exports;
/** alasql's AST classes (yy.Select, yy.Op, yy.Column…). */
export const yy: Any = alasql.yy;

/**
 * Compares two values in SQLite's order: NULL < numbers < text < bytes < anything else.
 * @example compareSqlOrder(null, 0) // -1; compareSqlOrder(2, 'a') // -1
 */
export function compareSqlOrder(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1: {
      const x = typeof a === 'boolean' ? Number(a) : (a as number | bigint);
      const y = typeof b === 'boolean' ? Number(b) : (b as number | bigint);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 2:
      return compareText(a as string, b as string);
    case 3: {
      const c = compareBytes(a as Uint8Array, b as Uint8Array);
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    default:
      return compareText(JSON.stringify(a) ?? '', JSON.stringify(b) ?? '');
  }
}

function rank(v: unknown): number {
  if (v === null || v === undefined) return 0;
  const t = typeof v;
  if (t === 'number') return Number.isNaN(v) ? 0 : 1;
  if (t === 'bigint' || t === 'boolean') return 1;
  if (t === 'string') return 2;
  if (v instanceof Uint8Array) return 3;
  if (v instanceof Date) return 2;
  return 4;
}

/**
 * Code point order of two strings (UTF-16 order with the surrogate fix-up).
 * @example compareText('\u{10000}', '\uFFFF') // 1
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (U+D800–DFFF, code points above U+FFFF) must sort after U+E000–FFFF.
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : 1;
}

let patched = false;

/**
 * Apply the corrections (idempotent).
 * @example patchAlasql(); // before the first query (createDatabase and parseStatement call it)
 */
export function patchAlasql(): void {
  if (patched) return;
  patched = true;
  alasql.options.cache = false; // statements are parsed and compiled by this module, never by text
  alasql.options.errorlog = false;

  // ORDER BY: keep alasql's bookkeeping (orderColumns, positional checks), replace the comparator.
  const compileOrder = yy.Select.prototype.compileOrder;
  yy.Select.prototype.compileOrder = function (this: Any, query: Any, params: Any) {
    const original = compileOrder.call(this, query, params);
    if (!this.order || typeof this.order[0]?.expression === 'function') return original;
    const keys = this.order.map((o: Any, idx: number) => ({
      key: '$$$' + idx,
      desc: o.direction === 'DESC',
      nulls: o.nullsOrder === 'FIRST' ? -1 : o.nullsOrder === 'LAST' ? 1 : 0,
      nocase: Boolean(o.nocase),
    }));
    return (a: Any, b: Any): number => {
      for (const k of keys) {
        let x = a[k.key];
        let y = b[k.key];
        if (k.nocase) {
          if (typeof x === 'string') x = x.toUpperCase();
          if (typeof y === 'string') y = y.toUpperCase();
        }
        if (k.nulls !== 0) {
          const xn = x === null || x === undefined;
          const yn = y === null || y === undefined;
          if (xn !== yn) return xn ? k.nulls : -k.nulls;
        }
        const c = compareSqlOrder(x, y);
        if (c !== 0) return k.desc ? -c : c;
      }
      return 0;
    };
  };

  // Equality joins: a NULL key on either side matches nothing.
  const compileJoins = yy.Select.prototype.compileJoins;
  const NO_LEFT = Symbol('null join key (left)');
  const NO_RIGHT = Symbol('null join key (right)');
  yy.Select.prototype.compileJoins = function (this: Any, query: Any) {
    compileJoins.call(this, query);
    for (const source of query.sources ?? []) {
      if (source.optimization !== 'ix' || !source.onleftfn || !source.onrightfn || source.prollyNullSafe) continue;
      const left = source.onleftfn;
      const right = source.onrightfn;
      source.onleftfn = (p: Any, params: Any, a: Any) => {
        const v = left(p, params, a);
        return v === null || v === undefined ? NO_LEFT : v;
      };
      source.onrightfn = (p: Any, params: Any, a: Any) => {
        const v = right(p, params, a);
        return v === null || v === undefined ? NO_RIGHT : v;
      };
      source.prollyNullSafe = true;
    }
  };

  // NOT with three-valued logic (IS NOT NULL is compiled through NOT NULL and must stay as it is).
  const uniToJS = yy.UniOp.prototype.toJS;
  yy.UniOp.prototype.toJS = function (this: Any, context: Any, tableid: Any, defcols: Any) {
    if (this.op === 'NOT' && !(this.right instanceof yy.NullValue)) {
      return `((v) => v == null ? void 0 : !v)(${this.right.toJS(context, tableid, defcols)})`;
    }
    return uniToJS.call(this, context, tableid, defcols);
  };

  const opToJS = yy.Op.prototype.toJS;
  yy.Op.prototype.toJS = function (this: Any, context: Any, tableid: Any, defcols: Any) {
    const js = (e: Any) => e.toJS(context, tableid, defcols);
    switch (this.op) {
      case 'AND': {
        if (this.allsome) break;
        if (this.left.reduced && this.right.reduced) return 'true';
        if (this.left.reduced) return js(this.right);
        if (this.right.reduced) return js(this.left);
        return `((a) => (a != null && !a) ? false : ((b) => (b != null && !b) ? false : (a == null || b == null) ? void 0 : true)(${js(this.right)}))(${js(this.left)})`;
      }
      case 'OR': {
        if (this.allsome) break;
        return `((a) => (a != null && a) ? true : ((b) => (b != null && b) ? true : (a == null || b == null) ? void 0 : false)(${js(this.right)}))(${js(this.left)})`;
      }
      case '=':
      case '<>':
      case '!=': {
        if (this.allsome) break;
        // Bytes and JSON values compare by content (alasql compared objects by identity).
        const eq = `(a === b || (typeof a === 'object' && alasql.prollyEq(a, b)))`;
        return `((a, b) => a == null || b == null || a !== a || b !== b ? void 0 : ${this.op === '=' ? eq : `!${eq}`})(${js(this.left)}, ${js(this.right)})`;
      }
      case 'NOT IN': {
        if (!(this.right instanceof yy.Select) || this.allsome) break;
        // SQL: x NOT IN (subquery) is NULL, not true, when x is absent but the subquery returned a NULL.
        const q = `this.queriesfn[${this.queriesidx}]`;
        const fresh = `alasql.prollyListInfo(alasql.utils.flatArray(${q}(params, null, ${context})))`;
        const list = `((${q}.query && ${q}.query.isCorrelated) ? ${fresh} : ((this.prollyNotIn = this.prollyNotIn || {})[${this.queriesidx}] || (this.prollyNotIn[${this.queriesidx}] = ${fresh})))`;
        return `((l, info) => l == null ? void 0 : info.set.has(alasql.utils.getValueOf(l)) ? false : info.hasNull ? void 0 : true)(${js(this.left)}, ${list})`;
      }
      case '||':
        return `((a, b) => a == null || b == null ? void 0 : alasql.prollyText(a) + alasql.prollyText(b))(${js(this.left)}, ${js(this.right)})`;
      case '/':
        return `((a, b) => a == null || b == null || b == 0 ? void 0 : ${this.prollyIntegerDivision ? 'alasql.prollyIdiv(a, b)' : 'a / b'})(${js(this.left)}, ${js(this.right)})`;
      case '%':
        return `((a, b) => a == null || b == null || b == 0 ? void 0 : a % b)(${js(this.left)}, ${js(this.right)})`;
    }
    return opToJS.call(this, context, tableid, defcols);
  };

  alasql.prollyListInfo = (values: Any[]) => ({ set: new Set(values.map((v) => alasql.utils.getValueOf(v))), hasNull: values.some((v) => v === null || v === undefined) });
  alasql.prollyEq = (a: Any, b: Any) => {
    if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && compareBytes(a, b) === 0;
    if (a instanceof Uint8Array || b instanceof Uint8Array || typeof b !== 'object') return false;
    return JSON.stringify(a) === JSON.stringify(b);
  };
  alasql.prollyIdiv = (a: Any, b: Any) => (typeof a === 'bigint' || typeof b === 'bigint' ? BigInt(a) / BigInt(b) : Math.trunc(a / b));
  alasql.prollyText = (v: Any) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'boolean' ? (v ? '1' : '0') : typeof v === 'object' ? JSON.stringify(v) : String(v));

  // Aggregates with SQL semantics; the query analysis renames MIN / MAX / SUM to these.
  alasql.aggr.PROLLY_MIN = extremum(-1);
  alasql.aggr.PROLLY_MAX = extremum(1);
  alasql.aggr.PROLLY_SUM = (v: Any, s: Any, stage: number) => {
    if (stage === 1) return v === null || v === undefined ? undefined : typeof v === 'boolean' ? Number(v) : v;
    if (stage === 2) {
      if (v === null || v === undefined) return s;
      const n = typeof v === 'boolean' ? Number(v) : v;
      if (s === undefined) return n;
      return typeof s === 'bigint' || typeof n === 'bigint' ? BigInt(s) + BigInt(n) : s + n;
    }
    return s;
  };

  // SQLite's semantics for functions alasql gets wrong (the analysis upper-cases these names, since
  // alasql looks user functions up by the name as written).
  for (const [name, f] of Object.entries(SQL_FUNCTIONS)) alasql.fn[name] = f;
  const convert = alasql.stdfn.CONVERT;
  alasql.stdfn.CONVERT = (value: Any, args: Any) => (value === null || value === undefined ? undefined : convert(value, args));

  // x'00ff' literals are rewritten to PROLLY_BYTES('00ff') (alasql reads them as text).
  alasql.fn.PROLLY_BYTES = (hex: string) => fromHex(String(hex).toLowerCase());

  // NULL in, NULL out for the scalar functions that otherwise throw on NULL.
  for (const name of NULL_SAFE_FUNCTIONS) {
    const f = alasql.stdfn[name];
    if (typeof f !== 'function' || f.prollyNullSafe) continue;
    const wrapped = function (this: Any, ...args: Any[]) {
      for (const a of args) if (a === null || a === undefined) return undefined;
      return f.apply(this, args);
    };
    (wrapped as Any).prollyNullSafe = true;
    alasql.stdfn[name] = wrapped;
  }
}

function codePoints(s: string): string[] {
  return Array.from(s);
}

/** SQLite's substr(X, Y[, Z]) on code points (1-based; negative Y counts from the end; negative Z takes the characters before Y). */
function sqlSubstr(x: Any, y: Any, z?: Any): Any {
  if (x === null || x === undefined || y === null || y === undefined || z === null) return undefined;
  const chars = x instanceof Uint8Array ? Array.from(x) : codePoints(String(x));
  const len = chars.length;
  let p1 = Math.trunc(Number(y));
  let p2 = z === undefined ? len + 1 : Math.trunc(Number(z));
  let negative = false;
  if (p2 < 0) {
    p2 = -p2;
    negative = true;
  }
  if (p1 < 0) {
    p1 += len;
    if (p1 < 0) {
      p2 += p1;
      if (p2 < 0) p2 = 0;
      p1 = 0;
    }
  } else if (p1 > 0) p1--;
  else if (p2 > 0) p2--;
  if (negative) {
    p1 -= p2;
    if (p1 < 0) {
      p2 += p1;
      p1 = 0;
    }
  }
  const part = chars.slice(p1, p1 + p2);
  return x instanceof Uint8Array ? Uint8Array.from(part as number[]) : (part as string[]).join('');
}

/** Functions with SQLite's semantics, installed as alasql user functions. */
export const SQL_FUNCTIONS: Record<string, (...args: Any[]) => Any> = {
  // Half away from zero, as SQLite (alasql: Math.round, which rounds -2.5 to -2).
  ROUND: (x: Any, d?: Any) => {
    if (x === null || x === undefined || d === null) return undefined;
    const n = Number(x);
    if (Number.isNaN(n)) return undefined;
    const p = 10 ** Math.max(0, Math.trunc(Number(d ?? 0)));
    return (Math.sign(n) * Math.round(Math.abs(n) * p)) / p;
  },
  // Characters (code points), not UTF-16 units; bytes for blobs.
  LENGTH: (x: Any) => (x === null || x === undefined ? undefined : x instanceof Uint8Array ? x.length : codePoints(typeof x === 'string' ? x : String(x)).length),
  SUBSTR: sqlSubstr,
  SUBSTRING: sqlSubstr,
  INSTR: (x: Any, y: Any) => {
    if (x === null || x === undefined || y === null || y === undefined) return undefined;
    const s = String(x);
    const i = s.indexOf(String(y));
    return i < 0 ? 0 : codePoints(s.slice(0, i)).length + 1;
  },
};

const NULL_SAFE_FUNCTIONS = ['INSTR', 'REPLACE', 'SUBSTR', 'SUBSTRING', 'UPPER', 'LOWER', 'UCASE', 'LCASE', 'LENGTH', 'LEN', 'TRIM', 'LTRIM', 'RTRIM', 'ABS', 'ROUND', 'CEIL', 'CEILING', 'FLOOR', 'SQRT', 'EXP', 'LOG', 'LOG10', 'POWER', 'SIGN', 'LEFT', 'RIGHT', 'MID', 'CHAR', 'ASCII', 'REVERSE'];

function extremum(sign: 1 | -1) {
  return (v: Any, s: Any, stage: number) => {
    if (stage === 1) return v === null || v === undefined ? undefined : v;
    if (stage === 2) {
      if (v === null || v === undefined) return s;
      if (s === undefined) return v;
      return compareSqlOrder(v, s) * sign > 0 ? v : s;
    }
    return s;
  };
}

/** A parse error from alasql's jison parser, with the location it reports. */
class AlasqlParseError extends Error {
  constructor(
    message: string,
    readonly hash: Any,
  ) {
    super(message);
  }
}

let parserHooked = false;

function hookParser(): void {
  if (parserHooked) return;
  parserHooked = true;
  // jison calls yy.parseError when it is set (the instance's parseError is reset on every parse); keep
  // alasql's own recovery for non-reserved keywords and turn real failures into errors with locations.
  const proto = Object.getPrototypeOf(alasql.parser);
  const original = proto.parseError;
  alasql.parser.yy.parseError = function (this: Any, str: string, hash: Any) {
    try {
      return original.call(this, str, hash);
    } catch {
      throw new AlasqlParseError(str, hash);
    }
  };
}

/** Where a statement came from, to turn alasql's positions back into the user's. */
export interface StatementOrigin {
  /** The statement text as the user wrote it. */
  original: string;
  /** Where it starts in the script. */
  start: SourcePosition;
  /** Maps an offset in the text given to alasql to one in `original`. */
  originalOffset(offset: number): number;
}

/**
 * Parse one statement (already rewritten for alasql) into its AST; a syntax error becomes ESQLSYNTAX
 * naming the line, column and token in the user's script.
 * @example const ast = parseStatement('SELECT 1', origin)
 */
export function parseStatement(text: string, origin: StatementOrigin): Any {
  patchAlasql();
  hookParser();
  let parsed: Any;
  try {
    parsed = alasql.parse(text);
  } catch (e) {
    throw toSyntaxError(e, text, origin);
  }
  const statements = parsed.statements as Any[];
  if (statements.length !== 1) {
    throw syntaxError(`expected one statement, found ${statements.length}`, origin.start);
  }
  return statements[0];
}

function toSyntaxError(e: unknown, text: string, origin: StatementOrigin): ProllyError {
  if (e instanceof ProllyError) return e;
  const hash = e instanceof AlasqlParseError ? e.hash : undefined;
  const message = e instanceof Error ? e.message : String(e);
  let offset: number;
  const loc = hash?.loc;
  const atEnd = hash && (hash.token === 'EOF' || hash.token === 1);
  if (atEnd) {
    offset = text.trimEnd().length;
  } else if (loc && typeof loc.last_line === 'number') {
    // jison reports the location of the last token it accepted; the offending token is the next
    // occurrence of its text after that.
    const after = offsetOf(text, loc.last_line, loc.last_column ?? 0);
    const found = typeof hash.text === 'string' && hash.text !== '' ? text.indexOf(hash.text, after) : -1;
    offset = found >= 0 ? found : after + (text.slice(after).length - text.slice(after).trimStart().length);
  } else if (hash && typeof hash.line === 'number') {
    offset = offsetOf(text, hash.line + 1, 0);
  } else {
    offset = 0;
  }
  const inOriginal = origin.originalOffset(offset);
  const local = positionOf(origin.original, inOriginal);
  const at: SourcePosition = {
    offset: origin.start.offset + inOriginal,
    line: origin.start.line + local.line - 1,
    column: local.line === 1 ? origin.start.column + local.column - 1 : local.column,
  };
  const token = atEnd ? '' : hash?.text !== undefined && hash.text !== '' ? String(hash.text) : nearToken(origin.original, inOriginal);
  const expected = Array.isArray(hash?.expected) ? (hash.expected as string[]).map((x) => x.replace(/'/g, '')) : [];
  const why = hash ? (hash.token === 'EOF' || hash.token === 1 ? 'unexpected end of statement' : `unexpected ${token === '' ? 'input' : 'token'}`) : firstLine(message);
  const hint = expected.length > 0 && expected.length <= 8 ? ` (expected ${expected.join(', ')})` : '';
  return syntaxError(why + hint, at, token);
}

function nearToken(text: string, offset: number): string {
  const m = /^\s*(\S+)/.exec(text.slice(offset));
  return m ? m[1]!.slice(0, 30) : '';
}

function firstLine(s: string): string {
  return s.split('\n')[0]!;
}

function offsetOf(text: string, line: number, column: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return text.length;
    at = nl + 1;
  }
  return Math.min(text.length, at + column);
}

let nextDatabase = 0;

/** An alasql database private to one session. */
export interface AlasqlDatabase {
  id: string;
  db: Any;
  /** Replace (or create) an in-memory table with these columns (and hidden, selectable ones) and rows. */
  setTable(name: string, columns: readonly string[], rows: Any[], hidden?: readonly string[]): Any;
  /** Remove every table. */
  clear(): void;
  /** Forget the database. */
  dispose(): void;
}

/**
 * A fresh alasql database.
 * @example const { db, setTable } = createDatabase(); setTable('t', ['a'], [{ a: 1 }]);
 */
export function createDatabase(): AlasqlDatabase {
  patchAlasql();
  const id = `prolly_${process.pid}_${nextDatabase++}`;
  const db = new alasql.Database(id);
  return {
    id,
    db,
    setTable(name: string, columns: readonly string[], rows: Any[], hidden: readonly string[] = []) {
      const table = new alasql.Table({ tableid: name });
      table.columns = columns.map((columnid) => ({ columnid }));
      // Hidden columns (_rowid) can be selected by name but are not part of `*`.
      table.xcolumns = Object.fromEntries([...table.columns, ...hidden.map((columnid) => ({ columnid }))].map((c: Any) => [c.columnid, c]));
      table.data = rows;
      db.tables[name] = table;
      return table;
    },
    clear() {
      db.tables = {};
    },
    dispose() {
      delete alasql.databases[id];
    },
  };
}

/**
 * Run a compiled-on-the-spot statement AST against a database; alasql's own errors (unknown function,
 * bad column reference) become ESQLUNSUPPORTED with alasql's message.
 * @example const rows = executeAst(db, ast, params)
 */
export function executeAst(database: AlasqlDatabase, ast: Any, params: Any): Any {
  try {
    return ast.execute(database.id, params ?? []);
  } catch (e) {
    if (e instanceof ProllyError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof TypeError && /BigInt/.test(message)) {
      throw new ProllyError(ErrorCodes.SQL_VALUE, `arithmetic mixes an integer beyond ±2^53 with other numbers; CAST it or keep such values in separate expressions (${message})`, {});
    }
    throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `query failed in the SQL engine (alasql): ${firstLine(message)}`, { cause: message });
  }
}

const keywordCache = new Map<string, boolean>();

/**
 * True when alasql cannot take `word` as a plain identifier (VALUE, DATE, TOTAL, KEY… are its keywords):
 * such column and table names are quoted before parsing.
 * @example isAlasqlKeyword('value') // true
 */
export function isAlasqlKeyword(word: string): boolean {
  const key = word.toLowerCase();
  let hit = keywordCache.get(key);
  if (hit === undefined) {
    // One token from alasql's lexer: anything but a plain LITERAL is a keyword to it (quoting a
    // non-reserved one does no harm). Much cheaper than parsing a probe statement.
    try {
      const lexer = alasql.parser.lexer;
      lexer.setInput(word, {});
      const token = lexer.lex();
      hit = alasql.parser.terminals_[token] !== 'LITERAL' || lexer.match !== word;
    } catch {
      hit = true;
    }
    keywordCache.set(key, hit);
  }
  return hit;
}

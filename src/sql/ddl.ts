/**
 * The DDL statements, parsed here rather than by alasql (whose grammar lacks negative defaults,
 * `ADD` without `COLUMN`, `IF NOT EXISTS` on indexes…):
 *
 *   CREATE TABLE [IF NOT EXISTS] t (col type [PRIMARY KEY] [NOT NULL] [UNIQUE] [DEFAULT v], …,
 *                                   [PRIMARY KEY (a, b)], [UNIQUE (c)])
 *   DROP TABLE [IF EXISTS] t [, u …]
 *   ALTER TABLE t ADD [COLUMN] col type … | DROP [COLUMN] col | RENAME [COLUMN] a TO b | RENAME TO u
 *   CREATE [UNIQUE] INDEX [IF NOT EXISTS] ix ON t (a [ASC|DESC], …)
 *   DROP INDEX [IF EXISTS] ix [ON t]
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { fromHex } from '../util/bytes.js';
import { isTrivia, splitStatements, syntaxError, unquoteIdentifier, unquoteString, type StatementText, type Token } from './lexer.js';
import { addIndex, defineTable, type ColumnDefinition } from './schema.js';
import type { ColumnType } from './types.js';
import { isAlasqlKeyword } from './alasql-runtime.js';

/** A column as declared, with its constraints. */
export interface ColumnDeclaration extends ColumnDefinition {
  primaryKey?: boolean;
  unique?: boolean;
}

/** A parsed DDL statement. */
export type DdlCommand =
  | { kind: 'create-table'; table: string; ifNotExists: boolean; columns: ColumnDeclaration[]; primaryKey: string[]; unique: string[][] }
  | { kind: 'drop-table'; tables: string[]; ifExists: boolean }
  | { kind: 'add-column'; table: string; column: ColumnDeclaration }
  | { kind: 'drop-column'; table: string; column: string }
  | { kind: 'rename-column'; table: string; from: string; to: string }
  | { kind: 'rename-table'; table: string; to: string }
  | { kind: 'create-index'; index: string; table: string; columns: string[]; unique: boolean; ifNotExists: boolean }
  | { kind: 'drop-index'; index: string; table?: string; ifExists: boolean };

/** SQL type names and the column type each maps to. */
const TYPE_NAMES: Record<string, ColumnType> = {
  INTEGER: 'integer', INT: 'integer', BIGINT: 'integer', SMALLINT: 'integer', TINYINT: 'integer', MEDIUMINT: 'integer', INT2: 'integer', INT4: 'integer', INT8: 'integer',
  REAL: 'real', FLOAT: 'real', DOUBLE: 'real', NUMERIC: 'real', DECIMAL: 'real', NUMBER: 'real', FLOAT4: 'real', FLOAT8: 'real',
  TEXT: 'text', VARCHAR: 'text', CHAR: 'text', STRING: 'text', CLOB: 'text', NVARCHAR: 'text', NCHAR: 'text', CHARACTER: 'text',
  BOOLEAN: 'boolean', BOOL: 'boolean',
  BLOB: 'bytes', BYTES: 'bytes', BYTEA: 'bytes', BINARY: 'bytes', VARBINARY: 'bytes',
  JSON: 'json', JSONB: 'json',
  DATE: 'date',
  DATETIME: 'datetime', TIMESTAMP: 'datetime', TIMESTAMPTZ: 'datetime',
};

/**
 * Names that the engine reserves for itself.
 * @example checkUserTableName('prolly_x', token) // throws
 */
export function checkUserTableName(name: string, at: Token): void {
  if (/^(__prolly|prolly_)/i.test(name)) throw syntaxError(`table names starting with "prolly_" or "__prolly" are reserved for system tables`, at, name);
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  constructor(statement: StatementText) {
    this.tokens = statement.tokens.filter((t) => !isTrivia(t));
  }
  peek(k = 0): Token | undefined {
    return this.tokens[this.pos + k];
  }
  isWord(w: string, k = 0): boolean {
    const t = this.peek(k);
    return t?.kind === 'word' && t.text.toUpperCase() === w;
  }
  accept(w: string): boolean {
    if (this.isWord(w)) {
      this.pos++;
      return true;
    }
    return false;
  }
  acceptPunct(p: string): boolean {
    if (this.peek()?.kind === 'punct' && this.peek()!.text === p) {
      this.pos++;
      return true;
    }
    return false;
  }
  fail(message: string): never {
    const t = this.peek() ?? this.tokens[this.tokens.length - 1]!;
    throw syntaxError(this.peek() ? message : `${message} (the statement ended)`, t, this.peek()?.text ?? '');
  }
  expect(w: string): void {
    if (!this.accept(w)) this.fail(`expected ${w}`);
  }
  expectPunct(p: string): void {
    if (!this.acceptPunct(p)) this.fail(`expected "${p}"`);
  }
  name(what: string): string {
    const t = this.peek();
    if (t?.kind === 'word') {
      this.pos++;
      return t.text;
    }
    if (t?.kind === 'quoted') {
      this.pos++;
      return unquoteIdentifier(t.text);
    }
    return this.fail(`expected a ${what} name`);
  }
  nameList(what: string): string[] {
    this.expectPunct('(');
    const out: string[] = [];
    do {
      out.push(this.name(what));
      this.accept('ASC') || this.accept('DESC');
    } while (this.acceptPunct(','));
    this.expectPunct(')');
    return out;
  }
  end(): void {
    if (this.peek()) this.fail('unexpected text after the end of the statement');
  }
  last(): Token {
    return this.tokens[Math.max(0, this.pos - 1)]!;
  }
  /** A literal default value. */
  literal(): unknown {
    if (this.acceptPunct('(')) {
      const v = this.literal();
      this.expectPunct(')');
      return v;
    }
    let sign = 1;
    if (this.acceptPunct('-')) sign = -1;
    else this.acceptPunct('+');
    const t = this.peek();
    if (!t) return this.fail('expected a default value');
    if (t.kind === 'number') {
      this.pos++;
      if (/^0x/i.test(t.text)) return sign * Number.parseInt(t.text.slice(2), 16);
      if (/^\d+$/.test(t.text)) {
        const b = BigInt(t.text) * BigInt(sign);
        return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
      }
      return sign * Number(t.text);
    }
    if (sign === -1) return this.fail('expected a number after "-"');
    if (t.kind === 'string') {
      this.pos++;
      if (/^x'/i.test(t.text)) return fromHex(t.text.slice(2, -1).toLowerCase());
      return unquoteString(t.text);
    }
    if (t.kind === 'word') {
      const w = t.text.toUpperCase();
      if (w === 'NULL' || w === 'TRUE' || w === 'FALSE') {
        this.pos++;
        return w === 'NULL' ? null : w === 'TRUE';
      }
      if (w.startsWith('CURRENT_')) {
        throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `DEFAULT ${t.text} is not supported: defaults are constants (give the value in the INSERT)`, { line: t.line, column: t.column });
      }
    }
    return this.fail('expected a constant default value (a number, text, TRUE, FALSE or NULL)');
  }
  type(column: string): ColumnType {
    const t = this.peek();
    if (!t || t.kind !== 'word' || CONSTRAINT_WORDS.has(t.text.toUpperCase())) {
      return this.fail(`column ${JSON.stringify(column)} needs a type: one of INTEGER, REAL, TEXT, BOOLEAN, BLOB, JSON, DATE, DATETIME`);
    }
    const name = t.text.toUpperCase();
    const type = TYPE_NAMES[name];
    if (!type) this.fail(`unknown type ${t.text} for column ${JSON.stringify(column)}: use INTEGER, REAL, TEXT, BOOLEAN, BLOB, JSON, DATE or DATETIME`);
    this.pos++;
    if ((name === 'DOUBLE' && this.accept('PRECISION')) || (name === 'CHARACTER' && this.accept('VARYING'))) {
      /* two-word type names */
    }
    if (this.acceptPunct('(')) {
      // VARCHAR(20), DECIMAL(10, 2): sizes are accepted and ignored
      while (this.peek() && !this.acceptPunct(')')) this.pos++;
    }
    return type!;
  }
  column(): ColumnDeclaration {
    const name = this.name('column');
    const col: ColumnDeclaration = { name, type: this.type(name) };
    for (;;) {
      if (this.accept('CONSTRAINT')) this.name('constraint');
      if (this.accept('PRIMARY')) {
        this.expect('KEY');
        this.accept('ASC') || this.accept('DESC');
        this.accept('AUTOINCREMENT');
        col.primaryKey = true;
      } else if (this.accept('NOT')) {
        this.expect('NULL');
        col.notNull = true;
      } else if (this.accept('NULL')) {
        /* nullable: the default */
      } else if (this.accept('UNIQUE')) {
        col.unique = true;
      } else if (this.accept('DEFAULT')) {
        col.default = this.literal();
      } else if (this.isWord('CHECK') || this.isWord('REFERENCES') || this.isWord('COLLATE') || this.isWord('GENERATED') || this.isWord('AS')) {
        throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `${this.peek()!.text.toUpperCase()} constraints are not supported (column ${JSON.stringify(name)}, line ${this.peek()!.line}, column ${this.peek()!.column})`, {
          column: name,
          line: this.peek()!.line,
        });
      } else break;
    }
    return col;
  }
}

const CONSTRAINT_WORDS = new Set(['PRIMARY', 'NOT', 'NULL', 'UNIQUE', 'DEFAULT', 'CHECK', 'REFERENCES', 'CONSTRAINT', 'COLLATE']);

/**
 * Parse a CREATE / DROP / ALTER statement; undefined for any other statement.
 * @example parseDdl(splitStatements('DROP TABLE t')[0]) // { kind: 'drop-table', tables: ['t'], ifExists: false }
 */
export function parseDdl(statement: StatementText): DdlCommand | undefined {
  const p = new Parser(statement);
  if (p.accept('CREATE')) {
    const unique = p.accept('UNIQUE');
    if (p.accept('INDEX')) {
      const ifNotExists = p.accept('IF') ? (p.expect('NOT'), p.expect('EXISTS'), true) : false;
      const index = p.name('index');
      p.expect('ON');
      const table = p.name('table');
      const columns = p.nameList('column');
      p.end();
      return { kind: 'create-index', index, table, columns, unique, ifNotExists };
    }
    if (unique) p.fail('expected INDEX after CREATE UNIQUE');
    p.accept('TEMP') || p.accept('TEMPORARY');
    if (!p.accept('TABLE')) return undefined;
    const ifNotExists = p.accept('IF') ? (p.expect('NOT'), p.expect('EXISTS'), true) : false;
    const table = p.name('table');
    checkUserTableName(table, p.last());
    if (p.isWord('AS')) throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, 'CREATE TABLE … AS SELECT is not supported: CREATE TABLE with typed columns, then INSERT … SELECT', {});
    p.expectPunct('(');
    const columns: ColumnDeclaration[] = [];
    let primaryKey: string[] = [];
    const uniques: string[][] = [];
    do {
      if (p.accept('CONSTRAINT')) p.name('constraint');
      if (p.accept('PRIMARY')) {
        p.expect('KEY');
        if (primaryKey.length > 0 || columns.some((c) => c.primaryKey)) p.fail('a table has one PRIMARY KEY');
        primaryKey = p.nameList('column');
      } else if (p.accept('UNIQUE')) {
        uniques.push(p.nameList('column'));
      } else if (p.isWord('CHECK') || p.isWord('FOREIGN')) {
        throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `${p.peek()!.text.toUpperCase()} table constraints are not supported (line ${p.peek()!.line})`, {});
      } else {
        const col = p.column();
        if (col.primaryKey) {
          if (primaryKey.length > 0) p.fail('a table has one PRIMARY KEY');
          primaryKey = [col.name];
        }
        if (col.unique) uniques.push([col.name]);
        columns.push(col);
      }
    } while (p.acceptPunct(','));
    p.expectPunct(')');
    while (p.accept('WITHOUT') || p.accept('STRICT')) p.accept('ROWID');
    p.end();
    return { kind: 'create-table', table, ifNotExists, columns, primaryKey, unique: uniques };
  }
  if (p.accept('DROP')) {
    if (p.accept('TABLE')) {
      const ifExists = p.accept('IF') ? (p.expect('EXISTS'), true) : false;
      const tables = [p.name('table')];
      while (p.acceptPunct(',')) tables.push(p.name('table'));
      p.end();
      return { kind: 'drop-table', tables, ifExists };
    }
    if (p.accept('INDEX')) {
      const ifExists = p.accept('IF') ? (p.expect('EXISTS'), true) : false;
      const index = p.name('index');
      const table = p.accept('ON') ? p.name('table') : undefined;
      p.end();
      return { kind: 'drop-index', index, table, ifExists };
    }
    return undefined;
  }
  if (p.accept('ALTER')) {
    p.expect('TABLE');
    const table = p.name('table');
    if (p.accept('ADD')) {
      p.accept('COLUMN');
      const column = p.column();
      if (column.primaryKey) p.fail('cannot add a PRIMARY KEY column');
      p.end();
      return { kind: 'add-column', table, column };
    }
    if (p.accept('DROP')) {
      p.accept('COLUMN');
      const column = p.name('column');
      p.end();
      return { kind: 'drop-column', table, column };
    }
    if (p.accept('RENAME')) {
      if (p.accept('TO')) {
        const to = p.name('table');
        checkUserTableName(to, p.last());
        p.end();
        return { kind: 'rename-table', table, to };
      }
      p.accept('COLUMN');
      const from = p.name('column');
      p.expect('TO');
      const to = p.name('column');
      p.end();
      return { kind: 'rename-column', table, from, to };
    }
    p.fail('expected ADD, DROP or RENAME');
  }
  return undefined;
}

/**
 * An identifier as SQL text, quoted when it is not a plain word.
 * @example quoteIdentifier('when') // '"when"'
 */
export function quoteIdentifier(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !RESERVED.has(name.toUpperCase()) && !isAlasqlKeyword(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** SQL keywords (SQLite's reserved words that matter here), quoted when used as names. */
const RESERVED = new Set(
  ('ADD ALL ALTER AND AS ASC BEGIN BETWEEN BY CASE CAST CHECK COLLATE COLUMN COMMIT CONSTRAINT CREATE CROSS CURRENT_DATE CURRENT_TIME ' +
    'CURRENT_TIMESTAMP DEFAULT DELETE DESC DISTINCT DROP ELSE END ESCAPE EXCEPT EXISTS EXPLAIN FALSE FOREIGN FROM FULL GROUP HAVING IF IN ' +
    'INDEX INNER INSERT INTERSECT INTO IS JOIN KEY LEFT LIKE LIMIT NATURAL NOT NULL NULLS OF OFFSET ON OR ORDER OUTER PRIMARY REFERENCES ' +
    'RENAME REPLACE RIGHT ROLLBACK SELECT SET TABLE THEN TO TRANSACTION TRUE UNION UNIQUE UPDATE USING VALUES WHEN WHERE WITH').split(' '),
);

const TYPE_SQL: Record<ColumnType, string> = { integer: 'INTEGER', real: 'REAL', text: 'TEXT', boolean: 'BOOLEAN', bytes: 'BLOB', json: 'JSON', date: 'DATE', datetime: 'DATETIME' };

function literalSql(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
  if (typeof v === 'object') return `'${JSON.stringify(v).replace(/'/g, "''")}'`;
  return String(v);
}

/**
 * The CREATE TABLE (and CREATE INDEX) statements that make a table with this schema.
 * @example schemaToSql(schema) // 'CREATE TABLE t (\n  id INTEGER NOT NULL,\n  …\n  PRIMARY KEY (id)\n);'
 */
export function schemaToSql(schema: import('./schema.js').TableSchema): string {
  const lines = schema.columns.map((c) => `  ${quoteIdentifier(c.name)} ${TYPE_SQL[c.type]}${c.notNull ? ' NOT NULL' : ''}${c.default !== null ? ` DEFAULT ${literalSql(c.default)}` : ''}`);
  if (schema.primaryKey.length > 0) {
    lines.push(`  PRIMARY KEY (${schema.primaryKey.map((id) => quoteIdentifier(schema.columns.find((c) => c.id === id)!.name)).join(', ')})`);
  }
  let out = `CREATE TABLE ${quoteIdentifier(schema.name)} (\n${lines.join(',\n')}\n);`;
  for (const ix of schema.indexes ?? []) {
    const cols = ix.columns.map((id) => quoteIdentifier(schema.columns.find((c) => c.id === id)!.name)).join(', ');
    out += `\nCREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdentifier(ix.name)} ON ${quoteIdentifier(schema.name)} (${cols});`;
  }
  return out;
}

/** A literal-only INSERT … VALUES, parsed without alasql (whose parser is slow on large VALUES lists). */
export interface LiteralInsert {
  table: string;
  columns?: string[];
  rows: unknown[][];
  orReplace: boolean;
}

/**
 * Parse `INSERT [OR REPLACE] INTO t [(a, b)] VALUES (…), (…)` when every value is a literal (number,
 * text, x'…', TRUE, FALSE, NULL, or a parameter); undefined for anything else (alasql parses that).
 * NULL is `null` here (explicitly NULL, unlike an omitted column). Scans the text directly: a
 * 10,000-row INSERT is megabytes of SQL, and tokens would be most of the work.
 * @example parseLiteralInsert(splitStatements("INSERT INTO t VALUES (1, 'a')")[0], [])?.rows // [[1, 'a']]
 */
export function parseLiteralInsert(statement: StatementText, params: unknown): LiteralInsert | undefined {
  const sql = statement.text;
  const n = sql.length;
  let i = 0;
  const skip = () => {
    for (;;) {
      while (i < n) {
        const c = sql.charCodeAt(i);
        if (c === 32 || c === 10 || c === 9 || c === 13) i++;
        else break;
      }
      if (sql.charCodeAt(i) === 45 && sql.charCodeAt(i + 1) === 45) {
        const j = sql.indexOf('\n', i);
        i = j < 0 ? n : j;
        continue;
      }
      if (sql.charCodeAt(i) === 47 && sql.charCodeAt(i + 1) === 42) {
        const j = sql.indexOf('*/', i + 2);
        if (j < 0) return;
        i = j + 2;
        continue;
      }
      return;
    }
  };
  const isWordChar = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || (c >= 48 && c <= 57) || c === 36 || c >= 0x80;
  const word = (w: string): boolean => {
    skip();
    if (sql.length - i < w.length || sql.slice(i, i + w.length).toUpperCase() !== w || isWordChar(sql.charCodeAt(i + w.length))) return false;
    i += w.length;
    return true;
  };
  const punct = (p: number): boolean => {
    skip();
    if (sql.charCodeAt(i) !== p) return false;
    i++;
    return true;
  };
  const quoted = (q: number): string | undefined => {
    // i is at the opening quote; a doubled quote is the quote itself
    let out = '';
    let j = i + 1;
    for (;;) {
      const k = sql.indexOf(String.fromCharCode(q), j);
      if (k < 0) return undefined;
      out += sql.slice(j, k);
      if (sql.charCodeAt(k + 1) === q) {
        out += String.fromCharCode(q);
        j = k + 2;
        continue;
      }
      i = k + 1;
      return out;
    }
  };
  const name = (): string | undefined => {
    skip();
    const c = sql.charCodeAt(i);
    if (c === 34 || c === 96) return quoted(c);
    if (c === 91) {
      const k = sql.indexOf(']', i);
      if (k < 0) return undefined;
      const v = sql.slice(i + 1, k);
      i = k + 1;
      return v;
    }
    const j = i;
    while (i < n && isWordChar(sql.charCodeAt(i))) i++;
    return i > j && !(sql.charCodeAt(j) >= 48 && sql.charCodeAt(j) <= 57) ? sql.slice(j, i) : undefined;
  };
  let orReplace = false;
  if (word('REPLACE')) orReplace = true;
  else {
    if (!word('INSERT')) return undefined;
    if (word('OR')) {
      if (!word('REPLACE')) return undefined;
      orReplace = true;
    }
  }
  if (!word('INTO')) return undefined;
  const table = name();
  if (table === undefined || table.includes('@')) return undefined;
  let columns: string[] | undefined;
  if (punct(40)) {
    columns = [];
    do {
      const c = name();
      if (c === undefined) return undefined;
      columns.push(c);
    } while (punct(44));
    if (!punct(41)) return undefined;
  }
  if (!word('VALUES')) return undefined;
  let positional = 0;
  const NONE = Symbol('not a literal');
  const number = (sign: number): unknown => {
    const m = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(sql.slice(i, i + 64));
    if (!m) return NONE;
    const text = m[0];
    i += text.length;
    if (isWordChar(sql.charCodeAt(i))) return NONE;
    if (/^0x/i.test(text)) return sign * Number.parseInt(text.slice(2), 16);
    if (/^\d+$/.test(text)) {
      const v = Number(text);
      if (Number.isSafeInteger(v)) return sign * v === 0 ? 0 : sign * v;
      return BigInt(text) * BigInt(sign);
    }
    return sign * Number(text);
  };
  const literal = (): unknown => {
    skip();
    const c = sql.charCodeAt(i);
    if (c === 45 || c === 43) {
      i++;
      skip();
      return number(c === 45 ? -1 : 1);
    }
    if ((c >= 48 && c <= 57) || c === 46) return number(1);
    if (c === 39) return quoted(39) ?? NONE;
    if ((c === 120 || c === 88) && sql.charCodeAt(i + 1) === 39) {
      i++;
      const hex = quoted(39);
      return hex !== undefined && /^([0-9a-fA-F]{2})*$/.test(hex) ? fromHex(hex.toLowerCase()) : NONE;
    }
    if (c === 63) {
      i++;
      const p = params as unknown[] | undefined;
      return p?.[positional++] ?? null;
    }
    if ((c === 36 || c === 58) && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const j = ++i;
      while (i < n && isWordChar(sql.charCodeAt(i))) i++;
      return (params as Record<string, unknown> | undefined)?.[sql.slice(j, i)] ?? null;
    }
    if (word('NULL')) return null;
    if (word('TRUE')) return true;
    if (word('FALSE')) return false;
    return NONE;
  };
  const rows: unknown[][] = [];
  do {
    if (!punct(40)) return undefined;
    const row: unknown[] = [];
    do {
      const v = literal();
      if (v === NONE) return undefined;
      row.push(v);
    } while (punct(44));
    if (!punct(41)) return undefined;
    rows.push(row);
  } while (punct(44));
  skip();
  if (i !== n) return undefined;
  return { table, columns, rows, orReplace };
}

/**
 * The schema a CREATE TABLE statement declares (UNIQUE constraints become UNIQUE indexes named
 * `<table>_<columns>_key`). `name` overrides the statement's table name.
 * @example schemaFromCreateTable('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)').primaryKey // [0]
 */
export function schemaFromCreateTable(sql: string, name?: string): import('./schema.js').TableSchema {
  const statements = splitStatements(sql);
  const ddl = statements.length === 1 ? parseDdl(statements[0]!) : undefined;
  if (!ddl || ddl.kind !== 'create-table') throw new ProllyError(ErrorCodes.SQL_SYNTAX, 'expected one CREATE TABLE statement', {});
  return schemaOf(ddl, name ?? ddl.table);
}

/** The schema of a parsed CREATE TABLE. */
export function schemaOf(ddl: DdlCommand & { kind: 'create-table' }, name: string): import('./schema.js').TableSchema {
  let schema = defineTable({ name, columns: ddl.columns, primaryKey: ddl.primaryKey });
  for (const cols of ddl.unique) schema = addIndex(schema, { name: `${name}_${cols.join('_')}_key`, columns: cols, unique: true });
  return schema;
}

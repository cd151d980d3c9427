/** The SQL lexer: tokens, statement splitting, rewrites for alasql and position mapping. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isCompleteInput, rewriteStatement, splitStatements, tokenize } from '../../src/sql/lexer.js';
import { formatCsv, formatTable } from '../../src/sql/format.js';
import { parseDdl, parseLiteralInsert, schemaToSql } from '../../src/sql/ddl.js';
import { defineTable } from '../../src/sql/schema.js';

describe('lexer', () => {
  test('tokens concatenate back to the input', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('SELECT', ' ', '\n', "'it''s'", '"q id"', '`b`', '[x]', '-- c\n', '/* c */', '12.5e3', '0x1F', 'a_b', '<=', '?', '$p', ';', '(', ','), { maxLength: 30 }), (parts) => {
        const sql = parts.join('');
        try {
          expect(tokenize(sql).map((t) => t.text).join('')).toBe(sql);
        } catch (e) {
          // Adjacent pieces can form an unterminated comment / quote; those must be syntax errors.
          expect((e as { code?: string }).code).toBe('ESQLSYNTAX');
        }
      }),
    );
  });

  test('positions are 1-based lines and columns', () => {
    const t = tokenize("SELECT 'a\nb',\n  x").filter((x) => x.kind !== 'space');
    expect(t.map((x) => [x.text, x.line, x.column])).toEqual([
      ['SELECT', 1, 1],
      ["'a\nb'", 1, 8],
      [',', 2, 3],
      ['x', 3, 3],
    ]);
  });

  test('statements split at top-level semicolons only', () => {
    const st = splitStatements("SELECT ';' AS a; -- x; y\n/* ; */ SELECT 2;;  ");
    expect(st.map((s) => s.text.trim())).toEqual(["SELECT ';' AS a", '-- x; y\n/* ; */ SELECT 2']);
    expect(st.map((s) => s.keyword)).toEqual(['SELECT', 'SELECT']);
    expect(st[1]!.start).toMatchObject({ line: 1, column: 17 });
  });

  test('complete input ends with a semicolon outside strings and comments', () => {
    expect(isCompleteInput('SELECT 1')).toBe(false);
    expect(isCompleteInput('SELECT 1;')).toBe(true);
    expect(isCompleteInput("SELECT ';")).toBe(false);
    expect(isCompleteInput('SELECT 1; -- done')).toBe(true);
  });

  test('rewrites: double-quoted identifiers, AS OF, quoted aliases, and mapping back', () => {
    const tokens = splitStatements(`SELECT "my col" AS total FROM orders AS OF 'HEAD~1' o WHERE CAST(x AS INTEGER) = 1 ORDER BY a NULLS LAST`)[0]!.tokens;
    const r = rewriteStatement(tokens);
    expect(r.text).toBe("SELECT `my col` AS `total` FROM `orders@HEAD~1` AS `o` WHERE CAST(x AS INTEGER) = 1 ORDER BY a ASC NULLS LAST");
    const at = r.text.indexOf('WHERE');
    expect(r.originalOffset(at)).toBe(tokens.map((t) => t.text).join('').indexOf('WHERE'));
    expect(rewriteStatement(splitStatements('SELECT value FROM t')[0]!.tokens, { quoteWord: (w) => w === 'value' }).text).toBe('SELECT `value` FROM t');
  });
});

describe('DDL and literal INSERT parsing', () => {
  test('CREATE TABLE with constraints, and the schema printed back', () => {
    const cmd = parseDdl(splitStatements("CREATE TABLE IF NOT EXISTS t (id INT NOT NULL, n REAL DEFAULT -1.5, s VARCHAR(20) UNIQUE, PRIMARY KEY (id))")[0]!);
    expect(cmd).toEqual({
      kind: 'create-table',
      table: 't',
      ifNotExists: true,
      columns: [
        { name: 'id', type: 'integer', notNull: true },
        { name: 'n', type: 'real', default: -1.5 },
        { name: 's', type: 'text', unique: true },
      ],
      primaryKey: ['id'],
      unique: [['s']],
    });
    const schema = defineTable({ name: 't', columns: [{ name: 'id', type: 'integer' }, { name: 'when', type: 'date', default: '2024-01-01' }], primaryKey: ['id'] });
    expect(schemaToSql(schema)).toBe("CREATE TABLE t (\n  id INTEGER NOT NULL,\n  \"when\" DATE DEFAULT '2024-01-01',\n  PRIMARY KEY (id)\n);");
    expect(() => parseDdl(splitStatements('CREATE TABLE t (id INTEGER CHECK (id > 0))')[0]!)).toThrow(/CHECK constraints are not supported/);
    expect(() => parseDdl(splitStatements('CREATE TABLE prolly_x (id INTEGER)')[0]!)).toThrow(/reserved/);
    expect(parseDdl(splitStatements('ALTER TABLE t ADD v TEXT')[0]!)).toEqual({ kind: 'add-column', table: 't', column: { name: 'v', type: 'text' } });
  });

  test('literal INSERTs are parsed directly; anything else is left to alasql', () => {
    const ins = parseLiteralInsert(splitStatements("INSERT INTO t (a, b) VALUES (1, 'x'), (-2.5, NULL), (?, x'00ff'), (9007199254740993, TRUE)")[0]!, [7]);
    expect(ins).toEqual({ table: 't', columns: ['a', 'b'], rows: [[1, 'x'], [-2.5, null], [7, new Uint8Array([0, 255])], [9007199254740993n, true]], orReplace: false });
    expect(parseLiteralInsert(splitStatements('INSERT INTO t VALUES (1 + 1)')[0]!, [])).toBeUndefined();
    expect(parseLiteralInsert(splitStatements('INSERT INTO t SELECT * FROM u')[0]!, [])).toBeUndefined();
    expect(parseLiteralInsert(splitStatements("REPLACE INTO t VALUES (1, 'x')")[0]!, [])?.orReplace).toBe(true);
  });
});

describe('output formats', () => {
  test('tables align, right-align numbers and show NULL; CSV tells NULL from the empty string', () => {
    expect(formatTable(['n', 'name'], [[1, 'Ada'], [1000, null], [null, '']])).toBe('   n | name\n-----+-----\n   1 | Ada\n1000 | NULL\nNULL |\n(3 rows)'.replace('   n | name', 'n    | name'));
    expect(formatCsv(['a', 'b'], [[null, ''], ['x,y', 'q"']])).toBe('a,b\r\n,""\r\n"x,y","q"""');
  });
});

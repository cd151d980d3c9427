/**
 * A small SQL lexer: enough to split a script into statements, find each statement's leading keyword,
 * rewrite the few bits of syntax alasql does not parse (standard "double-quoted" identifiers and the
 * `table AS OF 'rev'` time-travel clause) and map alasql's error positions back to the user's text.
 * It never interprets SQL beyond that: alasql parses the statements.
 */
import { ErrorCodes, ProllyError } from '../errors.js';

/** Token kinds. `quoted` is a quoted identifier ("x", `x` or [x]). */
export type TokenKind = 'word' | 'number' | 'string' | 'quoted' | 'param' | 'punct' | 'comment' | 'space';

/** One token: its kind, text and where it starts in the source (0-based offset, 1-based line / column). */
export interface Token {
  kind: TokenKind;
  text: string;
  offset: number;
  line: number;
  column: number;
}

/** A position in a source text (1-based line and column). */
export interface SourcePosition {
  offset: number;
  line: number;
  column: number;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Split SQL text into tokens (whitespace and comments included, so the tokens concatenate back to the
 * text). An unterminated string, quoted identifier or block comment is an ESQLSYNTAX error naming the
 * line and column where it starts.
 * @example tokenize("SELECT 'a'").map((t) => t.kind) // ['word', 'space', 'string']
 */
export function tokenize(sql: string, origin?: SourcePosition): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  // With an origin, positions are those of a statement inside a larger script.
  const base = origin?.offset ?? 0;
  const firstColumn = origin ? origin.column - 1 : 0;
  const firstLine = origin ? origin.line - 1 : 0;
  // Character classes by code (a hot loop: large INSERT scripts are megabytes of SQL).
  const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
  const isDigit = (c: number) => c >= 48 && c <= 57;
  const isWordStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || (c >= 0x80 && c <= 0xffff);
  const isWordPart = (c: number) => isWordStart(c) || isDigit(c) || c === 36;
  const push = (kind: TokenKind, end: number, multiline: boolean) => {
    out.push({ kind, text: sql.slice(i, end), offset: base + i, line: line + firstLine, column: i - lineStart + 1 + (line === 1 ? firstColumn : 0) });
    if (multiline) {
      for (let k = i; k < end; k++) {
        if (sql.charCodeAt(k) === 10) {
          line++;
          lineStart = k + 1;
        }
      }
    }
    i = end;
  };
  const unterminated = (what: string): never => {
    throw syntaxError(`unterminated ${what}`, { offset: base + i, line: line + firstLine, column: i - lineStart + 1 + (line === 1 ? firstColumn : 0) }, sql.slice(i, i + 20));
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    const c1 = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (isSpace(c)) {
      let j = i + 1;
      while (j < n && isSpace(sql.charCodeAt(j))) j++;
      push('space', j, true);
    } else if (c === 45 && c1 === 45) {
      let j = sql.indexOf('\n', i);
      if (j < 0) j = n;
      push('comment', j, false);
    } else if (c === 47 && c1 === 42) {
      const j = sql.indexOf('*/', i + 2);
      if (j < 0) unterminated('comment (/* without */)');
      push('comment', j + 2, true);
    } else if (c === 39 || c === 34 || c === 96) {
      const q = sql[i]!;
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(q, j);
        if (k < 0) unterminated(c === 39 ? 'string' : 'quoted identifier');
        if (sql.charCodeAt(k + 1) === c) {
          j = k + 2; // doubled quote = the quote character itself
          continue;
        }
        j = k + 1;
        break;
      }
      push(c === 39 ? 'string' : 'quoted', j, true);
    } else if (c === 91) {
      const k = sql.indexOf(']', i + 1);
      if (k < 0) unterminated('quoted identifier ([ without ])');
      push('quoted', k + 1, true);
    } else if ((c === 120 || c === 88) && c1 === 39) {
      const k = sql.indexOf("'", i + 2);
      if (k < 0) unterminated('blob literal');
      push('string', k + 1, false);
    } else if (isDigit(c) || (c === 46 && isDigit(c1))) {
      let j = i;
      if (c === 48 && (c1 === 120 || c1 === 88)) {
        j += 2;
        while (j < n && /[0-9a-fA-F]/.test(sql[j]!)) j++;
      } else {
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        if (sql.charCodeAt(j) === 46) {
          j++;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
        const e = sql.charCodeAt(j);
        if (e === 101 || e === 69) {
          let k = j + 1;
          const sign = sql.charCodeAt(k);
          if (sign === 43 || sign === 45) k++;
          if (isDigit(sql.charCodeAt(k))) {
            while (k < n && isDigit(sql.charCodeAt(k))) k++;
            j = k;
          }
        }
      }
      push('number', j, false);
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(sql.charCodeAt(j))) j++;
      push('word', j, false);
    } else if (c === 63 || ((c === 36 || c === 58 || c === 64) && isWordStart(c1))) {
      let j = i + 1;
      while (j < n && isWordPart(sql.charCodeAt(j))) j++;
      push('param', j, false);
    } else {
      const two = sql.slice(i, i + 2);
      push('punct', i + (two === '<=' || two === '>=' || two === '<>' || two === '!=' || two === '==' || two === '||' || two === '->' ? 2 : 1), false);
    }
  }
  return out;
}

/**
 * True for tokens that carry no meaning (whitespace, comments).
 * @example tokenize(' x').filter((t) => !isTrivia(t)) // [the x token]
 */
export function isTrivia(t: Token): boolean {
  return t.kind === 'space' || t.kind === 'comment';
}

/** One statement of a script: its text (without the `;`), where it starts, and its tokens. */
export interface StatementText {
  text: string;
  /** Position of the statement's first character in the script. */
  start: SourcePosition;
  /** Tokens of the statement, with positions in the script (tokenized on first use). */
  readonly tokens: Token[];
  /** Upper-cased first word (SELECT, INSERT, BEGIN…), '' when the statement starts otherwise. */
  keyword: string;
}

/**
 * Split a script into statements at top-level semicolons (not inside strings, identifiers or comments).
 * Empty statements (only whitespace / comments) are dropped. Tokenizing is left to each statement's
 * `tokens` (a large literal INSERT is parsed without them).
 * @example splitStatements('SELECT 1; SELECT 2').map((s) => s.text) // ['SELECT 1', ' SELECT 2']
 */
export function splitStatements(sql: string): StatementText[] {
  const out: StatementText[] = [];
  const n = sql.length;
  let line = 1;
  let lineStart = 0;
  let start = 0;
  let startLine = 1;
  let startColumn = 1;
  let i = 0;
  const finish = (end: number) => {
    const text = sql.slice(start, end);
    const keyword = leadingWord(text);
    if (keyword !== undefined) {
      let tokens: Token[] | undefined;
      const position = { offset: start, line: startLine, column: startColumn };
      out.push({
        text,
        start: position,
        keyword,
        get tokens() {
          tokens ??= tokenize(text, position);
          return tokens;
        },
      });
    }
  };
  const unterminated = (what: string, at: number): never => {
    // Tokenize from the statement start for the exact position and message.
    tokenize(sql.slice(start), { offset: start, line: startLine, column: startColumn });
    throw syntaxError(`unterminated ${what}`, positionOf(sql, at));
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = i + 1;
      i++;
    } else if (c === 59) {
      finish(i);
      i++;
      start = i;
      startLine = line;
      startColumn = i - lineStart + 1;
    } else if (c === 39 || c === 34 || c === 96 || c === 91) {
      const close = c === 91 ? 93 : c;
      let j = i + 1;
      for (;;) {
        if (j >= n) unterminated(c === 39 ? 'string' : 'quoted identifier', i);
        const d = sql.charCodeAt(j);
        if (d === 10) {
          line++;
          lineStart = j + 1;
        }
        if (d === close) {
          if (close !== 93 && sql.charCodeAt(j + 1) === close) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      i = j + 1;
    } else if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      const j = sql.indexOf('\n', i);
      i = j < 0 ? n : j;
    } else if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      const j = sql.indexOf('*/', i + 2);
      if (j < 0) unterminated('comment (/* without */)', i);
      for (let k = i; k < j; k++) {
        if (sql.charCodeAt(k) === 10) {
          line++;
          lineStart = k + 1;
        }
      }
      i = j + 2;
    } else i++;
  }
  finish(n);
  return out;
}

/** The upper-cased first word of a statement ('' if it starts with something else), undefined if it is empty. */
function leadingWord(text: string): string | undefined {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('--', i)) {
      const j = text.indexOf('\n', i);
      if (j < 0) return undefined;
      i = j + 1;
      continue;
    }
    if (text.startsWith('/*', i)) {
      const j = text.indexOf('*/', i + 2);
      if (j < 0) return undefined;
      i = j + 2;
      continue;
    }
    break;
  }
  if (i >= text.length) return undefined;
  const m = /^[A-Za-z_]+/.exec(text.slice(i, i + 40));
  return m ? m[0].toUpperCase() : '';
}

/**
 * True when `sql` ends with a complete statement (a top-level `;` after the last meaningful token) and
 * has no unterminated string or comment — what an interactive shell waits for before running input.
 * @example isCompleteInput('SELECT 1') // false; isCompleteInput('SELECT 1;') // true
 */
export function isCompleteInput(sql: string): boolean {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch {
    return false;
  }
  const meaningful = tokens.filter((t) => !isTrivia(t));
  return meaningful.length > 0 && meaningful[meaningful.length - 1]!.text === ';';
}

/**
 * The name inside a quoted identifier token.
 * @example unquoteIdentifier('"a""b"') // 'a"b'
 */
export function unquoteIdentifier(text: string): string {
  const q = text[0];
  if (q === '[') return text.slice(1, -1);
  return text.slice(1, -1).split(q! + q!).join(q!);
}

/**
 * The value of a string literal token.
 * @example unquoteString("'it''s'") // "it's"
 */
export function unquoteString(text: string): string {
  return text.slice(1, -1).split("''").join("'");
}

/** Separator between a table name and a revision in an internal table reference (`orders@HEAD~1`). */
export const REVISION_SEPARATOR = '@';

/**
 * A statement rewritten for alasql, with a map from positions in the rewritten text back to the
 * original (for error messages).
 */
export interface RewrittenStatement {
  text: string;
  /** Map an offset in `text` to an offset in the original statement text. */
  originalOffset(offset: number): number;
}

/**
 * Rewrite a statement's tokens for alasql:
 * - "double-quoted" identifiers (standard SQL) become `backtick` identifiers (alasql reads "…" as text);
 * - `name AS OF 'rev'` (time travel, Dolt's syntax) becomes `` `name@rev` AS name `` — or, when an alias
 *   follows, `` `name@rev` AS alias ``.
 * @example rewriteStatement(splitStatements(`SELECT "a" FROM t AS OF 'HEAD~1'`)[0].tokens).text
 *   // "SELECT `a` FROM `t@HEAD~1` AS t"
 */
export function rewriteStatement(tokens: readonly Token[], options: { quoteWord?: (word: string) => boolean } = {}): RewrittenStatement {
  const pieces: { text: string; from: number; length: number }[] = [];
  const base = tokens[0]?.offset ?? 0;
  const emit = (text: string, from: number, length: number) => pieces.push({ text, from: from - base, length });
  const next = (k: number): number => {
    let j = k + 1;
    while (j < tokens.length && isTrivia(tokens[j]!)) j++;
    return j;
  };
  const isWord = (k: number, w: string) => tokens[k]?.kind === 'word' && tokens[k]!.text.toUpperCase() === w;
  // Which open parentheses belong to CAST / CONVERT (where AS is followed by a type, not an alias).
  const parens: boolean[] = [];
  let prevMeaningful: Token | undefined;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    const before = prevMeaningful;
    if (!isTrivia(t)) prevMeaningful = t;
    if (t.kind === 'punct' && t.text === '(') parens.push(before?.kind === 'word' && /^(CAST|CONVERT)$/i.test(before.text));
    if (t.kind === 'punct' && t.text === ')') parens.pop();
    if (t.kind === 'word' || t.kind === 'quoted') {
      // name AS OF 'rev' [AS alias | alias]
      const a = next(k);
      const o = next(a);
      const r = next(o);
      if (isWord(a, 'AS') && isWord(o, 'OF')) {
        const revToken = tokens[r];
        if (!revToken || revToken.kind !== 'string') throw syntaxError("AS OF needs a revision in single quotes, e.g. AS OF 'HEAD~1'", tokens[o]!, tokens[o]!.text);
        const name = t.kind === 'quoted' ? unquoteIdentifier(t.text) : t.text;
        const rev = unquoteString(revToken.text);
        if (rev === '' || rev.includes('`')) throw syntaxError(`invalid revision ${JSON.stringify(rev)}`, revToken, revToken.text);
        let alias = name;
        let end = r;
        const n1 = next(r);
        if (isWord(n1, 'AS')) {
          const n2 = next(n1);
          if (tokens[n2] && (tokens[n2]!.kind === 'word' || tokens[n2]!.kind === 'quoted')) {
            alias = tokens[n2]!.kind === 'quoted' ? unquoteIdentifier(tokens[n2]!.text) : tokens[n2]!.text;
            end = n2;
          }
        } else if (tokens[n1]?.kind === 'word' && !CLAUSE_WORDS.has(tokens[n1]!.text.toUpperCase())) {
          alias = tokens[n1]!.text;
          end = n1;
        } else if (tokens[n1]?.kind === 'quoted') {
          alias = unquoteIdentifier(tokens[n1]!.text);
          end = n1;
        }
        const last = tokens[end]!;
        emit('`' + name + REVISION_SEPARATOR + rev + '` AS `' + alias + '`', t.offset, last.offset + last.text.length - t.offset);
        k = end;
        prevMeaningful = last;
        continue;
      }
    }
    if (t.kind === 'quoted' && t.text[0] === '"') {
      const name = unquoteIdentifier(t.text);
      if (name.includes('`')) throw syntaxError('a quoted identifier may not contain a backtick', t, t.text);
      emit('`' + name + '`', t.offset, t.text.length);
      continue;
    }
    if (t.kind === 'word' && /^NULLS$/i.test(t.text) && before && !(before.kind === 'word' && /^(ASC|DESC)$/i.test(before.text)) && /^(FIRST|LAST)$/i.test(tokens[next(k)]?.text ?? '')) {
      // alasql parses NULLS FIRST / LAST only after an explicit direction.
      emit('ASC ' + t.text, t.offset, t.text.length);
      continue;
    }
    if (t.kind === 'word' && before?.kind === 'word' && before.text.toUpperCase() === 'AS' && !/^OF$/i.test(t.text)) {
      // After AS: a type inside CAST( ), else an alias — quoted, so aliases like `total` or `count`
      // (alasql keywords) work.
      if (parens[parens.length - 1]) emit(t.text, t.offset, t.text.length);
      else emit('`' + t.text + '`', t.offset, t.text.length);
      continue;
    }
    if (t.kind === 'word' && options.quoteWord?.(t.text) && !(tokens[next(k)]?.kind === 'punct' && tokens[next(k)]!.text === '(')) {
      emit('`' + t.text + '`', t.offset, t.text.length);
      continue;
    }
    emit(t.text, t.offset, t.text.length);
  }
  const text = pieces.map((p) => p.text).join('');
  const starts: number[] = [];
  let at = 0;
  for (const p of pieces) {
    starts.push(at);
    at += p.text.length;
  }
  return {
    text,
    originalOffset(offset: number): number {
      // The last piece starting at or before `offset`; inside a rewritten piece, point at its start.
      let lo = 0;
      let hi = pieces.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      const p = pieces[lo];
      if (!p) return offset;
      const inside = offset - starts[lo]!;
      return p.from + (p.text.length === p.length ? inside : 0);
    },
  };
}

/** Words that start the next clause, so they cannot be an alias after `AS OF 'rev'`. */
const CLAUSE_WORDS = new Set([
  'WHERE', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'OUTER', 'CROSS', 'ON', 'USING', 'GROUP', 'ORDER', 'HAVING', 'LIMIT',
  'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT', 'NATURAL', 'SET', 'VALUES', 'WINDOW', 'AND', 'OR',
]);

/**
 * Line and column (1-based) of an offset in a text.
 * @example positionOf('a\nbc', 3) // { offset: 3, line: 2, column: 2 }
 */
export function positionOf(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

/**
 * An ESQLSYNTAX error at a position, naming the token found there.
 * @example throw syntaxError('unexpected token', { offset: 0, line: 1, column: 1 }, 'FORM')
 */
export function syntaxError(message: string, at: SourcePosition, token?: string): ProllyError {
  const near = token !== undefined && token !== '' ? ` near ${JSON.stringify(token)}` : '';
  return new ProllyError(ErrorCodes.SQL_SYNTAX, `SQL syntax error at line ${at.line}, column ${at.column}${near}: ${message}`, {
    line: at.line,
    column: at.column,
    offset: at.offset,
    token,
  });
}

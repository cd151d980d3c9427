/**
 * Query results as text: aligned tables for people (NULL shown as NULL, so it is never mistaken for an
 * empty string), and JSON, NDJSON or CSV for programs. Bytes are written as `\x` + hex (the form the
 * engine accepts back), JSON values as JSON text, integers beyond 2^53 as exact digits.
 */
import type { SqlValue } from './types.js';

/** Output formats of `git prolly sql`. */
export const OUTPUT_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * A value as a table cell.
 * @example cellText(null) // 'NULL'
 */
export function cellText(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  return JSON.stringify(v);
}

/**
 * A value in JSON output: bigints beyond 2^53 as strings of digits, bytes as `\x` hex text.
 * @example jsonValue(2n ** 60n) // '1152921504606846976'
 */
export function jsonValue(v: SqlValue): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  return v;
}

/** Display width of a string (wide CJK characters count 2, combining marks 0; good enough for tables). */
function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x300 && cp < 0x370)) continue;
    w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0x1f300 && cp <= 0x1faff) ? 2 : 1;
  }
  return w;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return right ? fill + s : s + fill;
}

/** Cell text on one line: control characters escaped so rows stay aligned. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(s) ? JSON.stringify(s).slice(1, -1) : s;
}

/**
 * An aligned text table: header, a rule, the rows (numbers right-aligned), and a row count.
 * @example formatTable(['id', 'name'], [[1, 'Ada'], [2, null]])
 * // id | name
 * // ---+-----
 * //  1 | Ada
 * //  2 | NULL
 * // (2 rows)
 */
export function formatTable(columns: readonly string[], rows: readonly SqlValue[][], options: { maxWidth?: number } = {}): string {
  const max = options.maxWidth ?? 80;
  const cells = rows.map((r) => r.map((v) => clip(oneLine(cellText(v)), max)));
  const numeric = columns.map((_, i) => rows.some((r) => r[i] !== null) && rows.every((r) => r[i] === null || typeof r[i] === 'number' || typeof r[i] === 'bigint'));
  const widths = columns.map((c, i) => Math.max(width(c), ...cells.map((r) => width(r[i]!))));
  const lines = [columns.map((c, i) => pad(c, widths[i]!, false)).join(' | ').trimEnd(), widths.map((w) => '-'.repeat(w)).join('-+-')];
  for (const r of cells) lines.push(r.map((c, i) => pad(c, widths[i]!, numeric[i]! && rows.length > 0)).join(' | ').trimEnd());
  lines.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return lines.join('\n');
}

function clip(s: string, max: number): string {
  return width(s) <= max ? s : `${[...s].slice(0, max - 1).join('')}…`;
}

/**
 * Rows as objects (column → value) for JSON; a repeated column name gets a `_2`, `_3` suffix.
 * @example rowObjects(['a', 'a'], [[1, 2]]) // [{ a: 1, a_2: 2 }]
 */
export function rowObjects(columns: readonly string[], rows: readonly SqlValue[][]): Record<string, unknown>[] {
  const names = uniqueNames(columns);
  return rows.map((r) => Object.fromEntries(names.map((n, i) => [n, jsonValue(r[i]!)])));
}

function uniqueNames(columns: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return columns.map((c) => {
    const n = (seen.get(c) ?? 0) + 1;
    seen.set(c, n);
    return n === 1 ? c : `${c}_${n}`;
  });
}

/**
 * A JSON array of row objects.
 * @example formatJson(['a'], [[1]]) // '[\n  {"a":1}\n]'
 */
export function formatJson(columns: readonly string[], rows: readonly SqlValue[][]): string {
  const objs = rowObjects(columns, rows);
  if (objs.length === 0) return '[]';
  return `[\n${objs.map((o) => `  ${JSON.stringify(o)}`).join(',\n')}\n]`;
}

/**
 * One JSON object per line.
 * @example formatNdjson(['a'], [[1], [2]]) // '{"a":1}\n{"a":2}'
 */
export function formatNdjson(columns: readonly string[], rows: readonly SqlValue[][]): string {
  return rowObjects(columns, rows)
    .map((o) => JSON.stringify(o))
    .join('\n');
}

function csvField(v: SqlValue): string {
  if (v === null) return ''; // NULL is an empty field; an empty string is ""
  const s = typeof v === 'string' ? v : cellText(v);
  return s === '' || /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * RFC 4180 CSV with a header; NULL is an empty field, the empty string is `""`.
 * @example formatCsv(['a'], [[null], ['']]) // 'a\r\n\r\n""'
 */
export function formatCsv(columns: readonly string[], rows: readonly SqlValue[][]): string {
  const lines = [columns.map((c) => csvField(c)).join(',')];
  for (const r of rows) lines.push(r.map(csvField).join(','));
  return lines.join('\r\n');
}

/**
 * Format rows in one of the output formats.
 * @example formatRows('csv', ['a'], [[1]]) // 'a\r\n1'
 */
export function formatRows(format: OutputFormat, columns: readonly string[], rows: readonly SqlValue[][]): string {
  switch (format) {
    case 'json':
      return formatJson(columns, rows);
    case 'ndjson':
      return formatNdjson(columns, rows);
    case 'csv':
      return formatCsv(columns, rows);
    default:
      return formatTable(columns, rows);
  }
}

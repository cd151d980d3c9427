/**
 * Import input → key/value records. Every format gives the same shape of value: the row as a compact
 * JSON object (CSV cells are strings; JSON records keep their types and key order), so a dataset
 * imported from CSV and the same rows from NDJSON differ only where the types differ.
 *
 * The key is a column/field: `key` option, else the first CSV column or the `id` field of JSON records.
 */
import { extname } from 'node:path';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';
import { MAX_KEY_BYTES } from '../../tree/node.js';
import { parseCsv } from './csv.js';
import { parseJsonArray, parseNdjson } from './json.js';

export type ImportFormat = 'csv' | 'ndjson' | 'json';

/** One record to store. */
export interface ImportRecord {
  /** Line the record starts on, for error messages. */
  line: number;
  key: string;
  /** The row as compact JSON. */
  value: string;
}

/**
 * The format a file name implies (`.csv`, `.ndjson` / `.jsonl`, `.json`), or undefined.
 * @example formatOf('rows.ndjson') // 'ndjson'
 */
export function formatOf(path: string): ImportFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.json') return 'json';
  return undefined;
}

/**
 * Records of an input in batches, validated (key present, not empty, not too long).
 * @example for await (const batch of readRecords({ source, format: 'csv', file: 'users.csv' })) …
 */
export async function* readRecords(options: { source: AsyncIterable<Uint8Array>; format: ImportFormat; file: string; key?: string }): AsyncGenerator<ImportRecord[]> {
  const { file } = options;
  const fail = (line: number, message: string): never => {
    throw new ProllyError(ErrorCodes.BAD_INPUT, `${file}:${line}: ${message}`, { file, line });
  };
  const checkKey = (key: string, line: number) => {
    if (key === '') fail(line, 'empty key');
    if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES) fail(line, `key of ${Buffer.byteLength(key)} bytes is longer than the ${MAX_KEY_BYTES}-byte maximum`);
  };
  if (options.format === 'csv') {
    let header: string[] | undefined;
    let prefixes: string[] = [];
    let keyIndex = 0;
    for await (const rows of parseCsv(options.source, { file })) {
      const out: ImportRecord[] = [];
      for (const row of rows) {
        if (!header) {
          header = row.fields;
          const seen = new Set<string>();
          for (const h of header) {
            if (h === '') fail(row.line, 'empty column name in the header');
            if (seen.has(h)) fail(row.line, `duplicate column ${JSON.stringify(h)} in the header`);
            seen.add(h);
          }
          if (options.key !== undefined) {
            keyIndex = header.indexOf(options.key);
            if (keyIndex < 0) fail(row.line, `no column ${JSON.stringify(options.key)} in the header (columns: ${header.join(', ')})`);
          }
          prefixes = header.map((h, i) => (i === 0 ? '{' : ',') + JSON.stringify(h) + ':');
          continue;
        }
        const f = row.fields;
        let value = '';
        for (let i = 0; i < f.length; i++) value += prefixes[i] + JSON.stringify(f[i]);
        value += '}';
        const key = f[keyIndex]!;
        checkKey(key, row.line);
        out.push({ line: row.line, key, value });
      }
      if (out.length > 0) yield out;
    }
    if (!header) fail(1, 'empty CSV: expected a header row');
    return;
  }
  const field = options.key ?? 'id';
  const parser = options.format === 'ndjson' ? parseNdjson : parseJsonArray;
  for await (const records of parser(options.source, { file })) {
    const out: ImportRecord[] = [];
    for (const { line, value } of records) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(line, `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
      const k = (value as Record<string, unknown>)[field];
      if (k === undefined) fail(line, `record has no ${JSON.stringify(field)} field${options.key === undefined ? ' (choose the key field with --key)' : ''}`);
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean') fail(line, `key field ${JSON.stringify(field)} must be a string or a number, got ${k === null ? 'null' : Array.isArray(k) ? 'an array' : typeof k}`);
      const key = String(k);
      checkKey(key, line);
      out.push({ line, key, value: JSON.stringify(value) });
    }
    if (out.length > 0) yield out;
  }
}

/**
 * Check a format name from the command line.
 * @example parseFormat('ndjson')
 */
export function parseFormat(name: string): ImportFormat {
  if (name === 'csv' || name === 'ndjson' || name === 'json') return name;
  if (name === 'jsonl') return 'ndjson';
  throw invalidArgument(`unknown format ${JSON.stringify(name)} (use csv, ndjson or json)`);
}

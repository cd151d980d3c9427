/**
 * Dataset pointer files (ARCHITECTURE.md decision 7): the only thing git stores per dataset. A few
 * `key value` lines, so `git diff` of a pointer is readable even without the diff driver:
 *
 *   prolly-dataset 1
 *   kind kv
 *   root 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *   count 1000
 *   schema <64 hex>            (tables only)
 *
 * The order is fixed and the file ends with a newline, so the same dataset state always has the same
 * bytes (and the same git blob id): two branches that reach the same data do not conflict.
 */
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { fromHex, toHex } from '../util/bytes.js';

/** Pointer format version written by this code. */
export const POINTER_VERSION = 1;

export type DatasetKind = 'kv' | 'table';

/** What a pointer file says about a dataset. */
export interface DatasetPointer {
  kind: DatasetKind;
  /** Root node address of the dataset's prolly tree (32 bytes). */
  root: Uint8Array;
  /** Number of entries (rows). */
  count: number;
  /** Tables: address of the schema chunk. */
  schema?: Uint8Array;
}

/** Dataset names: a letter or digit, then letters, digits, `.`, `_`, `-` (no `/`: one file per dataset). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Throw EINVAL unless `name` is a valid dataset name.
 * @example checkDatasetName('users') // ok; checkDatasetName('../x') throws
 */
export function checkDatasetName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name) || name.endsWith('.lock') || name.includes('..')) {
    throw invalidArgument(
      `invalid dataset name ${JSON.stringify(name)}: use 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { name },
    );
  }
}

/**
 * The pointer file's bytes (canonical: fixed order, trailing newline).
 * @example formatPointer({ kind: 'kv', root, count: 3 })
 */
export function formatPointer(p: DatasetPointer): string {
  if (p.root.length !== 32) throw invalidArgument(`pointer root must be 32 bytes, got ${p.root.length}`);
  if (!Number.isSafeInteger(p.count) || p.count < 0) throw invalidArgument(`pointer count must be a non-negative integer, got ${p.count}`);
  if ((p.kind === 'table') !== (p.schema !== undefined)) throw invalidArgument(`a ${p.kind} pointer ${p.kind === 'table' ? 'needs' : 'must not have'} a schema address`);
  let out = `prolly-dataset ${POINTER_VERSION}\nkind ${p.kind}\nroot ${toHex(p.root)}\ncount ${p.count}\n`;
  if (p.schema) out += `schema ${toHex(p.schema)}\n`;
  return out;
}

/**
 * Parse a pointer file strictly: EBADPOINTER naming the file and line for anything unexpected (a
 * merge-conflict marker, a hand edit gone wrong, a newer format version).
 *
 * @example const p = parsePointer(text, { file: '.prolly/datasets/users' }); p.count
 */
export function parsePointer(text: string, options: { file?: string } = {}): DatasetPointer {
  const file = options.file ?? 'pointer';
  const fail = (line: number, message: string): never => {
    throw new ProllyError(ErrorCodes.BAD_POINTER, `${file}:${line}: ${message}`, { file, line });
  };
  if (text.startsWith('<<<<<<<')) fail(1, 'contains merge conflict markers; run `git prolly init` so git uses the prolly merge driver, then redo the merge');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) fail(1, 'is empty');
  const header = /^prolly-dataset (\d+)$/.exec(lines[0]!);
  if (!header) fail(1, `not a git-prolly dataset pointer (expected "prolly-dataset ${POINTER_VERSION}", got ${JSON.stringify(lines[0]!.slice(0, 40))})`);
  if (Number(header![1]) !== POINTER_VERSION) fail(1, `pointer format version ${header![1]} is not supported by this git-prolly (knows version ${POINTER_VERSION}); upgrade git-prolly`);
  const fields = new Map<string, { value: string; line: number }>();
  lines.slice(1).forEach((raw, i) => {
    const line = i + 2;
    const m = /^([a-z]+) (\S+)$/.exec(raw);
    if (!m) fail(line, `expected "<field> <value>", got ${JSON.stringify(raw.slice(0, 60))}`);
    const [, key, value] = m!;
    if (!['kind', 'root', 'count', 'schema'].includes(key!)) fail(line, `unknown field "${key}"`);
    if (fields.has(key!)) fail(line, `duplicate field "${key}"`);
    fields.set(key!, { value: value!, line });
  });
  const need = (key: string) => fields.get(key) ?? fail(lines.length, `missing field "${key}"`);
  const kind = need('kind');
  if (kind.value !== 'kv' && kind.value !== 'table') fail(kind.line, `kind must be "kv" or "table", got ${JSON.stringify(kind.value)}`);
  const hex = (f: { value: string; line: number }, what: string) => {
    if (!/^[0-9a-f]{64}$/.test(f.value)) fail(f.line, `${what} must be 64 lower-case hex digits, got ${JSON.stringify(f.value.slice(0, 70))}`);
    return fromHex(f.value);
  };
  const root = hex(need('root'), 'root');
  const countField = need('count');
  if (!/^(0|[1-9]\d{0,15})$/.test(countField.value) || !Number.isSafeInteger(Number(countField.value))) fail(countField.line, `count must be a non-negative integer, got ${JSON.stringify(countField.value)}`);
  const schemaField = fields.get('schema');
  if (kind.value === 'table' && !schemaField) fail(lines.length, 'a table pointer needs a "schema" field');
  if (kind.value === 'kv' && schemaField) fail(schemaField.line, 'a kv pointer must not have a "schema" field');
  return {
    kind: kind.value as DatasetKind,
    root,
    count: Number(countField.value),
    ...(schemaField ? { schema: hex(schemaField, 'schema') } : {}),
  };
}

/**
 * True when two pointers name the same data.
 * @example samePointer(a, b)
 */
export function samePointer(a: DatasetPointer | undefined, b: DatasetPointer | undefined): boolean {
  if (!a || !b) return a === b;
  return formatPointer(a) === formatPointer(b);
}

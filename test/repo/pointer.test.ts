import { describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { checkDatasetName, formatPointer, parsePointer, samePointer } from '../../src/repo/pointer.js';
import { sha256 } from '../../src/util/hash.js';
import { utf8 } from '../../src/util/bytes.js';

const root = sha256(utf8('root'));
const schema = sha256(utf8('schema'));

function parseError(text: string): string {
  try {
    parsePointer(text, { file: 'p' });
  } catch (err) {
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('EBADPOINTER');
    return (err as ProllyError).message;
  }
  throw new Error('expected an error');
}

describe('dataset pointer files', () => {
  it('format is canonical text and parses back', () => {
    const text = formatPointer({ kind: 'kv', root, count: 12 });
    expect(text).toBe(`prolly-dataset 1\nkind kv\nroot ${Buffer.from(root).toString('hex')}\ncount 12\n`);
    expect(parsePointer(text)).toEqual({ kind: 'kv', root, count: 12 });
    const table = formatPointer({ kind: 'table', root, count: 0, schema });
    expect(table.endsWith(`schema ${Buffer.from(schema).toString('hex')}\n`)).toBe(true);
    expect(parsePointer(table)).toEqual({ kind: 'table', root, count: 0, schema });
    expect(samePointer(parsePointer(table), { kind: 'table', root, count: 0, schema })).toBe(true);
    expect(samePointer(parsePointer(text), { kind: 'kv', root, count: 13 })).toBe(false);
  });

  it('tolerates a missing final newline but nothing else', () => {
    const text = formatPointer({ kind: 'kv', root, count: 1 });
    expect(parsePointer(text.trimEnd())).toEqual({ kind: 'kv', root, count: 1 });
    const hex = Buffer.from(root).toString('hex');
    expect(parseError('')).toBe('p:1: is empty');
    expect(parseError('hello\n')).toMatch(/^p:1: not a git-prolly dataset pointer/);
    expect(parseError('prolly-dataset 2\n')).toMatch(/^p:1: pointer format version 2 is not supported/);
    expect(parseError(`prolly-dataset 1\nkind kv\nroot ${hex}\n`)).toBe('p:3: missing field "count"');
    expect(parseError(`prolly-dataset 1\nkind kv\nroot ${hex}\ncount 1\ncount 2\n`)).toBe('p:5: duplicate field "count"');
    expect(parseError(`prolly-dataset 1\nkind kv\nroot ${hex}\ncount -1\n`)).toBe('p:4: count must be a non-negative integer, got "-1"');
    expect(parseError(`prolly-dataset 1\nkind kv\nroot ${hex.toUpperCase()}\ncount 1\n`)).toMatch(/^p:3: root must be 64 lower-case hex digits/);
    expect(parseError(`prolly-dataset 1\nkind graph\nroot ${hex}\ncount 1\n`)).toBe('p:2: kind must be "kv" or "table", got "graph"');
    expect(parseError(`prolly-dataset 1\nkind table\nroot ${hex}\ncount 1\n`)).toBe('p:4: a table pointer needs a "schema" field');
    expect(parseError(`prolly-dataset 1\nkind kv\nroot ${hex}\ncount 1\nextra 1\n`)).toBe('p:5: unknown field "extra"');
    expect(parseError(`prolly-dataset 1\r\nkind kv\r\n`)).toMatch(/^p:1:/);
    expect(parseError('<<<<<<< ours\n')).toMatch(/merge conflict markers/);
  });

  it('dataset names are plain file names', () => {
    for (const ok of ['users', 'a', 'A.b-c_d', '2024-sales']) expect(() => checkDatasetName(ok)).not.toThrow();
    for (const bad of ['', '.hidden', '../x', 'a/b', 'a b', 'x.lock', 'a..b', 'é', 'x'.repeat(129)]) expect(() => checkDatasetName(bad), bad).toThrow(/invalid dataset name/);
  });
});

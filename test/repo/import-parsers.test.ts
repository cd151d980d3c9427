/**
 * The streaming import parsers: RFC 4180 CSV checked against Python's csv module and by round trips
 * under every way of cutting the input into pieces; NDJSON / JSON arrays; line numbers in errors.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv, type CsvRow } from '../../src/dataset/import/csv.js';
import { parseJsonArray, parseNdjson } from '../../src/dataset/import/json.js';
import { readRecords } from '../../src/dataset/import/records.js';
import { ProllyError } from '../../src/errors.js';

async function* pieces(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c <= prev || c >= bytes.length) continue;
    yield bytes.subarray(prev, c);
    prev = c;
  }
  yield bytes.subarray(prev);
}

async function csvRows(text: string | Uint8Array, cuts: number[] = []): Promise<CsvRow[]> {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const out: CsvRow[] = [];
  for await (const batch of parseCsv(pieces(bytes, cuts), { file: 't.csv', batchRows: 3 })) out.push(...batch);
  return out;
}

async function csvError(text: string | Uint8Array): Promise<string> {
  try {
    await csvRows(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('EBADINPUT');
    return (err as ProllyError).message;
  }
  throw new Error('expected a parse error');
}

/** Reference encoder: quote a field when it needs it (or at random, which is also valid CSV). */
function encodeCsv(rows: string[][], quoteAll: boolean, crlf: boolean): string {
  const nl = crlf ? '\r\n' : '\n';
  return rows.map((r) => r.map((f) => (quoteAll || /[",\r\n]/.test(f) || f === '' ? `"${f.replace(/"/g, '""')}"` : f)).join(',')).join(nl) + nl;
}

describe('CSV parser', () => {
  it('parses quoting, embedded separators and line breaks, CRLF, BOM and a missing final newline', async () => {
    const rows = await csvRows('\ufeffid,text\n1,"a, b"\r\n2,"say ""hi"""\n3,"two\nlines"\n\n4,plain');
    expect(rows).toEqual([
      { line: 1, fields: ['id', 'text'] },
      { line: 2, fields: ['1', 'a, b'] },
      { line: 3, fields: ['2', 'say "hi"'] },
      { line: 4, fields: ['3', 'two\nlines'] },
      { line: 7, fields: ['4', 'plain'] },
    ]);
  });

  it('agrees with Python\'s csv module on a tricky file', async () => {
    const text = 'a,b,c\n"x,1","y""2",z\n"multi\nline",,"end"\r\nü,"ñ\r\n",3\n';
    const py = spawnSync('python3', ['-c', 'import csv,sys,json; print(json.dumps(list(csv.reader(sys.stdin, strict=True))))'], { input: text, encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const expected = JSON.parse(py.stdout) as string[][];
    expect((await csvRows(text)).map((r) => r.fields)).toEqual(expected);
  });

  it('round-trips any table however the bytes are cut', async () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é', '😀', 'x', '1'), maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((w) => fc.array(fc.array(field, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 6 })),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (rows, quoteAll, crlf, cutSeeds) => {
          // A lone empty field on a line is a blank line (skipped), so give one-column rows content.
          const table = rows.map((r) => (r.length === 1 && r[0] === '' ? ['x'] : r));
          const bytes = Buffer.from(encodeCsv(table, quoteAll, crlf));
          const cuts = cutSeeds.map((s) => s % (bytes.length + 1));
          expect((await csvRows(bytes, cuts)).map((r) => r.fields)).toEqual(table);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the same rows when fed one byte at a time', async () => {
    const text = 'k,v\n"a\r\nb","c""d"\r\ne,f\n';
    const bytes = Buffer.from(text);
    expect(await csvRows(bytes, [...Array(bytes.length).keys()])).toEqual(await csvRows(bytes));
  });

  it('errors name the line, counting line breaks inside quoted fields', async () => {
    expect(await csvError('a,b\n"x\ny",1\n1,2,3\n')).toBe('t.csv:4: expected 2 fields (as in the header), got 3');
    expect(await csvError('a,b\nx"y,1\n')).toMatch(/^t\.csv:2: a quote inside an unquoted field/);
    expect(await csvError('a,b\n"x"y,1\n')).toBe('t.csv:2: unexpected character "y" after a closing quote');
    expect(await csvError('a,b\n1,2\n"open,3\n4,5\n')).toBe('t.csv:3: unterminated quoted field');
    expect(await csvError(Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0xff, 0x2c, 0x31, 0x0a]))).toMatch(/^t\.csv:\d+: input is not valid UTF-8/);
  });
});

async function jsonRecords(parser: typeof parseNdjson, text: string, cuts: number[] = []) {
  const out: { line: number; value: unknown }[] = [];
  for await (const batch of parser(pieces(Buffer.from(text), cuts), { file: 't.json', batchRows: 2 })) out.push(...batch);
  return out;
}

describe('JSON parsers', () => {
  it('NDJSON: one value per line, blank lines skipped, errors by line', async () => {
    expect(await jsonRecords(parseNdjson, '{"id":1}\n\n{"id":"b","x":[1,{"y":"}"}]}\n{"id":3}')).toEqual([
      { line: 1, value: { id: 1 } },
      { line: 3, value: { id: 'b', x: [1, { y: '}' }] } },
      { line: 4, value: { id: 3 } },
    ]);
    await expect(jsonRecords(parseNdjson, '{"id":1}\n{"id":\n')).rejects.toThrow(/^t\.json:2: invalid JSON/);
  });

  it('JSON array: elements split correctly across any cut, including brackets and quotes inside strings', async () => {
    const values = [{ id: 'a', s: 'has ] and , and "quotes" and \\ backslash' }, [1, [2, [3]]], 'text', 4.5, null, { nested: { deep: [{}, []] } }];
    const text = `[\n  ${values.map((v) => JSON.stringify(v, null, 1)).join(',\n  ')}\n]\n`;
    const whole = await jsonRecords(parseJsonArray, text);
    expect(whole.map((r) => r.value)).toEqual(values);
    expect(whole[0]!.line).toBe(2);
    for (let cut = 1; cut < text.length; cut += 7) expect((await jsonRecords(parseJsonArray, text, [cut, cut + 3])).map((r) => r.value)).toEqual(values);
    expect((await jsonRecords(parseJsonArray, ' [ ] ')).length).toBe(0);
    await expect(jsonRecords(parseJsonArray, '{"id":1}')).rejects.toThrow('t.json:1: expected a JSON array of records ("[")');
    await expect(jsonRecords(parseJsonArray, '[{"id":1},\n{"id":}\n]')).rejects.toThrow(/^t\.json:2: invalid JSON/);
    await expect(jsonRecords(parseJsonArray, '[{"id":1}')).rejects.toThrow('unterminated JSON array');
    await expect(jsonRecords(parseJsonArray, '[1] 2')).rejects.toThrow('unexpected content after the end of the array');
  });
});

async function records(format: 'csv' | 'ndjson' | 'json', text: string, key?: string) {
  const out = [];
  for await (const batch of readRecords({ source: pieces(Buffer.from(text), []), format, file: 'in', key })) out.push(...batch);
  return out;
}

describe('import records', () => {
  it('CSV rows become compact JSON objects keyed by the first or chosen column', async () => {
    const text = 'id,name,note\nu1,Ada,"a ""quote"""\nu2,Alan,\n';
    expect(await records('csv', text)).toEqual([
      { line: 2, key: 'u1', value: JSON.stringify({ id: 'u1', name: 'Ada', note: 'a "quote"' }) },
      { line: 3, key: 'u2', value: JSON.stringify({ id: 'u2', name: 'Alan', note: '' }) },
    ]);
    expect((await records('csv', text, 'name')).map((r) => r.key)).toEqual(['Ada', 'Alan']);
    await expect(records('csv', text, 'nope')).rejects.toThrow('in:1: no column "nope" in the header (columns: id, name, note)');
    await expect(records('csv', 'id,id\n1,2\n')).rejects.toThrow('in:1: duplicate column "id" in the header');
    await expect(records('csv', 'id,v\n,1\n')).rejects.toThrow('in:2: empty key');
    await expect(records('csv', '')).rejects.toThrow('in:1: empty CSV: expected a header row');
  });

  it('JSON records keep their types; the key comes from "id" or the chosen field', async () => {
    expect(await records('ndjson', '{"id":7,"ok":true,"tags":["a"]}\n')).toEqual([{ line: 1, key: '7', value: '{"id":7,"ok":true,"tags":["a"]}' }]);
    expect((await records('json', '[{"sku":"x1","n":1}]', 'sku'))[0]!.key).toBe('x1');
    await expect(records('ndjson', '{"name":"x"}\n')).rejects.toThrow('in:1: record has no "id" field (choose the key field with --key)');
    await expect(records('ndjson', '[1]\n')).rejects.toThrow('in:1: expected a JSON object, got an array');
    await expect(records('ndjson', '{"id":null}\n')).rejects.toThrow('in:1: key field "id" must be a string or a number, got null');
  });
});

/**
 * The interactive shell, driven through streams: multi-line statements, dot commands, output modes,
 * errors that do not end the session, and history saved to a file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { SqlSession } from '../../src/sql/engine.js';
import { runShell } from '../../src/sql/shell.js';
import { MemoryTableStore } from '../../src/sql/table-store.js';

const dir = mkdtempSync(join(tmpdir(), 'prolly-shell-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return () => text;
}

describe('sql shell', () => {
  test('runs multi-line statements and dot commands, keeps going after an error, saves history', async () => {
    const store = new MemoryTableStore();
    const session = new SqlSession({ store });
    const out = new PassThrough();
    const err = new PassThrough();
    const output = collect(out);
    const errors = collect(err);
    const history = join(dir, 'history');
    const lines = [
      'CREATE TABLE t (id INTEGER PRIMARY KEY,',
      "  v TEXT); INSERT INTO t VALUES (1, 'a'), (2, NULL);",
      '.tables',
      '.schema t',
      'SELECT * FROM t ORDER BY id;',
      'SELECT * FROM nope;',
      '.mode csv',
      'SELECT v FROM t',
      '  WHERE id = 1;',
      '.bogus',
      '.quit',
      'SELECT 1;',
    ];
    const failures = await runShell({ session, input: Readable.from(lines.map((l) => l + '\n')), output: out, errors: err, historyFile: history });
    expect(failures).toBe(1);
    const text = output();
    expect(text).toContain('created table t\nINSERT: 2 rows\n');
    expect(text).toContain('table | rows\n------+-----\nt     |    2\n(1 row)');
    expect(text).toContain('CREATE TABLE t (\n  id INTEGER NOT NULL,\n  v TEXT,\n  PRIMARY KEY (id)\n);');
    expect(text).toContain('id | v\n---+-----\n 1 | a\n 2 | NULL\n(2 rows)');
    expect(text).toContain('v\r\na\n');
    expect(text).not.toContain('1\r\n1'); // nothing after .quit ran
    expect(errors()).toContain('error: no such table: nope');
    expect(errors()).toContain('unknown command .bogus');
    expect(readFileSync(history, 'utf8')).toContain('.mode csv');
    await session.close();
  });
});

/**
 * Oracle test: SQLite's ORDER BY (BINARY collation, NULLs first) must agree with the byte order of our
 * key encodings. sqlite3 is a real process here; we hand it the same tuples and compare the orders.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeKey, type KeyColumnType, type KeyInput } from '../../src/sql/key-codec.js';
import { compareBytes, toHex, utf8 } from '../../src/util/bytes.js';
import { keyTypesArb, keyValueArb, normalizeKeyValue, smallKeyValueArb } from './arbitraries.js';

const hasSqlite = spawnSync('sqlite3', ['-version']).status === 0;

/** A SQLite literal for a value that stores it exactly as the storage class SQLite compares it in. */
function literal(v: KeyInput, type: KeyColumnType): string {
  const n = normalizeKeyValue(v, type);
  if (n === null) return 'NULL';
  switch (type) {
    case 'integer':
      return BigInt(n as number | bigint) === -(2n ** 63n) ? '(-9223372036854775807 - 1)' : String(n);
    case 'real': {
      // The exact IEEE-754 bits, through the sqlite3 shell's ieee754 extension: no decimal parsing involved.
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, v as number); // the raw input, -0 included
      return `ieee754_from_blob(X'${toHex(new Uint8Array(view.buffer))}')`;
    }
    case 'boolean':
      return n ? '1' : '0';
    case 'bytes':
      return `X'${toHex(n as Uint8Array)}'`;
    default:
      // text, and dates / datetimes in their canonical text form (which sorts like the instant it names)
      return `CAST(X'${toHex(utf8(n as string))}' AS TEXT)`;
  }
}

function sqliteOrder(types: readonly KeyColumnType[], rows: KeyInput[][]): number[] {
  const cols = types.map((_, i) => `c${i}`);
  const sql = [
    `CREATE TABLE t(id INTEGER PRIMARY KEY, ${cols.join(', ')});`,
    ...rows.map((r, id) => `INSERT INTO t VALUES (${id}, ${r.map((v, i) => literal(v, types[i]!)).join(', ')});`),
    `SELECT id FROM t ORDER BY ${cols.join(', ')}, id;`,
  ].join('\n');
  const res = spawnSync('sqlite3', ['-batch', ':memory:'], { input: sql, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`sqlite3 failed: ${res.stderr}`);
  const ids: number[] = [];
  for (const line of res.stdout.trim().split('\n')) ids.push(Number(line));
  return ids;
}

describe.skipIf(!hasSqlite)('key order agrees with sqlite3 ORDER BY', () => {
  it('for random tuples of mixed types (NULLs, int64 edges, ±0, ±Infinity, \\0 in text, unicode)', () => {
    fc.assert(
      fc.property(
        keyTypesArb.chain((types) =>
          fc.tuple(
            fc.constant(types),
            fc.array(fc.tuple(...types.map((t) => fc.oneof(keyValueArb(t), smallKeyValueArb(t)))), { minLength: 50, maxLength: 200 }),
          ),
        ),
        ([types, rows]) => {
          const keys = rows.map((r) => encodeKey(r, types));
          const ours = rows.map((_, id) => id).sort((a, b) => compareBytes(keys[a]!, keys[b]!) || a - b);
          expect(sqliteOrder(types, rows)).toEqual(ours);
        },
      ),
      { numRuns: 30 },
    );
  });
});

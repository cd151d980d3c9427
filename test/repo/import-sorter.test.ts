/**
 * The import's external sort: in memory or spilled to sorted run files, the stream is the model's
 * (a Map where the last write wins, sorted by bytes), and the tree it builds has the same root as the
 * same rows applied as plain edits.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobRef } from '../../src/blob/blob-ref.js';
import { ImportSorter, mergeSorted } from '../../src/dataset/import/sorter.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { NodeStore } from '../../src/tree/node-store.js';
import { ProllyTree, type Entry } from '../../src/tree/prolly-tree.js';
import { compareBytes, toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

const tmp = mkdtempSync(join(tmpdir(), 'prolly-sorter-'));
let runs = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const show = (entries: Iterable<Entry>) => Array.from(entries, ([k, v]) => [Buffer.from(k).toString('utf8'), v instanceof BlobRef ? `blob:${toHex(v.address)}:${v.length}` : Buffer.from(v).toString('utf8')]);

describe('import sorter', () => {
  it('matches a last-write-wins model, in memory and when spilled to many runs', () => {
    const key = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', '\u0000', '😀', 'z'), maxLength: 9 });
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.string({ maxLength: 20 }), fc.boolean()), { maxLength: 300 }), fc.integer({ min: 64, max: 4096 }), (rows, runBytes) => {
        const dir = join(tmp, `run-${++runs}`);
        const sorter = new ImportSorter({ tempDir: dir, runBytes, maxInline: 1024 });
        const model = new Map<string, string>();
        for (const [k, v, asBlob] of rows) {
          if (asBlob) {
            const ref = new BlobRef(sha256(utf8(v)), 2000 + v.length);
            sorter.addValue(utf8(k), ref);
            model.set(Buffer.from(k).toString('hex'), `blob:${toHex(ref.address)}:${ref.length}`);
          } else {
            expect(sorter.addText(k, v)).toBe(true);
            model.set(Buffer.from(k).toString('hex'), v);
          }
        }
        const expected = [...model].sort(([a], [b]) => compareBytes(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'))).map(([k, v]) => [Buffer.from(k, 'hex').toString('utf8'), v]);
        expect(show(sorter.entries())).toEqual(expected);
        sorter.dispose();
        expect(existsSync(dir)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a value over the inline limit without adding it', () => {
    const sorter = new ImportSorter({ tempDir: join(tmp, 'x'), maxInline: 8 });
    expect(sorter.addText('k', '123456789')).toBe(false);
    expect(sorter.addText('k', '12345678')).toBe(true);
    expect(show(sorter.entries())).toEqual([['k', '12345678']]);
    expect(sorter.rows).toBe(1);
  });

  it('a spilled import builds the same tree as the same rows as edits, and merges over an existing tree', async () => {
    const nodes = new NodeStore(new MemoryStore());
    const rows: [string, string][] = [];
    for (let i = 0; i < 5000; i++) rows.push([`key-${(i * 7919) % 3001}`, `value ${i}`]);
    const sorter = new ImportSorter({ tempDir: join(tmp, 'spill'), runBytes: 20_000, maxInline: 1024 });
    for (const [k, v] of rows) sorter.addText(k, v);
    expect(sorter.inMemory).toBe(false);
    expect(readdirSync(join(tmp, 'spill')).length).toBeGreaterThan(5);
    const built = await ProllyTree.fromSorted(nodes, sorter.entries());
    sorter.dispose();
    const edited = await (await ProllyTree.empty(nodes)).mutate(rows.map(([k, v]) => ({ key: utf8(k), value: utf8(v) })));
    expect(toHex(built.root)).toBe(toHex(edited.root));
    expect(built.count).toBe(3001);

    // Upsert over an existing tree: newer values win, untouched keys stay.
    const update = new ImportSorter({ tempDir: join(tmp, 'upd'), maxInline: 1024 });
    update.addText('key-1', 'new');
    update.addText('zzz', 'added');
    const merged = await ProllyTree.fromSorted(nodes, mergeSorted(built.range(), update.entries()));
    const expected = await built.mutate([
      { key: utf8('key-1'), value: utf8('new') },
      { key: utf8('zzz'), value: utf8('added') },
    ]);
    expect(toHex(merged.root)).toBe(toHex(expected.root));
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveGearTable, GEAR_TABLE, GEAR_TABLE_I32 } from '../../src/blob/gear.js';
import { ROOT, specGearTable } from './helpers.js';

interface GearFixture {
  derivation: string;
  table: string[];
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');

describe('gear table (frozen format constant)', () => {
  const fixture = JSON.parse(readFileSync(ROOT + 'fixtures/gear-table.json', 'utf8')) as GearFixture;

  it('the committed fixture has 256 eight-digit hex words', () => {
    expect(fixture.table).toHaveLength(256);
    for (const w of fixture.table) expect(w).toMatch(/^0x[0-9a-f]{8}$/);
  });

  it('regenerating from the FORMAT.md definition gives the committed fixture', () => {
    expect(specGearTable().map(hex)).toEqual(fixture.table);
  });

  it('deriveGearTable() and the built-in GEAR_TABLE equal the fixture', () => {
    expect(Array.from(deriveGearTable(), hex)).toEqual(fixture.table);
    expect(Array.from(GEAR_TABLE, hex)).toEqual(fixture.table);
  });

  it('the signed view shares the same bits', () => {
    for (let i = 0; i < 256; i++) expect(GEAR_TABLE_I32[i]! >>> 0).toBe(GEAR_TABLE[i]);
  });

  it('entries are distinct (a repeated word would make two byte values indistinguishable)', () => {
    expect(new Set(GEAR_TABLE).size).toBe(256);
  });
});

describe('docs/FORMAT.md blob section', () => {
  const doc = readFileSync(ROOT + 'docs/FORMAT.md', 'utf8');
  const section = doc.slice(doc.indexOf('<!-- SECTION:blob -->'), doc.indexOf('<!-- END:blob -->'));

  it('quotes gear entries that match the table', () => {
    const quoted = [...section.matchAll(/GEAR\[(\d+)\] = (0x[0-9a-f]{8})/g)];
    expect(quoted.length).toBeGreaterThanOrEqual(3);
    for (const [, i, word] of quoted) expect(hex(GEAR_TABLE[Number(i)]!)).toBe(word);
  });
});

/** The calendar arithmetic checked against JavaScript's Date, which nobody here wrote. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dateToDays, datetimeToMs, daysToDate, MAX_DATETIME_MS, MIN_DATETIME_MS, msToDatetime } from '../../src/sql/temporal.js';

const dates = fc.date({ min: new Date('0001-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });

describe('temporal', () => {
  it('date ↔ day number agrees with Date for every year 0001–9999', () => {
    fc.assert(
      fc.property(dates, (d) => {
        const text = d.toISOString().slice(0, 10);
        const days = Math.floor(d.getTime() / 86_400_000);
        expect(dateToDays(text)).toBe(days);
        expect(daysToDate(days)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('datetime ↔ epoch ms agrees with Date, including UTC offsets', () => {
    fc.assert(
      fc.property(dates, fc.integer({ min: -14 * 60, max: 14 * 60 }), (d, offset) => {
        expect(datetimeToMs(d.toISOString())).toBe(d.getTime());
        expect(msToDatetime(d.getTime())).toBe(d.toISOString());
        // The same instant written in local time at `offset` minutes east of UTC.
        const local = new Date(d.getTime() + offset * 60_000).toISOString().slice(0, 23);
        const sign = offset < 0 ? '-' : '+';
        const abs = Math.abs(offset);
        const text = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        const parsed = Date.parse(text);
        // (text years are limited to 0001–9999 as well as the instant)
        if (/^(?!0000)\d{4}-/.test(local) && parsed >= MIN_DATETIME_MS && parsed <= MAX_DATETIME_MS) expect(datetimeToMs(text)).toBe(parsed);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts the usual ISO 8601 spellings', () => {
    expect(datetimeToMs('2024-03-01')).toBe(Date.UTC(2024, 2, 1));
    expect(datetimeToMs('2024-03-01 12:30')).toBe(Date.UTC(2024, 2, 1, 12, 30));
    expect(datetimeToMs('2024-03-01T12:30:15.5Z')).toBe(Date.UTC(2024, 2, 1, 12, 30, 15, 500));
    expect(datetimeToMs('2024-03-01T12:30:15.123000+0100')).toBe(Date.UTC(2024, 2, 1, 11, 30, 15, 123));
    expect(datetimeToMs('2024-03-01T12:30:15-05')).toBe(Date.UTC(2024, 2, 1, 17, 30, 15));
    expect(dateToDays(new Date(Date.UTC(2000, 0, 1)))).toBe(10_957);
    expect(daysToDate(dateToDays('0099-12-31'))).toBe('0099-12-31'); // Date.UTC would map year 99 to 1999
  });

  it('refuses impossible dates and times, naming the input', () => {
    for (const bad of ['2023-02-29', '2024-13-01', '2024-00-10', '2024-04-31', '0000-12-31', '10000-01-01', '2024-1-1', '']) {
      expect(() => dateToDays(bad), bad).toThrow(/ESQLVALUE|not a (valid calendar )?date|0001–9999/);
    }
    expect(() => dateToDays('2024-02-30')).toThrow('"2024-02-30" is not a valid calendar date');
    expect(() => dateToDays(new Date(Date.UTC(2024, 0, 1, 5)))).toThrow(/not midnight UTC/);
    for (const bad of ['2024-01-01T24:00', '2024-01-01T10:60', '2024-01-01T10:00:60', '2024-01-01T10:00+25:00', '2024-01-01X', '9999-12-31T23:59:59.999-01:00']) {
      expect(() => datetimeToMs(bad), bad).toThrow();
    }
    expect(() => datetimeToMs('2024-01-01T00:00:00.0001Z')).toThrow(/sub-millisecond/);
    expect(() => datetimeToMs(new Date(NaN))).toThrow(/invalid Date/);
    expect(() => msToDatetime(MAX_DATETIME_MS + 1)).toThrow(/outside the years/);
    expect(() => daysToDate(1.5)).toThrow(/outside the years/);
  });
});

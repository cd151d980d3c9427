/**
 * Dates and datetimes as integers (docs/FORMAT.md, "SQL row keys and rows"):
 *   date     = days since 1970-01-01 (proleptic Gregorian calendar)
 *   datetime = milliseconds since 1970-01-01T00:00:00Z (UTC, no leap seconds)
 * Integers sort like the instants they name, so keys reuse the integer encoding, and the canonical text
 * forms ('YYYY-MM-DD', 'YYYY-MM-DDTHH:MM:SS.sssZ') also sort like them. Years are limited to 0001–9999
 * so the text form is always four-digit and zero-padded. Pure arithmetic (no Date.UTC, which maps
 * years 0–99 to 1900–1999).
 */
import { valueError } from './types.js';

const MS_PER_DAY = 86_400_000;

/** Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** [year, month, day] of a day number (inverse of daysFromCivil). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** Day number of 0001-01-01, the first date accepted. */
export const MIN_DATE_DAYS = daysFromCivil(1, 1, 1);
/** Day number of 9999-12-31, the last date accepted. */
export const MAX_DATE_DAYS = daysFromCivil(9999, 12, 31);
/** Epoch milliseconds of 0001-01-01T00:00:00.000Z. */
export const MIN_DATETIME_MS = MIN_DATE_DAYS * MS_PER_DAY;
/** Epoch milliseconds of 9999-12-31T23:59:59.999Z. */
export const MAX_DATETIME_MS = (MAX_DATE_DAYS + 1) * MS_PER_DAY - 1;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

function civilDays(y: number, m: number, d: number, text: string): number {
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) throw valueError(`${JSON.stringify(text)} is not a valid calendar date`, { value: text });
  return daysFromCivil(y, m, d);
}

/**
 * Day number of a date: a 'YYYY-MM-DD' string or a Date at midnight UTC.
 * @example dateToDays('1970-01-02') // 1
 */
export function dateToDays(v: string | Date): number {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw valueError('invalid Date object', {});
    if (ms % MS_PER_DAY !== 0) throw valueError(`${v.toISOString()} is not midnight UTC; a date column holds whole days`, { value: v.toISOString() });
    return checkDays(ms / MS_PER_DAY, v.toISOString());
  }
  const m = DATE_RE.exec(v);
  if (!m) throw valueError(`${JSON.stringify(v)} is not a date (YYYY-MM-DD)`, { value: v });
  return civilDays(Number(m[1]), Number(m[2]), Number(m[3]), v);
}

function checkDays(days: number, text: string): number {
  if (days < MIN_DATE_DAYS || days > MAX_DATE_DAYS) throw valueError(`${text} is outside the years 0001–9999`, { value: text });
  return days;
}

/**
 * Canonical text of a day number.
 * @example daysToDate(0) // '1970-01-01'
 */
export function daysToDate(days: number): string {
  if (!Number.isSafeInteger(days) || days < MIN_DATE_DAYS || days > MAX_DATE_DAYS) throw valueError(`day number ${days} is outside the years 0001–9999`, { value: days });
  const [y, m, d] = civilFromDays(days);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/**
 * Epoch milliseconds of a datetime: a Date, or ISO 8601 text ('YYYY-MM-DD', 'YYYY-MM-DD[T ]HH:MM[:SS[.fff]]'
 * with an optional 'Z' or ±HH[:MM] offset; no offset means UTC). Digits below the millisecond must be zeros:
 * a datetime holds milliseconds and never rounds silently.
 * @example datetimeToMs('1970-01-01T00:00:01+01:00') // -3599000
 */
export function datetimeToMs(v: string | Date): number {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw valueError('invalid Date object', {});
    return checkMs(ms, v.toISOString());
  }
  const m = DATETIME_RE.exec(v);
  if (!m) throw valueError(`${JSON.stringify(v)} is not an ISO 8601 datetime`, { value: v });
  const days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]), v);
  const h = Number(m[4] ?? 0);
  const mi = Number(m[5] ?? 0);
  const s = Number(m[6] ?? 0);
  const frac = m[7] ?? '';
  if (h > 23 || mi > 59 || s > 59) throw valueError(`${JSON.stringify(v)} has an invalid time of day`, { value: v });
  if (/[1-9]/.test(frac.slice(3))) throw valueError(`${JSON.stringify(v)} has sub-millisecond digits; datetimes hold milliseconds`, { value: v });
  const millis = Number(frac.slice(0, 3).padEnd(3, '0'));
  let offsetMinutes = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11] ?? 0);
    if (oh > 23 || om > 59) throw valueError(`${JSON.stringify(v)} has an invalid UTC offset`, { value: v });
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return checkMs(days * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + s * 1000 + millis - offsetMinutes * 60_000, v);
}

function checkMs(ms: number, text: string): number {
  if (ms < MIN_DATETIME_MS || ms > MAX_DATETIME_MS) throw valueError(`${text} is outside the years 0001–9999 (UTC)`, { value: text });
  return ms;
}

/**
 * Canonical text of epoch milliseconds.
 * @example msToDatetime(0) // '1970-01-01T00:00:00.000Z'
 */
export function msToDatetime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < MIN_DATETIME_MS || ms > MAX_DATETIME_MS) throw valueError(`epoch milliseconds ${ms} are outside the years 0001–9999`, { value: ms });
  const days = Math.floor(ms / MS_PER_DAY);
  let rest = ms - days * MS_PER_DAY;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const mi = Math.floor(rest / 60_000);
  rest -= mi * 60_000;
  const s = Math.floor(rest / 1000);
  return `${daysToDate(days)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(rest - s * 1000, 3)}Z`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Durations as users write them for `--keep-recent`: `2.weeks`, `2 weeks`, `14d`, `36h`, `1h30m`,
 * `90s`, git's `2.weeks.ago`, or `0` / `now` (keep nothing for being recent).
 */
import { invalidArgument } from '../errors.js';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

/**
 * Milliseconds of a duration; EINVAL naming the text when it is not one.
 * @example parseDuration('2.weeks') // 1209600000
 * @example parseDuration('1h30m') // 5400000
 */
export function parseDuration(text: string): number {
  const s = String(text).trim().toLowerCase();
  if (s === '0' || s === 'now') return 0;
  const body = s.replace(/[.\s]+ago$/, '');
  const part = /(\d+(?:\.\d+)?)[.\s]*([a-z]+)[.\s]*/y;
  let total = 0;
  let at = 0;
  let parts = 0;
  while (at < body.length) {
    part.lastIndex = at;
    const m = part.exec(body);
    const unit = m ? UNIT_MS[m[2]!] : undefined;
    if (!m || unit === undefined) break;
    total += Number(m[1]) * unit;
    at = part.lastIndex;
    parts++;
  }
  if (parts === 0 || at !== body.length || !Number.isFinite(total)) {
    throw invalidArgument(`not a duration: ${JSON.stringify(text)} (examples: 2.weeks, 14d, 36h, 1h30m, 0)`, { duration: text });
  }
  return Math.round(total);
}

/**
 * A short readable form of a duration.
 * @example formatDuration(1209600000) // '14 days'
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0 (nothing kept for being recent)';
  for (const [unit, size] of [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms / size === 1 ? '' : 's'}`;
  }
  return `${(ms / 1000).toFixed(1)} seconds`;
}

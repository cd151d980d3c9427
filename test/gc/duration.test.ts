/** --keep-recent durations. */
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/gc/duration.js';

describe('parseDuration', () => {
  it('reads the forms users type, git-style included', () => {
    const H = 3_600_000;
    expect(parseDuration('2.weeks')).toBe(14 * 24 * H);
    expect(parseDuration('2 weeks')).toBe(14 * 24 * H);
    expect(parseDuration('2.weeks.ago')).toBe(14 * 24 * H);
    expect(parseDuration('14d')).toBe(14 * 24 * H);
    expect(parseDuration('36h')).toBe(36 * H);
    expect(parseDuration('1h30m')).toBe(1.5 * H);
    expect(parseDuration('1.5 hours')).toBe(1.5 * H);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('now')).toBe(0);
  });

  it('refuses anything else, naming it', () => {
    for (const bad of ['', 'soon', '2', '2 fortnights', 'weeks', '-1d', '1d extra']) {
      expect(() => parseDuration(bad), bad).toThrow(`not a duration: ${JSON.stringify(bad)}`);
    }
  });

  it('formats back readably', () => {
    expect(formatDuration(parseDuration('2.weeks'))).toBe('14 days');
    expect(formatDuration(parseDuration('1h30m'))).toBe('90 minutes');
  });
});

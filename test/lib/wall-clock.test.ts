import { describe, expect, it } from 'vitest';
import {
  punchTimeToUtcMs,
  utcMsToWall,
  wallDiffSeconds,
  wallTimeToUtcMs,
  zoneOffsetMinutes,
} from '../../lib/wall-clock';

// Expected values by hand: Asia/Shanghai is UTC+8 all year; Europe/Berlin is +1, +2 from the last
// Sunday of March (2026-03-29 01:00 UTC); America/New_York -5, -4 from 2026-03-08 07:00 UTC.

describe('lib/wall-clock', () => {
  const instant = Date.UTC(2026, 10, 20, 0, 30, 15);

  it('writes the wall time an instant shows in a zone, with a T or (Sichuan recogTime) a space', () => {
    expect(utcMsToWall(instant, 'Asia/Shanghai')).toBe('2026-11-20T08:30:15');
    expect(utcMsToWall(instant, 'Asia/Shanghai', ' ')).toBe('2026-11-20 08:30:15');
    expect(utcMsToWall(instant, 'America/New_York')).toBe('2026-11-19T19:30:15');
    expect(utcMsToWall(Date.UTC(2026, 2, 29, 1, 0, 0), 'Europe/Berlin')).toBe('2026-03-29T03:00:00');
  });

  it('reads a wall time back to the same instant, and passes a UTC punch time through', () => {
    expect(wallTimeToUtcMs('2026-11-20T08:30:15', 'Asia/Shanghai')).toBe(instant);
    expect(punchTimeToUtcMs({ wall: '2026-11-20T08:30:15' }, 'Asia/Shanghai')).toBe(instant);
    expect(punchTimeToUtcMs({ utcMs: 1234 }, 'Asia/Shanghai')).toBe(1234);
  });

  it("gives a zone's offset in minutes, east positive, and NaN for a zone that does not exist", () => {
    expect(zoneOffsetMinutes(instant, 'Asia/Shanghai')).toBe(480);
    expect(zoneOffsetMinutes(instant, 'Asia/Kolkata')).toBe(330);
    expect(zoneOffsetMinutes(Date.UTC(2026, 2, 8, 6, 59, 59), 'America/New_York')).toBe(-300);
    expect(zoneOffsetMinutes(Date.UTC(2026, 2, 8, 7, 0, 0), 'America/New_York')).toBe(-240);
    expect(zoneOffsetMinutes(instant, 'Mars/Olympus')).toBeNaN();
  });

  it('counts the seconds between two zone-less wall times, across a month end', () => {
    expect(wallDiffSeconds('2026-03-01T08:01:30', '2026-03-01T08:00:00')).toBe(90);
    expect(wallDiffSeconds('2026-03-01T00:00:00', '2026-02-28T23:59:59')).toBe(1);
    expect(wallDiffSeconds('2026-02-28T23:59:59', '2026-03-01T00:00:00')).toBe(-1);
    expect(() => wallDiffSeconds('2026-13-01T00:00:00', '2026-03-01T00:00:00')).toThrow(/out of range/);
    expect(() => wallDiffSeconds('now', '2026-03-01T00:00:00')).toThrow(/not a wall time/);
  });
});

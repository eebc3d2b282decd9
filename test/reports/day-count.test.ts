/**
 * The attendance sheet's day counting (issue 18, "The attendance sheet"), rule by rule, with the
 * issue's own examples, night shifts, month ends, two zones (one with daylight saving), and
 * properties over random punches.
 */
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  type AttendanceDay,
  countDays,
  dayGrid,
  monthDays,
  roundHours,
  type SheetDirection,
  type SheetPunch,
  totalHours,
} from '../../gateway/reports/day-count';

const SHANGHAI = 'Asia/Shanghai';
const BERLIN = 'Europe/Berlin';
const RULES = { nightShiftHours: 14 };

/** A site-local wall time (`2026-03-02 08:00`) in `zone` as UTC ms. */
function at(wall: string, zone = SHANGHAI): number {
  const t = DateTime.fromFormat(wall, 'yyyy-MM-dd HH:mm', { zone });
  if (!t.isValid) throw new Error(`bad test time ${wall}`);
  return t.toMillis();
}

function punches(list: ReadonlyArray<readonly [string, SheetDirection]>, zone = SHANGHAI): SheetPunch[] {
  return list.map(([wall, direction]) => ({ atMs: at(wall, zone), direction }));
}

/** Just what a person reads of a day: hours, present, anomalies. */
function shown(days: readonly AttendanceDay[]) {
  return days.map((d) => ({ date: d.date, hours: d.hours, present: d.present, anomalies: d.anomalies }));
}

function oneDay(date: string, list: ReadonlyArray<readonly [string, SheetDirection]>, zone = SHANGHAI) {
  return countDays(punches(list, zone), dayGrid(zone, date, 1), RULES)[0]!;
}

describe('a day as the issue counts it', () => {
  it('in 08:00, in 08:05, out 12:00, in 13:00, out 17:30 is 8.5 h and no anomaly', () => {
    const day = oneDay('2026-03-02', [
      ['2026-03-02 08:00', 'in'],
      ['2026-03-02 08:05', 'in'],
      ['2026-03-02 12:00', 'out'],
      ['2026-03-02 13:00', 'in'],
      ['2026-03-02 17:30', 'out'],
    ]);
    expect(day.hours).toBe(8.5);
    expect(day.anomalies).toEqual([]);
    expect(day.present).toBe(true);
    expect(day.firstInMs).toBe(at('2026-03-02 08:00'));
    expect(day.lastOutMs).toBe(at('2026-03-02 17:30'));
  });

  it('a day with only in 08:00 is 0 h and "missing out"', () => {
    const day = oneDay('2026-03-02', [['2026-03-02 08:00', 'in']]);
    expect(day.hours).toBe(0);
    expect(day.anomalies).toEqual(['missingOut']);
    expect(day.present).toBe(true);
  });

  it('an out with no open stay is a repeated tap within 30 min of the last out, else "missing in"', () => {
    expect(
      oneDay('2026-03-02', [
        ['2026-03-02 08:00', 'in'],
        ['2026-03-02 17:00', 'out'],
        ['2026-03-02 17:20', 'out'],
        // 45 min after the first out but 25 after the last: still the same person at the gate.
        ['2026-03-02 17:45', 'out'],
      ]),
    ).toMatchObject({ hours: 9, anomalies: [] });
    expect(
      oneDay('2026-03-02', [
        ['2026-03-02 08:00', 'in'],
        ['2026-03-02 12:00', 'out'],
        ['2026-03-02 12:31', 'out'],
      ]),
    ).toMatchObject({ hours: 4, anomalies: ['missingIn'] });
    expect(oneDay('2026-03-02', [['2026-03-02 17:00', 'out']])).toMatchObject({
      hours: 0,
      present: true,
      anomalies: ['missingIn'],
      lastOutMs: at('2026-03-02 17:00'),
    });
  });

  it('repeated in taps are ignored: the stay counts from the first', () => {
    expect(
      oneDay('2026-03-02', [
        ['2026-03-02 07:00', 'in'],
        ['2026-03-02 07:01', 'in'],
        ['2026-03-02 09:00', 'in'],
        ['2026-03-02 15:00', 'out'],
      ]),
    ).toMatchObject({ hours: 8, anomalies: [] });
  });

  it('a punch with no direction makes the day present and nothing else', () => {
    expect(oneDay('2026-03-02', [['2026-03-02 10:00', 'other']])).toMatchObject({
      hours: 0,
      present: true,
      anomalies: [],
    });
    expect(
      oneDay('2026-03-02', [
        ['2026-03-02 08:00', 'in'],
        ['2026-03-02 10:00', 'other'],
        ['2026-03-02 16:00', 'out'],
      ]),
    ).toMatchObject({ hours: 8, anomalies: [] });
    expect(oneDay('2026-03-02', [])).toMatchObject({ hours: 0, present: false, anomalies: [] });
  });

  it('writes hours with one decimal', () => {
    expect(
      oneDay('2026-03-02', [
        ['2026-03-02 08:00', 'in'],
        ['2026-03-02 16:20', 'out'],
      ]).hours,
    ).toBe(8.3);
    expect(
      oneDay('2026-03-02', [
        ['2026-03-02 08:00', 'in'],
        ['2026-03-02 15:57', 'out'],
      ]).hours,
    ).toBe(8);
    expect(roundHours(3 * 360_000)).toBe(0.3);
    expect(totalHours([{ hours: 0.1 }, { hours: 0.2 }] as AttendanceDay[])).toBe(0.3);
  });
});

describe('night shifts', () => {
  it('a stay open at midnight is closed by the next morning’s out within 14 h; hours to the day of the in', () => {
    const grid = dayGrid(SHANGHAI, '2026-03-02', 2);
    const days = countDays(
      punches([
        ['2026-03-02 22:00', 'in'],
        ['2026-03-03 06:00', 'out'],
      ]),
      grid,
      RULES,
    );
    expect(shown(days)).toEqual([
      { date: '2026-03-02', hours: 8, present: true, anomalies: [] },
      { date: '2026-03-03', hours: 0, present: true, anomalies: [] },
    ]);
    expect(days[0]!.lastOutMs).toBe(at('2026-03-03 06:00'));
    // The daily view of the in's day reads the next morning too, and says the same.
    expect(
      oneDay('2026-03-02', [
        ['2026-03-02 22:00', 'in'],
        ['2026-03-03 06:00', 'out'],
      ]),
    ).toMatchObject({ hours: 8, anomalies: [] });
  });

  it('an out past the window leaves "missing out" on the in’s day and "missing in" on its own', () => {
    const days = countDays(
      punches([
        ['2026-03-02 10:00', 'in'],
        ['2026-03-03 00:30', 'out'],
      ]),
      dayGrid(SHANGHAI, '2026-03-02', 2),
      RULES,
    );
    expect(shown(days)).toEqual([
      { date: '2026-03-02', hours: 0, present: true, anomalies: ['missingOut'] },
      { date: '2026-03-03', hours: 0, present: true, anomalies: ['missingIn'] },
    ]);
    // The same punches with a 16 h window: one shift of 14.5 h.
    const wide = countDays(
      punches([
        ['2026-03-02 10:00', 'in'],
        ['2026-03-03 00:30', 'out'],
      ]),
      dayGrid(SHANGHAI, '2026-03-02', 2),
      { nightShiftHours: 16 },
    );
    expect(shown(wide).map((d) => [d.hours, d.anomalies])).toEqual([
      [14.5, []],
      [0, []],
    ]);
  });

  it('only the next day’s first punch may close the stay: an in, or a punch with no direction, leaves it open', () => {
    const days = countDays(
      punches([
        ['2026-03-02 20:00', 'in'],
        ['2026-03-03 05:00', 'in'],
        ['2026-03-03 13:00', 'out'],
        ['2026-03-03 21:00', 'in'],
        ['2026-03-04 01:00', 'other'],
        ['2026-03-04 02:00', 'out'],
      ]),
      dayGrid(SHANGHAI, '2026-03-02', 3),
      RULES,
    );
    expect(shown(days)).toEqual([
      { date: '2026-03-02', hours: 0, present: true, anomalies: ['missingOut'] },
      { date: '2026-03-03', hours: 8, present: true, anomalies: ['missingOut'] },
      { date: '2026-03-04', hours: 0, present: true, anomalies: ['missingIn'] },
    ]);
  });

  it('a day with no punch between the in and the out breaks the stay', () => {
    const days = countDays(
      punches([
        ['2026-03-02 23:00', 'in'],
        ['2026-03-04 01:00', 'out'],
      ]),
      dayGrid(SHANGHAI, '2026-03-02', 3),
      { nightShiftHours: 24 },
    );
    expect(days.map((d) => d.anomalies)).toEqual([['missingOut'], [], ['missingIn']]);
  });

  it('a stay whose window is still ahead of the report’s time is open, not "missing out"', () => {
    const list = punches([['2026-03-02 08:00', 'in']]);
    const grid = dayGrid(SHANGHAI, '2026-03-02', 1);
    expect(countDays(list, grid, { ...RULES, nowMs: at('2026-03-02 12:00') })[0]).toMatchObject({
      hours: 0,
      anomalies: [],
      open: true,
    });
    expect(countDays(list, grid, { ...RULES, nowMs: at('2026-03-02 22:01') })[0]).toMatchObject({
      anomalies: ['missingOut'],
      open: false,
    });
  });
});

describe('month ends', () => {
  const acrossMonths = punches([
    ['2026-03-31 22:00', 'in'],
    ['2026-04-01 06:30', 'out'],
    ['2026-04-01 08:00', 'in'],
    ['2026-04-01 16:00', 'out'],
  ]);

  it('a night shift on the last day of the month reads the next month’s first morning', () => {
    const march = monthDays('2026-03')!;
    const grid = dayGrid(SHANGHAI, march.firstDate, march.days);
    expect(grid.dates).toHaveLength(31);
    const days = countDays(acrossMonths, grid, RULES);
    expect(days.at(-1)).toMatchObject({ date: '2026-03-31', hours: 8.5, anomalies: [] });
    expect(totalHours(days)).toBe(8.5);
  });

  it('the next month’s sheet reads the last day before it: its first morning out is no "missing in"', () => {
    const april = monthDays('2026-04')!;
    const days = countDays(acrossMonths, dayGrid(SHANGHAI, april.firstDate, april.days), RULES);
    expect(days).toHaveLength(30);
    expect(days[0]).toMatchObject({ date: '2026-04-01', hours: 8, present: true, anomalies: [] });
    expect(totalHours(days)).toBe(8);
  });

  it('knows the months: 28, 29, 30 or 31 days; anything else is refused', () => {
    expect(monthDays('2026-02')).toEqual({ firstDate: '2026-02-01', days: 28 });
    expect(monthDays('2028-02')?.days).toBe(29);
    expect(monthDays('2026-04')?.days).toBe(30);
    expect(monthDays('2026-12')?.days).toBe(31);
    for (const bad of ['2026-13', '2026-00', '2026-3', '26-03', '2026-03-01', 'march', '1999-12'])
      expect(monthDays(bad), bad).toBeUndefined();
  });
});

describe('time zones', () => {
  it('counts the site’s days, not UTC days (Asia/Shanghai, no daylight saving)', () => {
    // 07:00 in Shanghai is 23:00 UTC the day before.
    const days = countDays(
      punches([
        ['2026-03-03 07:00', 'in'],
        ['2026-03-03 15:00', 'out'],
      ]),
      dayGrid(SHANGHAI, '2026-03-02', 2),
      RULES,
    );
    expect(shown(days).map((d) => [d.date, d.hours, d.present])).toEqual([
      ['2026-03-02', 0, false],
      ['2026-03-03', 8, true],
    ]);
    const grid = dayGrid(SHANGHAI, '2026-03-01', 31);
    for (let i = 1; i < grid.bounds.length; i++)
      expect(grid.bounds[i]! - grid.bounds[i - 1]!).toBe(86_400_000);
  });

  it('Europe/Berlin: a 23 h day, and a night shift across the spring-forward hour is 7 h, not 8', () => {
    const march = monthDays('2026-03')!;
    const grid = dayGrid(BERLIN, march.firstDate, march.days);
    const i29 = grid.dates.indexOf('2026-03-29') + 1;
    expect(grid.bounds[i29 + 1]! - grid.bounds[i29]!).toBe(23 * 3_600_000);
    const days = countDays(
      punches(
        [
          ['2026-03-28 22:00', 'in'],
          ['2026-03-29 06:00', 'out'],
          ['2026-03-29 23:30', 'in'],
          ['2026-03-30 00:30', 'out'],
        ],
        BERLIN,
      ),
      grid,
      RULES,
    );
    expect(days[27]).toMatchObject({ date: '2026-03-28', hours: 7, anomalies: [] });
    expect(days[28]).toMatchObject({ date: '2026-03-29', hours: 1, anomalies: [] });
    // In Shanghai's days the same instants fall elsewhere: 22:00 Berlin is 05:00 the next day there.
    const there = countDays(
      punches(
        [
          ['2026-03-28 22:00', 'in'],
          ['2026-03-29 06:00', 'out'],
        ],
        BERLIN,
      ),
      dayGrid(SHANGHAI, march.firstDate, march.days),
      RULES,
    );
    expect(there[28]).toMatchObject({ date: '2026-03-29', hours: 7, anomalies: [] });
    expect(there[27]!.present).toBe(false);
  });
});

/** Random punches of one worker over a few days of March, in time order. */
const punchList = fc
  .array(
    fc.record({
      minute: fc.integer({ min: 0, max: 6 * 24 * 60 - 1 }),
      direction: fc.constantFrom<SheetDirection>('in', 'in', 'out', 'out', 'other'),
    }),
    { maxLength: 40 },
  )
  .map((rows) =>
    rows
      .map((r) => ({ atMs: at('2026-03-01 00:00') - 86_400_000 + r.minute * 60_000, direction: r.direction }))
      .sort((a, b) => a.atMs - b.atMs),
  );

describe('properties', () => {
  it('every view agrees: a day counted alone is that day of the month (the day before and after read)', () => {
    fc.assert(
      fc.property(punchList, fc.integer({ min: 1, max: 24 }), (list, nightShiftHours) => {
        const rules = { nightShiftHours };
        const month = countDays(list, dayGrid(SHANGHAI, '2026-03-01', 4), rules);
        for (const day of month) {
          expect(countDays(list, dayGrid(SHANGHAI, day.date, 1), rules)[0]).toEqual(day);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('hours are never negative, at most a day and the window, and add up; present is "has a punch"', () => {
    fc.assert(
      fc.property(punchList, (list) => {
        const grid = dayGrid(SHANGHAI, '2026-03-01', 4);
        const days = countDays(list, grid, RULES);
        days.forEach((d, i) => {
          expect(d.hours).toBeGreaterThanOrEqual(0);
          expect(d.hours).toBeLessThanOrEqual(24 + 14);
          expect(Math.round(d.hours * 10)).toBe(d.hours * 10);
          const has = list.some((p) => p.atMs >= grid.bounds[i + 1]! && p.atMs < grid.bounds[i + 2]!);
          expect(d.present).toBe(has);
          if (!has) expect(d.anomalies).toEqual([]);
        });
        expect(totalHours(days)).toBe(Math.round(days.reduce((s, d) => s + d.hours, 0) * 10) / 10);
      }),
      { numRuns: 300 },
    );
  });

  it('well-formed stays within a day count their exact length with no anomaly, whatever repeated taps come with them', () => {
    const stays = fc
      .uniqueArray(fc.integer({ min: 1, max: 23 * 60 }), { minLength: 0, maxLength: 12 })
      .map((minutes) => [...minutes].sort((a, b) => a - b))
      .filter((m) => m.length % 2 === 0);
    fc.assert(
      fc.property(stays, fc.boolean(), (minutes, doubleTaps) => {
        const base = at('2026-03-02 00:00');
        const list: SheetPunch[] = [];
        let expectedMs = 0;
        for (let i = 0; i < minutes.length; i += 2) {
          const inAt = base + minutes[i]! * 60_000;
          const outAt = base + minutes[i + 1]! * 60_000;
          expectedMs += outAt - inAt;
          list.push({ atMs: inAt, direction: 'in' });
          if (doubleTaps && outAt - inAt > 1000) list.push({ atMs: inAt + 500, direction: 'in' });
          list.push({ atMs: outAt, direction: 'out' });
        }
        const day = countDays(list, dayGrid(SHANGHAI, '2026-03-02', 1), RULES)[0]!;
        expect(day.anomalies).toEqual([]);
        expect(day.hours).toBe(roundHours(expectedMs));
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * How a worker's day is counted for the attendance sheet (考勤表), issue 18, the same in every view
 * and every file. Pure: punches and day boundaries in, one result per day out; no clock, no store.
 *
 * - Days are the site's days (boundaries from `dayGrid`, in the site's zone, so a DST day is 23 or 25 h).
 * - In time order: an `in` opens a stay if none is open (else it is a repeated tap, ignored); an `out`
 *   closes the open stay and adds its length; an `out` with no open stay is a repeated tap within
 *   `REPEATED_OUT_MS` of the last `out`, else the anomaly "missing in". Any other punch only makes
 *   the day present.
 * - A stay still open at midnight is closed by the worker's first punch of the next day if that is
 *   an `out` within `nightShiftHours` of the `in`; the hours count to the day of the `in`. Otherwise
 *   that day has the anomaly "missing out" and the stay counts 0.
 * - Hours have one decimal; a day is present when it has any punch.
 */
import { DateTime } from 'luxon';

/** A punch's direction as the sheet reads it: anything not `in` or `out` only marks the day present. */
export type SheetDirection = 'in' | 'out' | 'other';

export interface SheetPunch {
  readonly atMs: number;
  readonly direction: SheetDirection;
}

/** 缺进场卡 (an `out` with nothing to close) and 缺出场卡 (a stay nothing closed). */
export type AttendanceAnomaly = 'missingIn' | 'missingOut';

export interface AttendanceDay {
  /** The site-local date, `YYYY-MM-DD`. */
  readonly date: string;
  /** Hours of closed stays that began this day, one decimal. */
  readonly hours: number;
  readonly present: boolean;
  readonly anomalies: readonly AttendanceAnomaly[];
  /** The day's first `in`. */
  readonly firstInMs?: number;
  /** The `out` that closed the day's last counted stay (the next morning for a night shift), or an unpaired `out`. */
  readonly lastOutMs?: number;
  /**
   * A stay that nothing has closed yet while its night-shift window is still ahead of the report's
   * time: the worker may simply still be inside, so it is not (yet) "missing out".
   */
  readonly open: boolean;
}

export interface CountingRules {
  /** `reports.nightShiftHours`: how long after its `in` the next day's first punch may close a stay. */
  readonly nightShiftHours: number;
  /**
   * The report's time: a stay whose window ends after it is `open` rather than "missing out" (a
   * worker inside right now). Omitted: every window has passed.
   */
  readonly nowMs?: number;
}

/** An `out` this soon after the last `out`, with no stay open, is the same person tapping twice. */
export const REPEATED_OUT_MS = 30 * 60_000;
const HOUR_MS = 3_600_000;

/**
 * The days to count and the punches to read for them. `bounds` are day starts in the site's zone:
 * the day before the first (a stay open at its midnight may close on the first morning), every
 * counted day, and the day after the last (its first morning may close the last night's stay), then
 * the end of that day. Read punches in [`bounds[0]`, `bounds.at(-1)`).
 */
export interface DayGrid {
  readonly timezone: string;
  readonly dates: readonly string[];
  readonly bounds: readonly number[];
}

/** Grids made so far (a month's is ≈ 3 ms of luxon, and every sheet of it asks again); pure, so kept. */
const grids = new Map<string, DayGrid>();
const GRIDS_KEPT = 256;

/** `days` site-local days from `firstDate` (`YYYY-MM-DD`). Throws RangeError for a date or zone luxon refuses. */
export function dayGrid(timezone: string, firstDate: string, days: number): DayGrid {
  const key = `${timezone}|${firstDate}|${days}`;
  let grid = grids.get(key);
  if (!grid) {
    grid = makeDayGrid(timezone, firstDate, days);
    if (grids.size >= GRIDS_KEPT) grids.clear();
    grids.set(key, grid);
  }
  return grid;
}

function makeDayGrid(timezone: string, firstDate: string, days: number): DayGrid {
  const first = DateTime.fromISO(firstDate, { zone: timezone });
  if (!first.isValid) throw new RangeError(`${firstDate} in ${timezone}: ${first.invalidExplanation}`);
  const start = first.startOf('day');
  const bounds: number[] = [];
  // startOf('day') after plus: a zone whose clocks skip midnight starts the day at the first real minute.
  for (let i = -1; i <= days + 1; i++) bounds.push(start.plus({ days: i }).startOf('day').toMillis());
  const dates: string[] = [];
  for (let i = 0; i < days; i++) dates.push(start.plus({ days: i }).toISODate()!);
  return Object.freeze({ timezone, dates: Object.freeze(dates), bounds: Object.freeze(bounds) });
}

/** The first day of a `YYYY-MM` month and its number of days, or undefined for anything else. */
export function monthDays(month: string): { firstDate: string; days: number } | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) return undefined;
  const at = DateTime.fromObject({ year: Number(m[1]), month: Number(m[2]), day: 1 }, { zone: 'UTC' });
  if (!at.isValid || at.year < 2000 || at.year > 2999) return undefined;
  return { firstDate: `${month}-01`, days: at.daysInMonth! };
}

interface DayState {
  ms: number;
  present: boolean;
  missingIn: boolean;
  missingOut: boolean;
  open: boolean;
  firstInMs: number | undefined;
  lastOutMs: number | undefined;
}

function emptyDay(): DayState {
  return {
    ms: 0,
    present: false,
    missingIn: false,
    missingOut: false,
    open: false,
    firstInMs: undefined,
    lastOutMs: undefined,
  };
}

/** Hours of `ms` with one decimal. */
export function roundHours(ms: number): number {
  return Math.round(ms / (HOUR_MS / 10)) / 10;
}

/** The sum of days' hours as shown (one decimal each), without floating-point dust. */
export function totalHours(days: readonly AttendanceDay[]): number {
  let tenths = 0;
  for (const d of days) tenths += Math.round(d.hours * 10);
  return tenths / 10;
}

/**
 * Counts one worker's days of `grid`. `punches` are that worker's punches in
 * [`grid.bounds[0]`, `grid.bounds.at(-1)`) in time order (the store's order: time, then journal
 * order); any outside that range are ignored. Returns one result per `grid.dates` entry.
 */
export function countDays(
  punches: readonly SheetPunch[],
  grid: DayGrid,
  rules: CountingRules,
): AttendanceDay[] {
  const { bounds } = grid;
  // Internal days: 0 is the day before, 1…n the counted days, n+1 the day after.
  const total = bounds.length - 1;
  const days = Array.from({ length: total }, emptyDay);
  const windowMs = rules.nightShiftHours * HOUR_MS;
  let openAt: number | undefined;
  let openDay = -1;
  let lastOut: number | undefined;
  let day = 0;

  for (const punch of punches) {
    const at = punch.atMs;
    if (at < bounds[0]! || at >= bounds[total]!) continue;
    while (at >= bounds[day + 1]!) day++;
    const today = days[day]!;
    today.present = true;

    if (openAt !== undefined && openDay < day) {
      // A stay from an earlier day: only this day's first punch, an `out` in the window, may close it.
      const closes = openDay === day - 1 && punch.direction === 'out' && at - openAt <= windowMs;
      const from = days[openDay]!;
      if (closes) {
        from.ms += at - openAt;
        from.lastOutMs = at;
        lastOut = at;
        openAt = undefined;
        continue;
      }
      from.missingOut = true;
      openAt = undefined;
    }

    if (punch.direction === 'in') {
      if (today.firstInMs === undefined) today.firstInMs = at;
      if (openAt === undefined) {
        openAt = at;
        openDay = day;
      }
    } else if (punch.direction === 'out') {
      if (openAt !== undefined) {
        today.ms += at - openAt;
        today.lastOutMs = at;
        openAt = undefined;
      } else if (lastOut === undefined || at - lastOut > REPEATED_OUT_MS) {
        today.missingIn = true;
        today.lastOutMs = at;
      }
      lastOut = at;
    }
  }
  if (openAt !== undefined) {
    const from = days[openDay]!;
    if (rules.nowMs !== undefined && rules.nowMs < openAt + windowMs) from.open = true;
    // The day after was read: nothing in it closed the stay (the last internal day is never reported).
    else from.missingOut = true;
  }

  return grid.dates.map((date, i) => {
    const d = days[i + 1]!;
    const anomalies: AttendanceAnomaly[] = [];
    if (d.missingIn) anomalies.push('missingIn');
    if (d.missingOut) anomalies.push('missingOut');
    return {
      date,
      hours: roundHours(d.ms),
      present: d.present,
      anomalies,
      firstInMs: d.firstInMs,
      lastOutMs: d.lastOutMs,
      open: d.open,
    };
  });
}

/**
 * The attendance sheet's data (issue 18): a month or a day, a row per worker, grouped by team, with
 * each day counted by `day-count.ts`. It reads the query store a chunk of workers at a time (one
 * indexed range per worker, `punch_worker`) and yields to the event loop between chunks, so a month
 * of 5,000 workers never sits in memory whole and ZK links sharing the loop keep their answer windows.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ClockSource } from '../model';
import {
  type AttendanceDay,
  countDays,
  type DayGrid,
  dayGrid,
  monthDays,
  type SheetPunch,
  totalHours,
} from './day-count';

/** What the sheet reads of the query store (`QueryStore` has it). */
export interface AttendancePunchSource {
  /** Caught up with the journal at least once (before that, the sheet may miss punches). */
  readonly isReady: boolean;
  /** Ids of the workers with a punch in [fromMs, toMs), a chunk at a time. */
  workersWithPunches(fromMs: number, toMs: number): Iterable<readonly string[]>;
  /** These workers' punches in [fromMs, toMs): by worker, then time, then journal order; `out` is 1 for an exit. */
  punchesOfWorkers(
    workerIds: readonly string[],
    fromMs: number,
    toMs: number,
  ): ReadonlyArray<readonly [workerId: string, atMs: number, out: number]>;
}

/** What the sheet reads of a roster worker. */
export interface SheetWorker {
  readonly id: string;
  readonly pin: string;
  readonly name: string;
  readonly status: 'active' | 'removed';
  readonly team?: string;
  readonly employer?: string;
  readonly identities: { readonly idCardNo?: string };
}

export interface AttendanceReportsDeps {
  readonly punches: AttendancePunchSource;
  readonly workers: { list(): readonly SheetWorker[]; get(id: string): SheetWorker | undefined };
  /** `site.timezone`: the sheet's days are the site's. */
  readonly timezone: string;
  /** `reports.nightShiftHours`. */
  readonly nightShiftHours: number;
  readonly clock: ClockSource;
}

/** Rows whose worker has exactly this team / employer ('' = none); absent keeps everyone. */
export interface SheetFilter {
  readonly team?: string;
  readonly employer?: string;
}

export interface AttendanceRow {
  readonly workerId: string;
  readonly name: string;
  readonly pin: string;
  readonly idCardNo?: string;
  /** '' when the roster gives none. */
  readonly team: string;
  readonly employer: string;
  readonly days: readonly AttendanceDay[];
  readonly daysPresent: number;
  readonly totalHours: number;
}

export interface AttendanceSheet {
  /** `YYYY-MM` of a monthly sheet, `YYYY-MM-DD` of a daily one. */
  readonly period: string;
  readonly dates: readonly string[];
  /** How many rows `rows()` yields. */
  readonly workerCount: number;
  /** The teams in the order `rows()` gives them ('' = no team), with their rows. */
  readonly teams: ReadonlyArray<{ readonly team: string; readonly workers: number }>;
  /** False while the query store is still being built: rows may lack punches. */
  readonly complete: boolean;
  /** Grouped by team (teams in collation order, no team last), then name and PIN. */
  rows(): AsyncGenerator<AttendanceRow>;
}

/** What the page and the API use of the sheets (`AttendanceReports`). */
export interface AttendanceSheets {
  /** Throws `SheetPeriodError` for a month that is not `YYYY-MM`. */
  monthly(month: string, filter?: SheetFilter): AttendanceSheet;
  /** Throws `SheetPeriodError` for a date that is not `YYYY-MM-DD`. */
  daily(date: string, filter?: SheetFilter): AttendanceSheet;
  groups(): { teams: string[]; employers: string[] };
}

/** Workers per store query: measured ≤ 10 ms a chunk with 5,000 workers (docs/reports.md). */
const CHUNK_WORKERS = 100;
const collator = new Intl.Collator('zh-CN', { numeric: true });

/** A period the sheet cannot count (the message names the parameter and the form it needs). */
export class SheetPeriodError extends Error {}

/**
 * The attendance sheets, a part of its own: the page, the JSON API and the xlsx files all read the
 * same rows from here, so a day counts the same everywhere. No I/O of its own beyond the store's
 * queries, so it has no start or stop.
 */
export class AttendanceReports implements AttendanceSheets {
  constructor(private readonly deps: AttendanceReportsDeps) {}

  /** A row for every worker with a punch in the month and every active roster worker. */
  monthly(month: string, filter: SheetFilter = {}): AttendanceSheet {
    const period = monthDays(month);
    if (!period) throw new SheetPeriodError(`month: expected YYYY-MM (e.g. 2026-03), got "${month}"`);
    const grid = dayGrid(this.deps.timezone, period.firstDate, period.days);
    return this.sheet(month, grid, filter, true);
  }

  /** A row for every worker with a punch that day. */
  daily(date: string, filter: SheetFilter = {}): AttendanceSheet {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
      throw new SheetPeriodError(`date: expected YYYY-MM-DD (e.g. 2026-03-15), got "${date}"`);
    }
    let grid: DayGrid;
    try {
      grid = dayGrid(this.deps.timezone, date, 1);
    } catch {
      throw new SheetPeriodError(`date: ${date} is not a calendar date`);
    }
    const year = Number(date.slice(0, 4));
    if (year < 2000 || year > 2999) throw new SheetPeriodError(`date: ${date} is out of range`);
    return this.sheet(date, grid, filter, false);
  }

  /** The teams and employers the roster uses, for the filters. */
  groups(): { teams: string[]; employers: string[] } {
    const teams = new Set<string>();
    const employers = new Set<string>();
    for (const w of this.deps.workers.list()) {
      if (w.team) teams.add(w.team);
      if (w.employer) employers.add(w.employer);
    }
    return { teams: [...teams].sort(collator.compare), employers: [...employers].sort(collator.compare) };
  }

  private sheet(period: string, grid: DayGrid, filter: SheetFilter, withRoster: boolean): AttendanceSheet {
    const { punches, workers, nightShiftHours, clock } = this.deps;
    const { bounds } = grid;
    const ids = new Set<string>();
    // Counted days only: a worker whose one punch is the next month's first morning is not in this month.
    for (const chunk of punches.workersWithPunches(bounds[1]!, bounds.at(-2)!))
      for (const id of chunk) ids.add(id);
    if (withRoster) for (const w of workers.list()) if (w.status === 'active') ids.add(w.id);
    const people: SheetWorker[] = [];
    for (const id of ids) {
      const worker = workers.get(id) ?? { id, pin: '', name: id, status: 'removed', identities: {} };
      if (filter.team !== undefined && (worker.team ?? '') !== filter.team) continue;
      if (filter.employer !== undefined && (worker.employer ?? '') !== filter.employer) continue;
      people.push(worker);
    }
    people.sort(bySheetOrder);
    const teams: Array<{ team: string; workers: number }> = [];
    for (const w of people) {
      const team = w.team ?? '';
      const last = teams.at(-1);
      if (last?.team === team) last.workers++;
      else teams.push({ team, workers: 1 });
    }
    const rules = { nightShiftHours, nowMs: clock.now() };
    const complete = punches.isReady;
    return {
      period,
      dates: grid.dates,
      workerCount: people.length,
      teams,
      complete,
      async *rows() {
        for (let i = 0; i < people.length; i += CHUNK_WORKERS) {
          if (i > 0) await yieldToLoop();
          const chunk = people.slice(i, i + CHUNK_WORKERS);
          const byWorker = new Map<string, SheetPunch[]>();
          for (const [id, atMs, out] of punches.punchesOfWorkers(
            chunk.map((w) => w.id),
            bounds[0]!,
            bounds.at(-1)!,
          )) {
            const list = byWorker.get(id);
            const punch: SheetPunch = { atMs, direction: out ? 'out' : 'in' };
            if (list) list.push(punch);
            else byWorker.set(id, [punch]);
          }
          for (const worker of chunk) {
            const days = countDays(byWorker.get(worker.id) ?? [], grid, rules);
            yield {
              workerId: worker.id,
              name: worker.name,
              pin: worker.pin,
              idCardNo: worker.identities.idCardNo,
              team: worker.team ?? '',
              employer: worker.employer ?? '',
              days,
              daysPresent: days.filter((d) => d.present).length,
              totalHours: totalHours(days),
            };
          }
        }
      },
    };
  }
}

/** Teams in collation order with no team last, then name, then PIN. */
function bySheetOrder(a: SheetWorker, b: SheetWorker): number {
  const ta = a.team ?? '';
  const tb = b.team ?? '';
  if (ta !== tb) {
    if (!ta) return 1;
    if (!tb) return -1;
    return collator.compare(ta, tb);
  }
  return collator.compare(a.name, b.name) || collator.compare(a.pin, b.pin) || (a.id < b.id ? -1 : 1);
}

/** An ID number as the sheet shows it: the first 6 and last 4 characters (510104********1234). */
export function maskIdNumber(id: string | undefined): string {
  if (!id) return '';
  return id.length > 10
    ? `${id.slice(0, 6)}${'*'.repeat(id.length - 10)}${id.slice(-4)}`
    : '*'.repeat(id.length);
}

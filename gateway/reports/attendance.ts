/**
 * The attendance sheet's data (issue 18): a month or a day, a row per worker, grouped by team, with
 * each day counted by `day-count.ts`. Settled days come from the cache of counted days
 * (`day-cache.ts`, kept in the query store's file and filled in the background); the days it does
 * not hold yet, and workers with punches it has not counted yet, are counted from the punches. It
 * reads a chunk of workers at a time and yields to the event loop between chunks, so a month of
 * 5,000 workers never sits in memory whole and ZK links sharing the loop keep their answer windows.
 */
import { loopShare } from '../../lib/loop-share';
import type { EventBus } from '../events';
import type { ClockSource, Logger } from '../model';
import { DayCache, type DaySummaryStore, subGrid } from './day-cache';
import {
  type AttendanceDay,
  type CountingRules,
  countDays,
  type DayGrid,
  dayGrid,
  monthDays,
  type SheetPunch,
  totalHours,
} from './day-count';
import { ExportLane } from './export-lane';
import { RecentDays } from './recent-days';

/** What the sheet reads of the query store (`QueryStore` has it). */
export interface AttendancePunchSource {
  /** Caught up with the journal at least once (before that, the sheet may miss punches). */
  readonly isReady: boolean;
  /** The seq of the last punch the store holds (a day's punches are kept while nothing lands in them). */
  readonly lastSeq: number;
  /** Queries that failed so far (they answer empty): such a read is not kept. */
  readonly failedQueries: number;
  /**
   * Every worker's punches in [fromMs, toMs) by worker id, each worker's as [at_ms, 1 for out, at_ms,
   * …] in time then journal order.
   */
  punchesByWorkerOverTime(fromMs: number, toMs: number): ReadonlyMap<string, readonly number[]>;
  /** Which of these workers have a punch in [fromMs, toMs). */
  workersPunchingAmong(ids: readonly string[], fromMs: number, toMs: number): readonly string[];
  /** Ids with punches that the roster does not list. */
  unlistedWorkers(): readonly string[];
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
  /** The query store: its punches, and the cache of counted days in its file. */
  readonly punches: AttendancePunchSource & DaySummaryStore;
  readonly workers: { list(): readonly SheetWorker[]; get(id: string): SheetWorker | undefined };
  /** `site.timezone`: the sheet's days are the site's. */
  readonly timezone: string;
  /** `reports.nightShiftHours`. */
  readonly nightShiftHours: number;
  readonly clock: ClockSource;
  /** 'punches.journaled': new punches make cached days stale. */
  readonly bus: EventBus;
  readonly logger: Logger;
  /** Told when whole-site documents are being written and when none is (`DocumentHeap`). */
  readonly documentsHeap?: { busy(): void; idle(): void };
  /** The cache's timings (tests): see `DayCacheDeps`. */
  readonly cache?: { readonly startDelayMs?: number; readonly debounceMs?: number };
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
  /** One per date; a monthly sheet's have no `firstInMs`/`lastOutMs` (only the daily sheet shows them). */
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
  /**
   * Grouped by team (teams in collation order, no team last), then name and PIN; `range`: only the
   * rows [offset, offset + limit) of that order (a page). `document`: a whole-site file or view,
   * written a chunk of workers at a time, in line with every other one (`ExportLane`).
   */
  rows(range?: SheetRange, options?: { readonly document?: boolean }): AsyncGenerator<AttendanceRow>;
}

export interface SheetRange {
  readonly offset: number;
  readonly limit: number;
}

/** What the page and the API use of the sheets (`AttendanceReports`). */
export interface AttendanceSheets {
  /** Rejects with `SheetPeriodError` for a month that is not `YYYY-MM`. */
  monthly(month: string, filter?: SheetFilter): Promise<AttendanceSheet>;
  /** Rejects with `SheetPeriodError` for a date that is not `YYYY-MM-DD`. */
  daily(date: string, filter?: SheetFilter): Promise<AttendanceSheet>;
  groups(): { teams: string[]; employers: string[] };
}

/** Workers per store query: measured ≤ 10 ms a chunk with 5,000 workers (docs/reports.md). */
const CHUNK_WORKERS = 100;
/** A sheet read for a page or a day's JSON gives the loop back after this long (its reader's work counted). */
const YIELD_AFTER_MS = 10;
/** Workers probed for a punch in the month between two looks at the loop's share. */
const PROBE_CHUNK = 200;
const collator = new Intl.Collator('zh-CN', { numeric: true });

/** A period the sheet cannot count (the message names the parameter and the form it needs). */
export class SheetPeriodError extends Error {}

/**
 * The attendance sheets, a part of its own: the page, the JSON API and the xlsx files all read the
 * same rows from here, so a day counts the same everywhere. `start()` begins filling the cache of
 * counted days in the background; `stop()` ends it at a step boundary.
 */
export class AttendanceReports implements AttendanceSheets {
  private readonly cache: DayCache;
  private readonly lane: ExportLane;
  private readonly recentDays: RecentDays;
  /** The roster in the sheet's order, and the teams and employers, while the roster is unchanged (kept once started). */
  private order: SheetWorker[] | undefined;
  private groupsOf: { teams: string[]; employers: string[] } | undefined;
  private started = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: AttendanceReportsDeps) {
    this.lane = new ExportLane(deps.documentsHeap);
    this.recentDays = new RecentDays(deps.punches, () => deps.clock.now());
    this.cache = new DayCache({
      store: deps.punches,
      bus: deps.bus,
      timezone: deps.timezone,
      nightShiftHours: deps.nightShiftHours,
      clock: deps.clock,
      logger: deps.logger,
      startDelayMs: deps.cache?.startDelayMs,
      debounceMs: deps.cache?.debounceMs,
    });
  }

  start(): void {
    this.started = true;
    this.unsubscribe = this.deps.bus.on('roster.changed', () => {
      this.order = undefined;
      this.groupsOf = undefined;
    });
    this.cache.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.unsubscribe?.();
    this.order = undefined;
    this.groupsOf = undefined;
    this.recentDays.clear();
    await this.cache.stop();
  }

  /** Resolves once the cache holds every settled day in retention (tests, benchmarks). */
  whenCacheFilled(): Promise<void> {
    return this.cache.whenFilled();
  }

  /** Whether the cache holds every settled day in retention, as of every punch the store holds. */
  get cacheFilled(): boolean {
    return this.cache.isFilled;
  }

  /** A row for every worker with a punch in the month and every active roster worker. */
  async monthly(month: string, filter: SheetFilter = {}): Promise<AttendanceSheet> {
    const period = monthDays(month);
    if (!period) throw new SheetPeriodError(`month: expected YYYY-MM (e.g. 2026-03), got "${month}"`);
    const grid = dayGrid(this.deps.timezone, period.firstDate, period.days);
    return this.sheet(month, grid, filter, true);
  }

  /** A row for every worker with a punch that day. */
  async daily(date: string, filter: SheetFilter = {}): Promise<AttendanceSheet> {
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
    if (this.groupsOf) return this.groupsOf;
    const teams = new Set<string>();
    const employers = new Set<string>();
    for (const w of this.deps.workers.list()) {
      if (w.team) teams.add(w.team);
      if (w.employer) employers.add(w.employer);
    }
    const groups = {
      teams: [...teams].sort(collator.compare),
      employers: [...employers].sort(collator.compare),
    };
    if (this.started) this.groupsOf = groups;
    return groups;
  }

  /**
   * A month's workers: every active roster worker and whoever else has a punch in it (removed
   * workers and ids the roster lost: a probe each, not one per worker on the site).
   */
  private async monthWorkers(fromMs: number, toMs: number, share: () => Promise<void>): Promise<Set<string>> {
    const { punches, workers } = this.deps;
    const ids = new Set<string>();
    const others: string[] = [...punches.unlistedWorkers()];
    for (const w of workers.list()) {
      if (w.status === 'active') ids.add(w.id);
      else others.push(w.id);
    }
    for (let i = 0; i < others.length; i += PROBE_CHUNK) {
      await share();
      for (const id of punches.workersPunchingAmong(others.slice(i, i + PROBE_CHUNK), fromMs, toMs))
        ids.add(id);
    }
    return ids;
  }

  /**
   * Teams in collation order with no team last, then name, then PIN: the roster in that order is
   * worked out once per roster change (5,000 names take ≈ 15 ms to compare) and the sheet's workers
   * are picked from it in one pass (a sort by place took another 12 ms); ids the roster does not
   * list are compared by name and merged in.
   */
  private inSheetOrder(people: readonly SheetWorker[]): SheetWorker[] {
    let order = this.order;
    if (!order) {
      order = [...this.deps.workers.list()].sort(bySheetOrder);
      if (this.started) this.order = order;
    }
    const wanted = new Set(people.map((w) => w.id));
    const listed = order.filter((w) => wanted.has(w.id));
    if (listed.length === people.length) return listed;
    const known = new Set(listed.map((w) => w.id));
    const others = people.filter((w) => !known.has(w.id)).sort(bySheetOrder);
    return mergeSorted(listed, others);
  }

  private async sheet(
    period: string,
    grid: DayGrid,
    filter: SheetFilter,
    monthly: boolean,
  ): Promise<AttendanceSheet> {
    const { punches, workers, nightShiftHours, clock } = this.deps;
    const { bounds } = grid;
    const rules = { nightShiftHours, nowMs: clock.now() };
    const share = loopShare(YIELD_AFTER_MS);
    // A day's sheet reads its three days of punches by time at once (≈ 27,000 rows for 5,000
    // workers, ≈ 30 ms): quicker than a lookup per worker, and it says who worked that day. Read
    // 6 hours at a time with the loop given back between them, each turn waited behind the
    // documents' chunks under load: the daily page's p95 doubled (198 → 387 ms, docs/reports.md).
    // Kept a little while (recent-days.ts): a day's page, file and JSON are often asked one after another.
    const dayPunches = monthly ? undefined : this.recentDays.read(bounds[0]!, bounds.at(-1)!);
    // Counted days only: a worker whose one punch is the next month's first morning is not in this month.
    const ids = dayPunches
      ? workersOn(dayPunches, bounds[1]!, bounds.at(-2)!)
      : await this.monthWorkers(bounds[1]!, bounds.at(-2)!, share);
    const chosen: SheetWorker[] = [];
    for (const id of ids) {
      const worker = workers.get(id) ?? { id, pin: '', name: id, status: 'removed', identities: {} };
      if (filter.team !== undefined && (worker.team ?? '') !== filter.team) continue;
      if (filter.employer !== undefined && (worker.employer ?? '') !== filter.employer) continue;
      chosen.push(worker);
    }
    const people = this.inSheetOrder(chosen);
    const teams: Array<{ team: string; workers: number }> = [];
    for (const w of people) {
      const team = w.team ?? '';
      const last = teams.at(-1);
      if (last?.team === team) last.workers++;
      else teams.push({ team, workers: 1 });
    }
    const count: (ids: readonly string[]) => Map<string, AttendanceDay[]> = dayPunches
      ? (ids) => new Map(ids.map((id) => [id, countDays(sheetPunches(dayPunches.get(id)), grid, rules)]))
      : this.monthCounter(grid, rules);
    const lane = this.lane;
    return {
      period,
      dates: grid.dates,
      workerCount: people.length,
      teams,
      complete: punches.isReady,
      async *rows(range?: SheetRange, options?: { readonly document?: boolean }) {
        const list = range ? people.slice(range.offset, range.offset + range.limit) : people;
        const share = loopShare(YIELD_AFTER_MS);
        const ticket = options?.document ? lane.ticket() : 0;
        for (let i = 0; i < list.length; i += CHUNK_WORKERS) {
          // A document holds the lane while its reader writes the chunk's rows, and gives it on
          // before the chunk's last row: a reader then waiting for its client does not hold it.
          let give: (() => void) | undefined;
          if (options?.document) give = await lane.turn(ticket);
          else await share();
          // `give` is idempotent: the finally also covers a reader that stops (a closed download).
          try {
            const chunk = list.slice(i, i + CHUNK_WORKERS);
            const days = count(chunk.map((w) => w.id));
            for (const [k, worker] of chunk.entries()) {
              const row = days.get(worker.id)!;
              if (k === chunk.length - 1) give?.();
              yield {
                workerId: worker.id,
                name: worker.name,
                pin: worker.pin,
                idCardNo: worker.identities.idCardNo,
                team: worker.team ?? '',
                employer: worker.employer ?? '',
                days: row,
                daysPresent: row.filter((d) => d.present).length,
                totalHours: totalHours(row),
              };
            }
          } finally {
            give?.();
          }
        }
      },
    };
  }

  /**
   * A month's days of a chunk of workers: the settled days the cache holds from it (a range of its
   * primary key per worker), the others (the month's last days while they may still change, days the
   * fill has not reached, workers with punches it has not counted yet) counted from the punches. A
   * month shows no first-in or last-out time (the cache keeps none), whichever way a day was read.
   */
  private monthCounter(
    grid: DayGrid,
    rules: CountingRules,
  ): (ids: readonly string[]) => Map<string, AttendanceDay[]> {
    const { punches } = this.deps;
    const cache = this.cache;
    const n = grid.dates.length;
    const cover = cache.coverage(grid);
    // The dates the cache does not hold: before and after what it holds.
    const live = (cover ? [[0, cover.first] as const, [cover.end, n] as const] : [[0, n] as const])
      .filter(([a, b]) => b > a)
      .map(([a, b]) => ({ at: a, grid: subGrid(grid, a, b) }));
    return (ids) => {
      const days = new Map<string, AttendanceDay[]>(ids.map((id) => [id, new Array<AttendanceDay>(n)]));
      const count = (workerIds: readonly string[], at: number, part: DayGrid) => {
        if (workerIds.length === 0) return;
        const found = byWorker(punches.punchesOfWorkers(workerIds, part.bounds[0]!, part.bounds.at(-1)!));
        for (const id of workerIds) {
          const row = days.get(id)!;
          countDays(found.get(id) ?? [], part, rules).forEach((d, k) => {
            row[at + k] = withoutTimes(d);
          });
        }
      };
      const cached = cover && cache.rows(cover, grid, ids);
      if (!cover || !cached) {
        count(ids, 0, grid);
        return days;
      }
      for (const run of live) count(ids, run.at, run.grid);
      for (const [id, row] of cached) {
        if (cover.pending.has(id)) continue;
        const into = days.get(id)!;
        for (let k = 0; k < row.length; k++) into[cover.first + k] = row[k]!;
      }
      count(
        ids.filter((id) => cover.pending.has(id)),
        cover.first,
        subGrid(grid, cover.first, cover.end),
      );
      return days;
    };
  }
}

/** Punches as [worker id, at_ms, 1 for out] (in time order) by worker. */
function byWorker(rows: Iterable<readonly [string, number, number]>): Map<string, SheetPunch[]> {
  const found = new Map<string, SheetPunch[]>();
  for (const [id, atMs, out] of rows) {
    const list = found.get(id);
    const punch: SheetPunch = { atMs, direction: out ? 'out' : 'in' };
    if (list) list.push(punch);
    else found.set(id, [punch]);
  }
  return found;
}

/** The workers with a punch in [fromMs, toMs), of punches as `punchesByWorkerOverTime` gives them. */
function workersOn(punches: ReadonlyMap<string, readonly number[]>, fromMs: number, toMs: number): string[] {
  const ids: string[] = [];
  for (const [id, flat] of punches) {
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i]! >= fromMs && flat[i]! < toMs) {
        ids.push(id);
        break;
      }
    }
  }
  return ids;
}

/** A worker's punches as `punchesByWorkerOverTime` gives them ([at_ms, out, …]), as the counting takes them. */
function sheetPunches(flat: readonly number[] | undefined): SheetPunch[] {
  const list: SheetPunch[] = [];
  if (flat)
    for (let i = 0; i < flat.length; i += 2)
      list.push({ atMs: flat[i]!, direction: flat[i + 1] ? 'out' : 'in' });
  return list;
}

/** A monthly sheet's day: no first-in or last-out time. */
function withoutTimes(day: AttendanceDay): AttendanceDay {
  return day.firstInMs === undefined && day.lastOutMs === undefined
    ? day
    : { ...day, firstInMs: undefined, lastOutMs: undefined };
}

/** Two lists in sheet order as one. */
function mergeSorted(a: readonly SheetWorker[], b: readonly SheetWorker[]): SheetWorker[] {
  const out: SheetWorker[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(bySheetOrder(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!);
  return out.concat(a.slice(i), b.slice(j));
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

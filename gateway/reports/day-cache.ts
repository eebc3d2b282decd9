/**
 * The attendance sheet's cache of counted days (a row per worker and site-local day, in the query
 * store's file: gateway/query/attendance-days.ts). It only ever holds what `countDays` gives for the
 * punches, so a sheet read from it is the sheet counted from the punches; the punches stay the source
 * of truth and the cache can be thrown away at any time.
 *
 * How it is kept right:
 * - It reaches over a run of days [`from`, `to`) for every worker, as of the punches up to journal seq
 *   `seen`; both move in the same transaction as the rows, so a kill loses at most work, never truth.
 * - Days whose count may still change with the clock alone (a stay whose night-shift window is ahead:
 *   the last `nightShiftHours` + 24 h or so) are never stored: `to` stays below the first of them.
 * - A punch journaled after `seen` makes its day, the next day and (when it falls inside the window
 *   that could close a stay of the day before) the day before stale; the background pass recounts
 *   those days soon after (debounced), and a sheet read before that counts them live.
 * - The fill goes a day at a time over all workers, newest first (a day's punches read by time: one
 *   range of `punch_at`), until every day in retention is in; a restart continues from `from`/`to`.
 * - Retention and store rebuilds are the store's: a rebuilt file starts empty (another `epoch`), and
 *   pruning moves `from` up before the punches go.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DateTime } from 'luxon';
import type { EventBus } from '../events';
import type { ClockSource, Logger } from '../model';
import {
  type DaySummaryRow,
  type DaySummaryState,
  type DaySummaryWrite,
  unpackDay,
} from '../query/attendance-days';
import {
  type AttendanceAnomaly,
  type AttendanceDay,
  type CountingRules,
  countDays,
  type DayGrid,
  type SheetPunch,
} from './day-count';

/** What the cache reads and writes of the query store (`QueryStore` has it). */
export interface DaySummaryStore {
  /** Open and caught up with the journal: before that its punches are still coming in bulk. */
  readonly isReady: boolean;
  daySummaryState(rules: number): DaySummaryState | undefined;
  writeDaySummaries(change: DaySummaryWrite): boolean;
  daySummaries(
    epoch: number,
    ids: readonly string[],
    fromDay: number,
    toDay: number,
  ): ReadonlyMap<string, Uint16Array> | undefined;
  punchesByTime(fromMs: number, toMs: number): Array<[number, number, number]>;
  punchesAfter(afterSeq: number, limit: number): Array<[number, number, number, string]>;
  punchesOfKey(key: number, fromMs: number, toMs: number): Array<[number, number]>;
}

export interface DayCacheDeps {
  readonly store: DaySummaryStore;
  readonly bus: EventBus;
  readonly timezone: string;
  readonly nightShiftHours: number;
  readonly clock: ClockSource;
  readonly logger: Logger;
  /** Before the first fill step: the gateway's own start-up goes first. */
  readonly startDelayMs?: number;
  /** After new punches, the pause before their days are recounted (several journal writes in one pass). */
  readonly debounceMs?: number;
}

/**
 * Bumped when `countDays` changes what it gives: rows counted by an older version are dropped at the
 * next start (with the zone and the window, they make the `rules` fingerprint).
 */
const COUNTING_VERSION = 1;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** New punches taken into one recount (its days are recounted over as many steps as they need). */
const SCAN_BATCH = 10_000;
/** A step's share of work before it yields (a day read by time is ≈ 10 ms at 5,000 workers). */
const STEP_MS = 15;
/** At most this many days are added at once (a month, newest first when filling backwards). */
const SEGMENT_DAYS = 31;
/** Workers whose days one fill step counts and writes (≈ 10 ms for a month of 200 workers). */
const WRITE_WORKERS = 200;
/** A day with up to this many workers to recount is read worker by worker, else whole by time. */
const FEW_WORKERS = 16;
/** New punches a sheet counts live for their workers; more (a big catch-up) and the sheet is counted live. */
const PENDING_LIMIT = 2000;
/** While the store is being opened, built or caught up: how soon to look again. */
const UNAVAILABLE_RETRY_MS = 1000;
const MISSING_IN = 1;
const MISSING_OUT = 2;

/** The site-local date `YYYY-MM-DD` as a day number (days since 1970-01-01), and back. */
export function dayNumber(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;
}

export function dayDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The part of `grid` for its dates [a, b): the bounds are the same instants, so no zone math again. */
export function subGrid(grid: DayGrid, a: number, b: number): DayGrid {
  return { timezone: grid.timezone, dates: grid.dates.slice(a, b), bounds: grid.bounds.slice(a, b + 3) };
}

/** A day of the sheet as the cache keeps it. */
export function dayFromRow(date: string, tenths: number, anomaly: number): AttendanceDay {
  const anomalies: AttendanceAnomaly[] = [];
  if (anomaly & MISSING_IN) anomalies.push('missingIn');
  if (anomaly & MISSING_OUT) anomalies.push('missingOut');
  return {
    date,
    hours: tenths / 10,
    present: true,
    anomalies,
    firstInMs: undefined,
    lastOutMs: undefined,
    open: false,
  };
}

export function emptyDay(date: string): AttendanceDay {
  return {
    date,
    hours: 0,
    present: false,
    anomalies: [],
    firstInMs: undefined,
    lastOutMs: undefined,
    open: false,
  };
}

function rowOf(worker: number, day: number, d: AttendanceDay): DaySummaryRow {
  let anomaly = 0;
  for (const a of d.anomalies) anomaly |= a === 'missingIn' ? MISSING_IN : MISSING_OUT;
  return [worker, day, Math.round(d.hours * 10), anomaly];
}

/** What a sheet may take from the cache: its dates [`first`, `end`) but for `pending` workers. */
export interface SheetCoverage {
  readonly epoch: number;
  readonly first: number;
  readonly end: number;
  /** Workers with punches the cache has not counted yet on these days: counted live. */
  readonly pending: ReadonlySet<string>;
  /** Each of the grid's dates without a punch: one object shared by every worker's row. */
  readonly empty: readonly AttendanceDay[];
  /**
   * The cached days read so far, one frozen object per date and packed value, shared by every row
   * that has it: a month is 155,000 days of a few hundred kinds, and as an object each they were a
   * tenth of a month's document and much of its garbage. Its documents' writers key on them too.
   */
  readonly counted: Map<number, AttendanceDay>;
}

/** A day of punches by worker key, as read for the fill. */
type DayPunches = Map<number, SheetPunch[]>;

/** Days [from, to) being added next to the cache's reach (before `from` or from `to`). */
interface Segment {
  readonly epoch: number;
  readonly from: number;
  readonly to: number;
  /** Added at `to` (the days settled since), else before `from`. */
  readonly forward: boolean;
  /** The store's high water when its first day was read. */
  readonly high: number;
  /** The next day to read: from `from` − 1 to `to` (the days next to it count too). */
  next: number;
  /** Each worker's punches read so far, in time order, as `at_ms × 2 + out` (3 MB for a month of 5,000 workers). */
  readonly punches: Map<number, number[]>;
  /** Once every day is read: the workers with a punch on the segment's days, in key order; how many are written. */
  keys?: number[];
  written: number;
}

/** The segment still lies next to the cache's reach (retention may have moved it meanwhile). */
function adjacent(segment: Segment, state: DaySummaryState): boolean {
  return segment.forward ? segment.from === state.to && state.from < state.to : segment.to === state.from;
}

/**
 * The cache as a background part of `AttendanceReports`: `start()` begins the fill and follows new
 * punches, `stop()` ends at a step boundary (every committed step is whole).
 */
export class DayCache {
  private readonly rules: number;
  private readonly windowMs: number;
  private readonly starts = new Map<number, number>();
  private readonly hourDays = new Map<number, number>();
  private running: Promise<void> | undefined;
  private stopped = true;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** New punches being recounted: the days they touch (by day, the workers), and `seen` once done. */
  private job:
    | {
        epoch: number;
        seen: number;
        days: Array<[number, Set<number>]>;
        reads: Map<number, DayPunches>;
      }
    | undefined;
  /** The last step recounted: the next one fills if it can. */
  private recounted = false;
  /** The days being added to the cache, counted a day a step, then written a few hundred workers a step. */
  private segment: Segment | undefined;
  private announced = false;

  constructor(private readonly deps: DayCacheDeps) {
    this.rules = fingerprint(`${COUNTING_VERSION}|${deps.timezone}|${deps.nightShiftHours}`);
    this.windowMs = deps.nightShiftHours * HOUR_MS;
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.unsubscribe = this.deps.bus.on('punches.journaled', () => {
      if (this.debounce) return;
      this.debounce = setTimeout(() => {
        this.debounce = undefined;
        this.wake?.();
      }, this.deps.debounceMs ?? 1000);
      this.debounce.unref();
    });
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.debounce);
    this.debounce = undefined;
    this.wake?.();
    await this.running;
    this.running = undefined;
    this.segment = undefined;
  }

  /** Resolves once the cache reaches every settled day in retention and has counted every punch (tests, benchmarks). */
  async whenFilled(): Promise<void> {
    while (!this.isFilled && !this.stopped) await new Promise((r) => setTimeout(r, 20));
  }

  /** Holds every settled day in retention, as of every punch the store holds. */
  get isFilled(): boolean {
    const state = this.deps.store.daySummaryState(this.rules);
    return (
      state !== undefined &&
      state.seen === state.highWater &&
      state.to === this.settledEnd(this.deps.clock.now()) &&
      (state.from <= state.floor || (state.from === state.to && state.to <= state.floor))
    );
  }

  /**
   * What a sheet of `grid` may read from the cache, or undefined (count it all live). Workers with
   * punches not yet counted into the cache on these days are counted live.
   */
  coverage(grid: DayGrid): SheetCoverage | undefined {
    const state = this.deps.store.daySummaryState(this.rules);
    if (!state || grid.dates.length === 0) return undefined;
    const first = dayNumber(grid.dates[0]!);
    const n = grid.dates.length;
    const lo = Math.min(n, Math.max(0, Math.max(state.from, state.floor) - first));
    const hi = Math.min(n, Math.max(0, state.to - first));
    if (hi <= lo) return undefined;
    const pending = new Set<string>();
    if (state.seen < state.highWater) {
      const punches = this.deps.store.punchesAfter(state.seen, PENDING_LIMIT + 1);
      if (punches.length > PENDING_LIMIT) return undefined;
      for (const [, , atMs, id] of punches) {
        const [a, b] = this.touched(atMs);
        if (b >= first + lo && a < first + hi) pending.add(id);
      }
    }
    return {
      epoch: state.epoch,
      first: lo,
      end: hi,
      pending,
      empty: grid.dates.map((d) => Object.freeze(emptyDay(d))),
      counted: new Map(),
    };
  }

  /**
   * These workers' days [cover.first, cover.end) of `grid` from the cache, or undefined when it no
   * longer holds them (count them live). Days without a punch are the sheet's shared empty days.
   */
  rows(
    cover: SheetCoverage,
    grid: DayGrid,
    ids: readonly string[],
  ): Map<string, AttendanceDay[]> | undefined {
    const first = dayNumber(grid.dates[0]!);
    const found = this.deps.store.daySummaries(cover.epoch, ids, first + cover.first, first + cover.end);
    if (!found) return undefined;
    const byWorker = new Map<string, AttendanceDay[]>();
    for (const [id, values] of found) {
      const days = new Array<AttendanceDay>(values.length);
      for (let k = 0; k < values.length; k++) {
        const v = values[k]!;
        const date = cover.first + k;
        if (v === 0) {
          days[k] = cover.empty[date]!;
          continue;
        }
        const key = date * 65_536 + v;
        let day = cover.counted.get(key);
        if (!day) {
          day = Object.freeze(dayFromRow(grid.dates[date]!, ...unpackDay(v)));
          cover.counted.set(key, day);
        }
        days[k] = day;
      }
      byWorker.set(id, days);
    }
    return byWorker;
  }

  private async run(): Promise<void> {
    await this.sleep(this.deps.startDelayMs ?? 5000);
    while (!this.stopped) {
      let worked: boolean | undefined = false;
      try {
        worked = this.step();
      } catch (error) {
        // The punches stay the truth: a failed step only leaves the cache where it was.
        this.deps.logger.error({ error: (error as Error).message }, 'attendance cache: a step failed');
        this.segment = undefined;
        this.job = undefined;
        await this.sleep(60_000);
        continue;
      }
      if (worked) await yieldToLoop();
      else await this.sleep(worked === undefined ? UNAVAILABLE_RETRY_MS : this.untilNextSettle());
    }
  }

  /**
   * One short unit of work; false when there is nothing to do, undefined while the store is not open
   * or still catching up with the journal (its punches arrive in bulk: counting them now is wasted).
   */
  private step(): boolean | undefined {
    const { store, clock } = this.deps;
    const state = store.isReady ? store.daySummaryState(this.rules) : undefined;
    if (!state) return undefined;
    const fill = this.fillWork(state, this.settledEnd(clock.now()));
    const recount = this.job !== undefined || state.seen < state.highWater;
    // Taking turns when both have work: a steady stream of punches never stalls the fill.
    if (recount && !(this.recounted && fill)) {
      this.recount(state);
      this.recounted = true;
      return true;
    }
    this.recounted = false;
    if (fill) {
      fill();
      return true;
    }
    if (!this.announced) {
      this.deps.logger.info({ from: dayDate(state.from), to: dayDate(state.to) }, 'attendance cache filled');
      this.announced = true;
    }
    return false;
  }

  /** The next fill step, newest days first, or undefined when every settled day in retention is in. */
  private fillWork(state: DaySummaryState, settled: number): (() => void) | undefined {
    const { store } = this.deps;
    const segment = this.segment;
    if (segment && segment.epoch === state.epoch && adjacent(segment, state)) {
      return () => this.fill(state, segment);
    }
    this.segment = undefined;
    if (state.from >= state.to && (state.from !== settled || state.to !== settled)) {
      return () => store.writeDaySummaries({ epoch: state.epoch, from: settled, to: settled });
    }
    // Forward: the days settled since (a day a day, or more after a stop); back: a calendar month.
    let days: [number, number] | undefined;
    if (state.to < settled) days = [state.to, Math.min(settled, state.to + SEGMENT_DAYS)];
    else if (state.from > state.floor) {
      const month = dayNumber(`${dayDate(state.from - 1).slice(0, 8)}01`);
      days = [Math.max(state.floor, month), state.from];
    }
    if (!days) return undefined;
    const [from, to] = days;
    const next: Segment = {
      epoch: state.epoch,
      from,
      to,
      forward: from === state.to,
      high: state.highWater,
      next: from - 1,
      punches: new Map(),
      written: 0,
    };
    this.segment = next;
    return () => this.fill(state, next);
  }

  /**
   * One step of a segment: read its next day (every worker's punches, by time: one range of
   * `punch_at`), or, once every day is read, count and write the next few hundred workers in key
   * order (a worker's month lands on one page); the last write moves the cache's reach over the
   * segment. Punches journaled since its first read on its days or next to them: the reads may lack
   * them, so the segment starts over.
   */
  private fill(state: DaySummaryState, segment: Segment): void {
    const { store } = this.deps;
    if (segment.next <= segment.to) {
      const day = segment.next++;
      for (const [key, atMs, out] of store.punchesByTime(this.dayStart(day), this.dayStart(day + 1))) {
        const list = segment.punches.get(key);
        if (list) list.push(atMs * 2 + out);
        else segment.punches.set(key, [atMs * 2 + out]);
      }
      if (segment.next > segment.to) {
        const fromMs = this.dayStart(segment.from);
        const toMs = this.dayStart(segment.to);
        segment.keys = [...segment.punches]
          .filter(([, list]) => list.some((p) => p >= fromMs * 2 && p < toMs * 2))
          .map(([key]) => key)
          .sort((a, b) => a - b);
      }
      return;
    }
    if (this.readsStale(segment)) {
      this.segment = undefined;
      return;
    }
    const keys = segment.keys ?? [];
    const grid = this.grid(segment.from, segment.to - segment.from);
    const rules = { nightShiftHours: this.deps.nightShiftHours, nowMs: this.deps.clock.now() };
    const rows: DaySummaryRow[] = [];
    const end = Math.min(keys.length, segment.written + WRITE_WORKERS);
    for (let i = segment.written; i < end; i++) {
      const key = keys[i]!;
      const punches = segment.punches
        .get(key)!
        .map((p): SheetPunch => ({ atMs: Math.floor(p / 2), direction: p % 2 ? 'out' : 'in' }));
      countDays(punches, grid, rules).forEach((d, k) => {
        if (d.present) rows.push(rowOf(key, segment.from + k, d));
      });
    }
    segment.written = end;
    const last = end === keys.length;
    const reach = last ? (segment.forward ? { to: segment.to } : { from: segment.from }) : {};
    if (!store.writeDaySummaries({ epoch: state.epoch, rows, ...reach }) || last) this.segment = undefined;
  }

  /** Whether punches journaled since the segment's first read fall on its days or the days next to them. */
  private readsStale(segment: Segment): boolean {
    const fromMs = this.dayStart(segment.from - 1);
    const toMs = this.dayStart(segment.to + 1);
    const since = this.deps.store.punchesAfter(segment.high, PENDING_LIMIT + 1);
    return since.length > PENDING_LIMIT || since.some(([, , atMs]) => atMs >= fromMs && atMs < toMs);
  }

  /**
   * Recounts the cached days that punches journaled after `seen` touch, a share of them a step (a
   * day read by time when many workers have punches on it, else those workers alone), and moves
   * `seen` past those punches with the last share. Days read for one batch may miss punches journaled
   * meanwhile: those are after the batch's `seen`, so the next batch recounts their days.
   */
  private recount(state: DaySummaryState): void {
    const { store } = this.deps;
    let job = this.job;
    if (!job || job.epoch !== state.epoch) {
      const punches = store.punchesAfter(state.seen, SCAN_BATCH);
      const lo = Math.max(state.from, state.floor);
      const touched = new Map<number, Set<number>>();
      for (const [, key, atMs] of punches) {
        const [a, b] = this.touched(atMs);
        for (let day = Math.max(a, lo); day <= Math.min(b, state.to - 1); day++) {
          let keys = touched.get(day);
          if (!keys) {
            keys = new Set();
            touched.set(day, keys);
          }
          keys.add(key);
        }
      }
      job = {
        epoch: state.epoch,
        seen: punches.length < SCAN_BATCH ? state.highWater : punches.at(-1)![0],
        days: [...touched].sort((x, y) => x[0] - y[0]),
        reads: new Map(),
      };
      this.job = job;
    }
    const rows: DaySummaryRow[] = [];
    const clear: Array<[number, number]> = [];
    const rules = { nightShiftHours: this.deps.nightShiftHours, nowMs: this.deps.clock.now() };
    const started = performance.now();
    while (job.days.length > 0 && performance.now() - started < STEP_MS) {
      const [day, keys] = job.days.shift()!;
      const grid = this.grid(day, 1);
      const counted = new Map<number, AttendanceDay | undefined>();
      if (keys.size <= FEW_WORKERS) {
        for (const key of keys) {
          const punches = store.punchesOfKey(key, grid.bounds[0]!, grid.bounds.at(-1)!).map(sheetPunch);
          counted.set(key, countDays(punches, grid, rules)[0]);
        }
      } else {
        for (const d of job.reads.keys()) if (d < day - 1) job.reads.delete(d);
        for (let d = day - 1; d <= day + 1; d++) if (!job.reads.has(d)) job.reads.set(d, this.readDay(d));
        for (const key of keys) counted.set(key, this.countOne(key, grid, job.reads, rules));
      }
      for (const [key, d] of counted) {
        if (d?.present) rows.push(rowOf(key, day, d));
        else clear.push([key, day]);
      }
    }
    const done = job.days.length === 0;
    const written = store.writeDaySummaries({
      epoch: state.epoch,
      rows,
      clear,
      ...(done ? { seen: job.seen } : {}),
    });
    if (done || !written) this.job = undefined;
  }

  /** Every worker's punches of one site-local day, by worker key, in time then journal order. */
  private readDay(day: number): DayPunches {
    const byKey: DayPunches = new Map();
    for (const [key, atMs, out] of this.deps.store.punchesByTime(
      this.dayStart(day),
      this.dayStart(day + 1),
    )) {
      const punch: SheetPunch = { atMs, direction: out ? 'out' : 'in' };
      const list = byKey.get(key);
      if (list) list.push(punch);
      else byKey.set(key, [punch]);
    }
    return byKey;
  }

  /** One worker's count of the one day of `grid` from the days read around it. */
  private countOne(
    key: number,
    grid: DayGrid,
    days: ReadonlyMap<number, DayPunches>,
    rules: CountingRules,
  ): AttendanceDay | undefined {
    const day = dayNumber(grid.dates[0]!);
    const punches = [
      ...(days.get(day - 1)?.get(key) ?? []),
      ...(days.get(day)?.get(key) ?? []),
      ...(days.get(day + 1)?.get(key) ?? []),
    ];
    return countDays(punches, grid, rules)[0];
  }

  /**
   * The days a punch at `atMs` can change: its day, the next (a stay it opens, an `out` it repeats)
   * and the day before when it falls inside the window that could close that day's stay.
   */
  private touched(atMs: number): [number, number] {
    const day = this.dayOf(atMs);
    return [atMs - this.dayStart(day) <= this.windowMs ? day - 1 : day, day + 1];
  }

  /**
   * The first day whose count may still change with the clock alone: a stay begun on it may still be
   * closed within its night-shift window (`open`). Every day before it is settled.
   */
  private settledEnd(nowMs: number): number {
    let day = this.dayOf(nowMs) + 1;
    while (this.dayStart(day) + this.windowMs > nowMs) day--;
    return day;
  }

  /** How long until the next day settles (at most an hour: a clock step is picked up within it). */
  private untilNextSettle(): number {
    const now = this.deps.clock.now();
    const next = this.dayStart(this.settledEnd(now) + 1) + this.windowMs;
    return Math.max(1000, Math.min(HOUR_MS, next - now + 1000));
  }

  /** A grid of `days` days from day number `first`, from the cached day starts. */
  private grid(first: number, days: number): DayGrid {
    const dates: string[] = [];
    for (let i = 0; i < days; i++) dates.push(dayDate(first + i));
    const bounds: number[] = [];
    for (let i = -1; i <= days + 1; i++) bounds.push(this.dayStart(first + i));
    return { timezone: this.deps.timezone, dates, bounds };
  }

  /** Where a site-local day begins (UTC ms), as `dayGrid` has it. */
  private dayStart(day: number): number {
    let ms = this.starts.get(day);
    if (ms === undefined) {
      // startOf('day'): a zone whose clocks skip midnight starts the day at the first real minute.
      ms = DateTime.fromISO(dayDate(day), { zone: this.deps.timezone }).startOf('day').toMillis();
      if (this.starts.size > 4096) this.starts.clear();
      this.starts.set(day, ms);
    }
    return ms;
  }

  /** The site-local day of an instant (one zone lookup per hour). */
  private dayOf(ms: number): number {
    const hour = Math.floor(ms / HOUR_MS);
    let day = this.hourDays.get(hour);
    if (day === undefined) {
      day = dayNumber(DateTime.fromMillis(hour * HOUR_MS, { zone: this.deps.timezone }).toISODate()!);
      if (this.hourDays.size > 4096) this.hourDays.clear();
      this.hourDays.set(hour, day);
    }
    // A zone whose offset is not whole hours may start a day inside the hour.
    if (ms < this.dayStart(day)) return day - 1;
    if (ms >= this.dayStart(day + 1)) return day + 1;
    return day;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      this.timer = setTimeout(done, ms);
      this.timer.unref();
      this.wake = done;
      const self = this;
      function done() {
        clearTimeout(self.timer);
        self.wake = undefined;
        resolve();
      }
    });
  }
}

function sheetPunch([atMs, out]: readonly [number, number]): SheetPunch {
  return { atMs, direction: out ? 'out' : 'in' };
}

/** FNV-1a, 31 bits (a positive SQLite integer). */
function fingerprint(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 1 || 1;
}

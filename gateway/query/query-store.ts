import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { EventBus } from '../events';
import type { ClockSource, Direction, Logger, Punch } from '../model';
import type { PunchJournal } from '../store/journal';
import { JournalReader } from '../store/journal-reader';
import { type DaySummaryState, type DaySummaryWrite, summaryFloor } from './attendance-days';
import type {
  OnSitePage,
  PagePosition,
  PunchFilter,
  PunchPage,
  PunchReader,
  StoredPunch,
} from './punch-query';
import { PunchStore, StoreUnusableError, type WorkerRecord } from './punch-store';
import { rebuildFileOf, rebuildPunchStore, removeDatabaseFiles } from './rebuild';
import { isCorruption } from './sqlite';

/** Punches per catch-up transaction; the loop yields to the event loop between them. */
/** The store's file under the data directory; the gateway and seed-history both open it by this name. */
export const QUERY_STORE_FILE = 'punches.sqlite';
const CATCH_UP_BATCH = 2000;
/** Rows deleted per retention round (each round one short transaction). */
const PRUNE_BATCH = 5000;
const HOUR_MS = 3_600_000;

export interface QueryStoreDeps {
  /** The store's file, `<dataDir>/punches.sqlite`. */
  readonly file: string;
  readonly journal: PunchJournal;
  readonly bus: EventBus;
  /** The roster, mirrored into the store's worker table for search. */
  readonly workers: {
    list(): readonly WorkerRecord[];
    get(id: string): WorkerRecord | undefined;
  };
  /** `retention.punchYears`: rows older than this many years are deleted. */
  readonly punchYears: number;
  readonly clock: ClockSource;
  readonly logger: Logger;
}

/**
 * The query store as a part: an SQLite projection of the journal that the page, the API and
 * reports read. It follows 'punches.journaled' and, after a start or a gap, catches up from its own
 * high-water seq by reading the journal in batches, yielding between them, so `/healthz` and the
 * page answer while it works. A missing, foreign or damaged file is moved aside (if damaged) and
 * rebuilt from the journal; the journal is never touched.
 */
export class QueryStore implements PunchReader {
  private store: PunchStore | undefined;
  private reader: JournalReader | undefined;
  private unsubscribe: Array<() => void> = [];
  private running: Promise<void> | undefined;
  private catching = false;
  private again = false;
  private caughtUp = false;
  private stopping: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private problem: string | undefined;
  private failures = 0;

  constructor(private readonly deps: QueryStoreDeps) {}

  /** Starts in the background: opens (or rebuilds) the store and catches up; never delays the gateway's start. */
  start(): void {
    if (this.running) return;
    this.stopping = new AbortController();
    const { bus } = this.deps;
    this.unsubscribe = [
      bus.on('punches.journaled', (punches) => this.onJournaled(punches)),
      bus.on('roster.changed', (ids) => this.onRosterChanged(ids)),
    ];
    this.running = this.openAndCatchUp();
    this.timer = setInterval(() => void this.prune(), HOUR_MS);
    this.timer.unref();
  }

  /** Ends at a batch boundary (every committed batch is whole) and closes the file. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const off of this.unsubscribe.splice(0)) off();
    this.stopping?.abort();
    await this.running;
    while (this.catching) await new Promise((r) => setTimeout(r, 5));
    this.store?.close();
    this.store = undefined;
    this.running = undefined;
  }

  /** Resolves once the store is open and caught up (tests, benchmarks). */
  async whenCaughtUp(): Promise<void> {
    await this.running;
    while (this.catching || !this.caughtUp) {
      if (this.stopping?.signal.aborted) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * The highest journal seq the store holds durably (checkpointed): housekeeping deletes no journal
   * segment past it, so a punch is always in the journal or in the store.
   */
  holds(): number {
    if (!this.store) return 0;
    return this.guard(() => this.store!.durableSeq(), 0);
  }

  /** For /healthz: why the page's punches may be missing or behind. */
  alerts(): string[] {
    return this.problem ? [`query store: ${this.problem}`] : [];
  }

  get isReady(): boolean {
    return this.caughtUp && this.store !== undefined;
  }

  get lastSeq(): number {
    return this.store?.highWater ?? 0;
  }

  /** Queries that failed (and answered their fallback) since the start: a reader keeping results skips those. */
  get failedQueries(): number {
    return this.failures;
  }

  query(filter: PunchFilter, page: number, pageSize: number, position?: PagePosition): PunchPage {
    return this.guard((s) => s.query(filter, page, pageSize, position), {
      rows: [],
      total: 0,
      capped: false,
      page,
      pageSize,
    });
  }

  each(filter: PunchFilter): Iterator<StoredPunch> {
    const store = this.store;
    if (!store) return [][Symbol.iterator]();
    return store.each(filter);
  }

  countPerSlot(bounds: readonly number[]): { entries: number[]; exits: number[] } {
    const empty = () => new Array<number>(Math.max(0, bounds.length - 1)).fill(0);
    return this.guard((s) => s.countPerSlot(bounds), { entries: empty(), exits: empty() });
  }

  unmatchedSince(fromMs: number): Map<string, number> {
    return this.guard((s) => s.unmatchedSince(fromMs), new Map());
  }

  onSite(sinceMs: number): string[] {
    return this.guard((s) => s.onSite(sinceMs), []);
  }

  onSitePage(sinceMs: number, after: number, limit: number): OnSitePage {
    return this.guard((s) => s.onSitePage(sinceMs, after, limit), { entries: [] });
  }

  lastPunchOf(workerId: string): { atMs: number; direction: Direction } | undefined {
    return this.guard((s) => s.lastPunchOf(workerId), undefined);
  }

  latest(): StoredPunch | undefined {
    return this.guard((s) => s.latest(), undefined);
  }

  terminalIds(): string[] {
    return this.guard((s) => s.terminalIds(), []);
  }

  /** Reports: these workers' punches in [fromMs, toMs), by worker then time (`PunchStore.punchesOfWorkers`). */
  punchesOfWorkers(ids: readonly string[], fromMs: number, toMs: number): Array<[string, number, number]> {
    return this.guard((s) => s.punchesOfWorkers(ids, fromMs, toMs), []);
  }

  /**
   * The attendance sheet's cache (`attendance-days.ts`, filled by gateway/reports/day-cache.ts): how
   * far it reaches, undefined while no store is open. Rows counted by other `rules` are dropped.
   */
  daySummaryState(rules: number): DaySummaryState | undefined {
    return this.guard((s) => s.days.current(rules, s.highWater, this.keepFromMs()), undefined);
  }

  /** One transaction of the cache; false when the store's file was replaced since `change.epoch`. */
  writeDaySummaries(change: DaySummaryWrite): boolean {
    return this.guard((s) => s.days.write(change), false);
  }

  /** Summarized days of these workers in [fromDay, toDay), packed; undefined when the file is not of `epoch`. */
  daySummaries(
    epoch: number,
    ids: readonly string[],
    fromDay: number,
    toDay: number,
  ): Map<string, Uint16Array> | undefined {
    return this.guard(
      (s) => (s.days.epoch === epoch ? s.days.rows(ids, fromDay, toDay) : undefined),
      undefined,
    );
  }

  /** The cache's fill: every worker's punches in [fromMs, toMs) by time ([worker key, at_ms, out]). */
  punchesByTime(fromMs: number, toMs: number): Array<[number, number, number]> {
    return this.guard((s) => s.days.punchesByTime(fromMs, toMs), []);
  }

  /** Punches with a worker journaled after `afterSeq`: [seq, worker key, at_ms, worker id]. */
  punchesAfter(afterSeq: number, limit: number): Array<[number, number, number, string]> {
    return this.guard((s) => s.days.punchesAfter(afterSeq, limit), []);
  }

  /** Reports: every worker's punches in [fromMs, toMs) by worker ([at_ms, out, …] in time order; a few days). */
  punchesByWorkerOverTime(fromMs: number, toMs: number): Map<string, number[]> {
    return this.guard((s) => s.days.punchesByWorkerOverTime(fromMs, toMs), new Map());
  }

  /** Reports: which of these workers have a punch in [fromMs, toMs) (a probe each). */
  workersPunchingAmong(ids: readonly string[], fromMs: number, toMs: number): string[] {
    return this.guard((s) => s.days.punchingAmong(ids, fromMs, toMs), []);
  }

  /** Reports: ids with punches that the roster does not list. */
  unlistedWorkers(): string[] {
    return this.guard((s) => s.days.unlisted(), []);
  }

  /** One worker's punches in [fromMs, toMs) by key: [at_ms, out]. */
  punchesOfKey(key: number, fromMs: number, toMs: number): Array<[number, number]> {
    return this.guard((s) => s.days.punchesOfKey(key, fromMs, toMs), []);
  }

  searchWorkers(q: string): string[] | undefined {
    return this.guard((s) => s.searchWorkers(q), undefined);
  }

  /** The oldest punch time kept: `retention.punchYears` before now. */
  private keepFromMs(): number {
    const cutoff = new Date(this.deps.clock.now());
    cutoff.setUTCFullYear(cutoff.getUTCFullYear() - this.deps.punchYears);
    return cutoff.getTime();
  }

  private async openAndCatchUp(): Promise<void> {
    try {
      await this.open();
      await this.catchUp();
      await this.prune();
    } catch (error) {
      if (this.stopping?.signal.aborted) return;
      this.problem = (error as Error).message;
      this.deps.logger.error(
        { error: this.problem },
        'query store unavailable; the journal keeps every punch',
      );
    }
  }

  /** Opens the file, or rebuilds it from the journal when it is missing or unusable. */
  private async open(): Promise<void> {
    const { file, logger } = this.deps;
    // A rebuild cut short by a crash: its file was never the store; start it again.
    await removeDatabaseFiles(rebuildFileOf(file));
    if (existsSync(file)) {
      try {
        this.store = PunchStore.open(file, { create: false });
      } catch (error) {
        if (!(error instanceof StoreUnusableError)) throw error;
        await this.moveAside(error.message);
      }
    }
    if (!this.store) {
      logger.info(
        { file, journalLastSeq: this.deps.journal.lastSeq },
        'query store: building from the journal',
      );
      await rebuildPunchStore({
        journal: this.deps.journal,
        file,
        keepFromMs: this.keepFromMs(),
        logger,
        signal: this.stopping?.signal,
      });
      this.store = PunchStore.open(file, { create: false });
    }
    // Roster changes announced while the store was closed or rebuilding are in this full pass.
    this.store.syncWorkers(this.deps.workers.list(), true);
    this.reader = new JournalReader(this.deps.journal, this.store.highWater);
    this.problem = undefined;
  }

  /** Keeps a damaged file for a look later (`punches.sqlite.corrupt-<time>`) and clears the way for a rebuild. */
  private async moveAside(reason: string): Promise<void> {
    const { file, logger, clock } = this.deps;
    const aside = `${file}.corrupt-${new Date(clock.now()).toISOString().replace(/[:.]/g, '-')}`;
    logger.warn(
      { file, aside, reason },
      'query store: unusable file moved aside; rebuilding from the journal',
    );
    await rename(file, aside);
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(`${file}${suffix}`)) await rename(`${file}${suffix}`, `${aside}${suffix}`);
    }
  }

  /**
   * Reads the journal from the store's high water to its end, a batch per transaction, yielding
   * between batches. Re-entrant calls while it runs make it go round once more.
   */
  private async catchUp(): Promise<void> {
    if (this.catching) {
      this.again = true;
      return;
    }
    this.catching = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const store = this.store;
          const reader = this.reader;
          if (!store || !reader || this.stopping?.signal.aborted) return;
          const batch = await reader.peek(CATCH_UP_BATCH);
          // Replaced while reading (a damaged file is being rebuilt): that path catches up itself.
          if (this.store !== store) return;
          if (batch.length === 0) break;
          this.write(batch);
          reader.advance(batch.at(-1)!.seq);
          await yieldToLoop();
        }
      } while (this.again);
      if (!this.caughtUp) {
        this.deps.logger.info(
          { highWater: this.store?.highWater, punches: this.store?.size },
          'query store caught up with the journal',
        );
      }
      this.caughtUp = true;
    } finally {
      this.catching = false;
    }
  }

  /**
   * Punches just journaled: written at once when they continue the store's high water (the usual
   * case); anything else (announced out of order, or while catching up) is read from the journal.
   */
  private onJournaled(punches: readonly Punch[]): void {
    const store = this.store;
    if (!store || punches.length === 0) return;
    if (!this.catching && punches[0]!.seq === store.highWater + 1) {
      this.write(punches);
      this.reader?.advance(store.highWater);
      return;
    }
    if (punches.at(-1)!.seq > store.highWater) void this.catchUp();
  }

  private write(punches: readonly Punch[]): void {
    this.guard((s) => s.append(punches, this.keepFromMs()), 0);
  }

  private onRosterChanged(ids: readonly string[]): void {
    this.guard((s) => {
      const present: WorkerRecord[] = [];
      const gone: string[] = [];
      for (const id of ids) {
        const worker = this.deps.workers.get(id);
        if (worker) present.push(worker);
        else gone.push(id);
      }
      s.syncWorkers(present, false);
      s.forgetWorkers(gone);
    }, undefined);
  }

  /**
   * Retention: rows older than `retention.punchYears`, a round at a time, and first the attendance
   * cache's days next to or before them (a day counts the day before it, so its row would no longer
   * be what the punches left give).
   */
  private async prune(): Promise<void> {
    const keepFrom = this.keepFromMs();
    const floor = summaryFloor(keepFrom);
    for (let after: number | undefined = 0; after !== undefined && !this.stopping?.signal.aborted; ) {
      const from: number = after;
      after = this.guard((s) => s.days.prune(floor, from), undefined);
      if (after !== undefined) await yieldToLoop();
    }
    let removed = 0;
    for (;;) {
      const round = this.guard((s) => s.prune(keepFrom, PRUNE_BATCH), 0);
      removed += round;
      if (round < PRUNE_BATCH || this.stopping?.signal.aborted) break;
      await yieldToLoop();
    }
    if (removed > 0)
      this.deps.logger.info({ removed, before: new Date(keepFrom).toISOString() }, 'query store: retention');
  }

  /**
   * Runs a store call; a damaged file found on the way is closed, moved aside and rebuilt in the
   * background while the call answers `fallback`. Other errors are logged and answered the same.
   */
  private guard<T>(call: (store: PunchStore) => T, fallback: T): T {
    const store = this.store;
    if (!store) return fallback;
    try {
      return call(store);
    } catch (error) {
      this.failures++;
      if (isCorruption(error)) this.recover((error as Error).message);
      else this.deps.logger.error({ error: (error as Error).message }, 'query store: a query failed');
      return fallback;
    }
  }

  private recover(reason: string): void {
    if (!this.store || this.stopping?.signal.aborted) return;
    this.deps.logger.error({ reason }, 'query store: damaged file found while running');
    this.store.close();
    this.store = undefined;
    this.reader = undefined;
    this.caughtUp = false;
    const previous = this.running;
    this.running = (async () => {
      await previous;
      while (this.catching) await new Promise((r) => setTimeout(r, 5));
      await this.moveAside(reason);
      await this.openAndCatchUp();
    })();
  }
}

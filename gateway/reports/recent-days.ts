/**
 * The punches a day's sheet reads (its three days by worker: ≈ 25 ms of the loop to read and group
 * at 5,000 workers), kept for a little while. A manager looks at a day's page, then downloads its
 * file or its JSON, and each of them opened the day again; under the web benchmark the days' opening
 * was the largest block of the loop left. Only punches are kept, never counted days (a count
 * depends on the time it is made: a stay still `open`).
 *
 * An entry is used only while the store has taken no punch in its span since it was read (the
 * store's seq then, and the punches after it: the terminals' new punches are today's, so an earlier
 * day stays), for at most `KEEP_MS`, and all go `KEEP_MS` after the last read.
 */

/** What is read of the query store (`QueryStore` has it). */
export interface RecentDaysStore {
  /** Open and caught up: a store that is not answers with nothing, which is not kept. */
  readonly isReady: boolean;
  /** The seq of the last punch the store holds. */
  readonly lastSeq: number;
  /** Queries that failed so far (they answer empty): a read during which one failed is not kept. */
  readonly failedQueries: number;
  /** Punches with a worker taken after `afterSeq`: [seq, worker key, at_ms, worker id]. */
  punchesAfter(afterSeq: number, limit: number): ReadonlyArray<readonly [number, number, number, string]>;
  punchesByWorkerOverTime(fromMs: number, toMs: number): ReadonlyMap<string, readonly number[]>;
}

interface Entry {
  readonly fromMs: number;
  readonly toMs: number;
  readonly readAt: number;
  /** The store's seq as of which the punches are whole. */
  seq: number;
  readonly punches: ReadonlyMap<string, readonly number[]>;
}

/** Days kept (≈ 0.5 MB each at 5,000 workers). */
const KEPT_DAYS = 8;
const KEEP_MS = 60_000;
/** New punches looked through to tell whether an entry still holds; more, and it is read again. */
const CHECK_LIMIT = 2_000;

export class RecentDays {
  private readonly kept = new Map<string, Entry>();
  private letGo: NodeJS.Timeout | undefined;
  private lastRead = 0;

  constructor(
    private readonly store: RecentDaysStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every worker's punches in [fromMs, toMs), as `punchesByWorkerOverTime` gives them. */
  read(fromMs: number, toMs: number): ReadonlyMap<string, readonly number[]> {
    const key = `${fromMs}|${toMs}`;
    const seq = this.store.lastSeq;
    const entry = this.kept.get(key);
    this.kept.delete(key);
    if (entry && this.store.isReady && this.holds(entry, seq)) {
      entry.seq = seq;
      this.kept.set(key, entry);
      this.keep();
      return entry.punches;
    }
    // better-sqlite3 is synchronous: no punch lands between `seq` and this read.
    const failures = this.store.failedQueries;
    const punches = this.store.punchesByWorkerOverTime(fromMs, toMs);
    if (!this.store.isReady || this.store.failedQueries !== failures) return punches;
    this.kept.set(key, { fromMs, toMs, readAt: this.now(), seq, punches });
    for (const old of this.kept.keys()) {
      if (this.kept.size <= KEPT_DAYS) break;
      this.kept.delete(old);
    }
    this.keep();
    return punches;
  }

  /** Lets go of every day `KEEP_MS` after the last read (unref'd: it keeps no process up). */
  private keep(): void {
    this.lastRead = this.now();
    if (this.letGo) return;
    const check = () => {
      const left = this.lastRead + KEEP_MS - this.now();
      if (left > 0) this.letGo = setTimeout(check, left).unref();
      else this.clear();
    };
    this.letGo = setTimeout(check, KEEP_MS).unref();
  }

  clear(): void {
    clearTimeout(this.letGo);
    this.letGo = undefined;
    this.kept.clear();
  }

  private holds(entry: Entry, seq: number): boolean {
    if (this.now() - entry.readAt > KEEP_MS) return false;
    if (seq === entry.seq) return true;
    // Fewer punches than when it was read: the store's file was replaced (a rebuild).
    if (seq < entry.seq) return false;
    const failures = this.store.failedQueries;
    const since = this.store.punchesAfter(entry.seq, CHECK_LIMIT + 1);
    if (this.store.failedQueries !== failures || since.length > CHECK_LIMIT) return false;
    return since.every(([, , atMs]) => atMs < entry.fromMs || atMs >= entry.toMs);
  }
}

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from './model';

/**
 * V8 settings for a box that must idle under 100 MB, set in the process (so a box started by hand
 * gets them as the service does), before the stores are read. The young generation keeps its
 * first size (two 1 MB semi-spaces) instead of growing to 2 × 16 MB during start-up and keeping
 * it: 30 MB of the 220 MB a 5,000-worker box idled at (docs/history.md). Measured on the query
 * store's rebuild from the journal, the most allocation-heavy thing the box does: no slower.
 */
export function tuneV8ForSmallBox(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** How long after the last document's chunk the young generation stops growing again. */
const DOCUMENTS_QUIET_MS = 2_000;

/**
 * Whole-site documents (a month as .xlsx, JSON or print view for 5,000 workers) allocate hundreds
 * of megabytes of short-lived objects. In the small box's two 1 MB semi-spaces that is a scavenge
 * every megabyte with survivors promoted early: 36% of the CPU of writing them went to the
 * collector (profiled at 10 M punches). While documents are being written the young generation may
 * grow as V8 would grow it by default (doubling, up to its 16 MB semi-spaces); once none has been
 * for `DOCUMENTS_QUIET_MS`, growth is off again and V8 shrinks it back to its first size at its next
 * collections under low allocation, so the idle box keeps what `tuneV8ForSmallBox` saves.
 */
export class DocumentHeap {
  private growing = false;
  private quiet: NodeJS.Timeout | undefined;

  constructor(private readonly setFlags: (flags: string) => void = setFlagsFromString) {}

  /** A document is being written (a chunk of it, in its turn). */
  busy(): void {
    clearTimeout(this.quiet);
    this.quiet = undefined;
    if (this.growing) return;
    this.growing = true;
    this.setFlags('--semi-space-growth-factor=2');
  }

  /** No document is waiting: growth stops if none comes within `DOCUMENTS_QUIET_MS`. */
  idle(): void {
    if (!this.growing || this.quiet) return;
    this.quiet = setTimeout(() => this.stop(), DOCUMENTS_QUIET_MS);
    this.quiet.unref();
  }

  /** Growth off now (the gateway stopping). */
  stop(): void {
    clearTimeout(this.quiet);
    this.quiet = undefined;
    if (!this.growing) return;
    this.growing = false;
    this.setFlags('--semi-space-growth-factor=1');
  }
}

export interface MemorySettleDeps {
  /**
   * Whether start-up work is over: every terminal read once and through its first roster pass
   * (or offline). What that work read (user tables of 5,000 workers per terminal) is garbage by then.
   */
  readonly settled: () => boolean;
  readonly logger: Logger;
  /** After `settled`: drivers let go of what they cached for writes (ZK: 2 s after last use). */
  readonly quietMs?: number;
  /** Collects anyway this long after start (a terminal that never answers). */
  readonly giveUpMs?: number;
  /** How often `settled` is asked. */
  readonly checkEveryMs?: number;
  /** The collection itself (tests may count calls); default: one compacting full GC. */
  readonly collect?: () => void;
}

export interface SettleReport {
  readonly heapUsedBefore: number;
  readonly heapUsedAfter: number;
  readonly heapTotalAfter: number;
  readonly ms: number;
}

/**
 * Start-up reads a lot that is garbage a few seconds later: every terminal's user table, the
 * roster and record files, the plans of the first roster passes. V8 gives such memory back only
 * when its idle memory reducer gets round to it, which was anywhere from 10 s to never in the
 * history benchmark, so an idle box showed 120–165 MB or 95 MB depending on timing. Once the
 * start-up work is over this runs one compacting full collection, so the idle box holds what it
 * uses (≈ 20 MB of heap with 5,000 workers). Once per process; it blocks the event loop for the
 * time of one collection of a small heap (tens of milliseconds).
 */
export class MemorySettle {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private settledAt: number | undefined;
  private done = false;
  /** What the collection did, once it has run. */
  report: SettleReport | undefined;

  constructor(private readonly deps: MemorySettleDeps) {}

  start(): void {
    if (this.timer || this.done) return;
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.check(), this.deps.checkEveryMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const now = performance.now();
    if (this.settledAt === undefined && this.deps.settled()) this.settledAt = now;
    const quietOver = this.settledAt !== undefined && now - this.settledAt >= (this.deps.quietMs ?? 3000);
    const gaveUp = now - this.startedAt >= (this.deps.giveUpMs ?? 60_000);
    if (!quietOver && !gaveUp) return;
    this.stop();
    this.done = true;
    const before = process.memoryUsage().heapUsed;
    const started = performance.now();
    try {
      (this.deps.collect ?? compactingCollection)();
    } catch (error) {
      this.deps.logger.warn({ error: (error as Error).message }, 'start-up memory not settled');
      return;
    }
    const after = process.memoryUsage();
    this.report = {
      heapUsedBefore: before,
      heapUsedAfter: after.heapUsed,
      heapTotalAfter: after.heapTotal,
      ms: Math.round(performance.now() - started),
    };
    const mb = (bytes: number) => Math.round(bytes / 104_857.6) / 10;
    this.deps.logger.info(
      {
        heapUsedMbBefore: mb(before),
        heapUsedMb: mb(after.heapUsed),
        heapTotalMb: mb(after.heapTotal),
        rssMb: mb(after.rss),
        ms: this.report.ms,
        gaveUpWaiting: this.settledAt === undefined,
      },
      'start-up memory settled',
    );
  }
}

/**
 * One full collection that also moves live objects off sparse pages, so the freed pages go back
 * to the system (a plain `gc()` leaves them committed until a later collection compacts). The
 * `gc` function exists only in contexts made after `--expose-gc`, hence the new context.
 */
function compactingCollection(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--compact-on-every-full-gc');
  // The bytecode of functions that ran only during start-up (config, parts, first passes) would
  // stay until five idle full collections had aged it, which an idle box may never see: flushed
  // now (−0.7 MB of heap, −1.5 MB committed); a function needed again compiles again. Two
  // collections: the first marks the bytecode old, the second lets it go.
  setFlagsFromString('--stress-flush-code');
  try {
    gc();
    gc();
  } finally {
    setFlagsFromString('--no-stress-flush-code');
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

import type { Logger } from '../model';
import type { DedupIndex } from '../pipeline/dedup-index';
import type { PunchJournal } from './journal';

const HOUR_MS = 3_600_000;

/** Nothing holds the journal back: the default of `queryStoreHolds` when there is no query store. */
const EVERYTHING = (): number => Number.POSITIVE_INFINITY;

/**
 * Retention, once at start and then hourly: a journal segment goes once every upstream passed it,
 * the query store holds its punches, and it is old enough; the de-duplication index forgets what
 * fell out of its window.
 */
export class Housekeeping {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      readonly journal: PunchJournal;
      readonly dedup: DedupIndex;
      /** The journal sequence every enabled upstream has acknowledged. */
      readonly acknowledged: () => number;
      /**
       * The highest journal sequence the query store holds (its rows are durable there), so a
       * segment is never deleted before the page can show its punches without it. Default: everything.
       */
      readonly queryStoreHolds?: () => number;
      readonly logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    await this.run();
    this.timer = setInterval(() => void this.run(), HOUR_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async run(): Promise<void> {
    try {
      const stored = (this.deps.queryStoreHolds ?? EVERYTHING)();
      await this.deps.journal.prune(Math.min(this.deps.acknowledged(), stored));
      this.deps.dedup.prune();
    } catch (error) {
      this.deps.logger.error({ error: (error as Error).message }, 'housekeeping failed');
    }
  }
}

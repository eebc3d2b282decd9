import type { Logger } from '../model';
import type { DedupIndex } from '../pipeline/dedup-index';
import type { PunchJournal } from './journal';

const HOUR_MS = 3_600_000;

/**
 * Retention, once at start and then hourly: a journal segment goes once every upstream passed it
 * and it is old enough, and the de-duplication index forgets what fell out of its window.
 */
export class Housekeeping {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      readonly journal: PunchJournal;
      readonly dedup: DedupIndex;
      /** The journal sequence every enabled upstream has acknowledged. */
      readonly acknowledged: () => number;
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
      await this.deps.journal.prune(this.deps.acknowledged());
      this.deps.dedup.prune();
    } catch (error) {
      this.deps.logger.error({ error: (error as Error).message }, 'housekeeping failed');
    }
  }
}

import type { Logger, PunchCursor } from '../model';

export interface LogClearanceDeps {
  /** The driver's `clearJournaledLog`: clears only while the log holds exactly the records up to `cursor`. */
  readonly clear: (cursor: PunchCursor) => Promise<PunchCursor | null>;
  /** The journal's highest durable sequence number. */
  readonly journalLastSeq: () => number;
  /** True once every enabled upstream has acknowledged every punch up to `seq` (true when none is enabled). */
  readonly upstreamsPassed: (seq: number) => boolean;
  /** True while the journal refuses writes and punches wait in memory. */
  readonly journalTrouble: () => boolean;
  readonly logger: Logger;
}

/**
 * When a terminal's log may be emptied (ZK `clearLogAfterJournal`). The terminal's log is the last
 * copy of a punch outside the gateway's disk, so it goes only when the punches it holds are both
 * durable in the journal and acknowledged by every enabled platform: a dead data disk then loses
 * nothing the platforms do not already have.
 *
 * The supervisor stores a terminal cursor only after every punch up to it is journaled, so when a
 * cursor is first seen here no punch it covers has a sequence number above the journal's last one.
 * That number is the mark the upstreams must pass. It is an upper bound (other terminals' punches
 * raise it too): clearing may wait a little longer, never come too early. A cursor that keeps moving
 * (a busy terminal) keeps moving the mark; the log is cleared at the first quiet catch-up after the
 * platforms have caught up, and the driver refuses if a punch landed in between.
 */
export class JournaledLogClearance {
  private cursorKey: string | undefined;
  private mark = 0;

  constructor(private readonly deps: LogClearanceDeps) {}

  /**
   * Called after each catch-up whose cursor was stored, never concurrently with another catch-up
   * of the same terminal. Resolves with the cursor to store when it cleared the log, else null.
   */
  async afterCatchUp(cursor: PunchCursor): Promise<PunchCursor | null> {
    const key = JSON.stringify(cursor);
    if (key !== this.cursorKey) {
      this.cursorKey = key;
      this.mark = this.deps.journalLastSeq();
    }
    if (this.deps.journalTrouble() || !this.deps.upstreamsPassed(this.mark)) return null;
    const next = await this.deps.clear(cursor);
    if (next) {
      this.deps.logger.info(
        { acknowledgedUpTo: this.mark },
        'terminal log cleared: every punch in it was journaled and acknowledged upstream',
      );
      this.cursorKey = JSON.stringify(next);
      this.mark = this.deps.journalLastSeq();
    }
    return next;
  }
}

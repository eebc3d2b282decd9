import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * One chunk of a whole-site document (an .xlsx file, the print view, a month's JSON) at a time,
 * across the gateway. A document costs ≈ 0.1–0.7 s of the event loop; ten downloads at once each
 * taking their slice of every turn made a 30 ms page wait seconds, and the ZK links sharing the loop
 * with them. In line, a page (and a terminal's answer) waits for one chunk at most.
 *
 * The turn goes to the oldest document waiting for one (its `ticket`): documents are written one
 * after the other, each to its end, not all at once. Shared chunk by chunk, each of ten downloads
 * took ten times its own time (the month's xlsx, 0.6 s alone, 4.5 s under the web benchmark's load);
 * in order, the first is done in its own time and the others wait for those before them. A document
 * waiting for its client (a slow download) is not waiting for a turn, so the next one writes meanwhile.
 */
export class ExportLane {
  private busy = false;
  private tickets = 0;
  private readonly waiting: Array<{ readonly ticket: number; readonly go: () => void }> = [];

  /** `heap`: told when the lane is taken and when it falls empty (`DocumentHeap`). */
  constructor(private readonly heap?: { busy(): void; idle(): void }) {}

  /** A document's place in line, taken once when it starts: the lower, the sooner its turns. */
  ticket(): number {
    return this.tickets++;
  }

  /**
   * Resolves, a turn of the loop later at the earliest, with the function that gives the turn on
   * (idempotent). Alone, a document still gives the loop a turn between its chunks.
   */
  async turn(ticket = this.ticket()): Promise<() => void> {
    if (this.busy) await new Promise<void>((go) => this.waiting.push({ ticket, go }));
    else {
      this.busy = true;
      this.heap?.busy();
      await yieldToLoop();
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      if (this.waiting.length === 0) {
        this.busy = false;
        this.heap?.idle();
        return;
      }
      // The next one starts after a turn of the loop: pages and terminals get in between, and the
      // document giving the turn on, if it asks again meanwhile, is among those it can go to.
      void yieldToLoop().then(() => this.oldestWaiting().go());
    };
  }

  /** Documents waiting for their turn (tests, metrics). */
  get queued(): number {
    return this.waiting.length;
  }

  private oldestWaiting(): { readonly ticket: number; readonly go: () => void } {
    let at = 0;
    for (let i = 1; i < this.waiting.length; i++)
      if (this.waiting[i]!.ticket < this.waiting[at]!.ticket) at = i;
    return this.waiting.splice(at, 1)[0]!;
  }
}

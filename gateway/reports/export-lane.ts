import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * One chunk of a whole-site document (an .xlsx file, the print view, a month's JSON) at a time,
 * across the gateway, each in turn. A document costs ≈ 0.2–0.5 s of the event loop; ten downloads
 * at once each taking their slice of every turn made a 30 ms page wait seconds, and the ZK links
 * sharing the loop with them. In line, a page (and a terminal's answer) waits for one chunk at most,
 * and the documents are written one after the other at full speed between pages.
 */
export class ExportLane {
  private busy = false;
  private readonly waiting: Array<() => void> = [];

  /** `heap`: told when the lane is taken and when it falls empty (`DocumentHeap`). */
  constructor(private readonly heap?: { busy(): void; idle(): void }) {}

  /**
   * Resolves, a turn of the loop later at the earliest, with the function that gives the turn on
   * (idempotent). Alone, a document still gives the loop a turn between its chunks.
   */
  async turn(): Promise<() => void> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else {
      this.busy = true;
      this.heap?.busy();
      await yieldToLoop();
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.waiting.shift();
      if (!next) {
        this.busy = false;
        this.heap?.idle();
        return;
      }
      // The next one starts after a turn of the loop: pages and terminals get in between.
      void yieldToLoop().then(next);
    };
  }

  /** Documents waiting for their turn (tests, metrics). */
  get queued(): number {
    return this.waiting.length;
  }
}

import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Exports share the one event loop with the terminal links and every other request, so they get
 * a part of it, not all of it. A cap on exports running at once (the rest wait, first come, first
 * served, having already sent their first bytes), and a share of the loop's time for all of them
 * together: after a chunk of rows that took `d` ms, the next chunk of any export starts no sooner
 * than `d · (1/share − 1)` ms later. An export is a download that takes a few seconds more; a page
 * a manager waits for, or a terminal's answer window, is not.
 */
export class ExportSlots {
  private running = 0;
  private readonly queue: Array<() => void> = [];
  /** When the next chunk of any export may start (performance.now() ms). */
  private nextChunkAt = 0;

  constructor(
    private readonly limit: number,
    /** The part of the loop's time exports may take together (0 < share ≤ 1). */
    private readonly share: number,
  ) {}

  /** Resolves with the function that gives the slot back (once; later calls do nothing). */
  async acquire(): Promise<() => void> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.queue.shift();
      // The slot passes straight to the next export: `running` stays the same.
      if (next) next();
      else this.running--;
    };
  }

  /**
   * Waits for the next chunk's turn: always one turn of the event loop (`setImmediate` runs after
   * the loop has polled for I/O), longer while the exports' share is spent.
   */
  async chunkTurn(): Promise<void> {
    await yieldToLoop();
    const rest = this.nextChunkAt - performance.now();
    if (rest >= 1) await sleep(rest);
  }

  /** A chunk just took `workedMs` of the loop. */
  worked(workedMs: number): void {
    this.nextChunkAt = Math.max(this.nextChunkAt, performance.now()) + workedMs * (1 / this.share - 1);
  }
}

import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * A long piece of work's share of a busy event loop: `await share()` between its steps gives the
 * loop a turn once the work has run `afterMs` since the last one, and returns at once before that.
 * Each turn waits for everything else queued on a busy loop, so a step pays for one only when the
 * pages and terminals it shares the loop with would otherwise wait longer than `afterMs`.
 */
export function loopShare(afterMs: number): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < afterMs) return;
    await yieldToLoop();
    since = performance.now();
  };
}

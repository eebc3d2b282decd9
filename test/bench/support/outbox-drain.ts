/**
 * A backlog drained the way the gateway drains it: journal on disk → Outbox → platform client →
 * emulator, with the cursor saved in the real cursor log. Each run gets a data folder of its own,
 * filled before the clock starts (the fill is the terminals' work, not the outbox's).
 */
import { mkdir } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { GatewayConfig } from '../../../config/schema';
import { GatewayMetrics } from '../../../gateway/metrics';
import type { Punch, Upstream } from '../../../gateway/model';
import { CursorLog } from '../../../gateway/outbox/cursor-log';
import { Outbox, type OutboxCursor, type OutboxCursors } from '../../../gateway/outbox/outbox';
import type { PunchJournal } from '../../../gateway/store/journal';
import { backlogPunch, fillJournal, openJournal, outboxFor } from '../../outbox/rig';
import { testLogger } from '../../support/logger';

export interface Backlog {
  readonly dataDir: string;
  readonly journal: PunchJournal;
  readonly punches: number;
}

/** A fresh data folder whose journal holds punches 1…`punches` (seq = punch number), durable. */
export async function journaledBacklog(dataDir: string, punches: number): Promise<Backlog> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const journal = openJournal(dataDir, testLogger('bench-journal'));
  await journal.open();
  await fillJournal(journal, 1, punches);
  return { dataDir, journal, punches };
}

/** The same punches as the journal holds, in memory, for the raw loop: nothing to read or parse. */
export function backlogInMemory(punches: number): Punch[] {
  return Array.from({ length: punches }, (_, i) => ({ ...backlogPunch(i + 1), seq: i + 1 }));
}

export interface OutboxDrain {
  readonly ms: number;
  /** CPU time of this process over the same span (the client's, with an in-process emulator's). */
  readonly cpuMs: number;
  /** Cursor commits (an append and an fdatasync each) and snapshot rewrites during the drain. */
  readonly commits: number;
  readonly compactions: number;
}

/**
 * Where a diagnostic run keeps its cursor: in memory, never saved. It shows what the journal read
 * and the outbox cost without cursor persistence; it is not how the gateway runs.
 */
class UnsavedCursors implements OutboxCursors {
  private readonly values = new Map<string, number>();
  slot(key: string): OutboxCursor {
    return {
      get: () => this.values.get(key),
      note: (seq) => void this.values.set(key, seq),
      flush: async () => undefined,
    };
  }
}

/**
 * Times one drain: from `outbox.start()` until every punch is acknowledged, `done()` agrees (the
 * platform has them) and the outbox has stopped with its cursor on disk. With `unsavedCursor`, the
 * cursor stays in memory (a diagnostic: the drain without cursor persistence).
 */
export async function drainThroughOutbox(
  backlog: Backlog,
  upstream: Upstream,
  config: GatewayConfig,
  done: () => boolean = () => true,
  unsavedCursor = false,
): Promise<OutboxDrain> {
  const logger = testLogger('bench-outbox');
  const cursors = new CursorLog({ dir: backlog.dataDir, logger });
  await cursors.open();
  const outbox = unsavedCursor
    ? new Outbox({
        upstream,
        journal: backlog.journal,
        cursor: new UnsavedCursors().slot(`outbox.${upstream.name}`),
        options: config.outbox,
        logger,
        metrics: new GatewayMetrics(),
        clock: { now: () => Date.now() },
      })
    : outboxFor(upstream, backlog.journal, cursors, config, logger);
  collectGarbage();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  outbox.start();
  // Polled every 5 ms: a few hundred wake-ups over a drain, and at most 5 ms added to it.
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 15 * 60_000;
    const check = setInterval(() => {
      if (outbox.cursor >= backlog.punches && done()) {
        clearInterval(check);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(check);
        reject(
          new Error(`outbox stuck at ${outbox.cursor}/${backlog.punches}: ${outbox.status().lastError}`),
        );
      }
    }, 5);
  });
  await outbox.stop();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  if (!unsavedCursor && cursors.durableCursor(`outbox.${upstream.name}`) !== backlog.punches)
    throw new Error('the drain ended without its cursor on disk');
  const { commits, compactions } = cursors;
  await cursors.close();
  await backlog.journal.close();
  return { ms, cpuMs: (used.user + used.system) / 1000, commits, compactions };
}

/**
 * Collects the garbage earlier work left (filling a journal makes plenty), so that a timed run
 * pays only for its own. Both paths of a benchmark call it before their clock starts.
 */
export const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

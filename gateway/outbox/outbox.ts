import { backoffDelay } from '../../lib/backoff';
import { WakeTimer } from '../../lib/wake-timer';
import type { GatewayMetrics } from '../metrics';
import type { ClockSource, Logger, Punch, Upstream } from '../model';
import type { PunchJournal } from '../store/journal';
import { JournalReader } from '../store/journal-reader';

export interface OutboxOptions {
  /** The least wait after a failure: the first back-off is between this and twice this. */
  readonly initialBackoffMs: number;
  /** The longest wait between two attempts, whatever the upstream asks for. */
  readonly maxBackoffMs: number;
  /** A delivery taking longer than this counts as failed (its punches are sent again). */
  readonly deliveryTimeoutMs?: number;
  /** How long to idle when the journal has nothing new (an append wakes it sooner). */
  readonly idlePollMs?: number;
  /**
   * At most this many acknowledged batches may have a cursor that is not on disk yet: the outbox
   * waits for the save before sending more. A crash re-sends at most this many batches (counting the
   * one in flight). 1 = a save per batch, the cursor durable before the next batch goes.
   */
  readonly cursorSaveBatches?: number;
  /** An acknowledged batch's cursor starts to be saved within this long, however few batches follow. */
  readonly cursorSaveMs?: number;
}

/** Where an outbox keeps its cursor: noted in memory as batches are acknowledged, made durable by `flush`. */
export interface OutboxCursor {
  /** The last acknowledged sequence number (on disk or on its way). */
  get(): number | undefined;
  /** Records that every punch up to `seq` is acknowledged; writes nothing yet. */
  note(seq: number): void;
  /**
   * Resolves once everything noted so far is on disk; rejects when the disk refused it (the values
   * stay noted for the next flush). Calls that overlap share one write and one sync.
   */
  flush(): Promise<void>;
}

/** Every outbox's cursor, by key (`outbox.<upstream>`). */
export interface OutboxCursors {
  slot(key: string): OutboxCursor;
}

const DEFAULT_CURSOR_SAVE_BATCHES = 32;
/**
 * Punches kept decoded ahead of the batch being sent: about ten Deli batches, so a chunk's file read
 * (when the read lines run out) has several round trips to finish before the next batch needs it.
 */
const READ_AHEAD_PUNCHES = 512;
const DEFAULT_CURSOR_SAVE_MS = 1000;

export interface OutboxStatus {
  readonly upstream: string;
  readonly cursor: number;
  readonly backlog: number;
  readonly consecutiveFailures: number;
  readonly lastDeliveredAt?: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly nextAttemptAt?: number;
}

/**
 * Feeds one upstream from the journal, in order, from its own cursor. The cursor moves only past
 * punches the platform acknowledged. Saving it is not a step of every batch (a sync per batch made
 * a backlog drain 5× slower than the platform allows): saves run beside the deliveries, and the
 * outbox waits for one only when `cursorSaveBatches` acknowledged batches are not on disk yet, so a
 * crash re-sends at most that many batches, counting the one in flight.
 */
export class Outbox {
  private reader: JournalReader | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  /** The read-ahead started beside the last delivery; never rejects. */
  private readAhead: Promise<void> = Promise.resolve();
  private readonly timer = new WakeTimer();
  private unsubscribe: (() => void) | undefined;
  private failures = 0;
  private lastDeliveredAt: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private nextAttemptAt: number | undefined;

  constructor(
    private readonly deps: {
      readonly upstream: Upstream;
      readonly journal: PunchJournal;
      readonly cursor: OutboxCursor;
      readonly options: OutboxOptions;
      readonly logger: Logger;
      readonly metrics: GatewayMetrics;
      readonly clock: ClockSource;
      readonly random?: () => number;
    },
  ) {}

  get name(): string {
    return this.deps.upstream.name;
  }

  get cursor(): number {
    return this.deps.cursor.get() ?? 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.reader = new JournalReader(this.deps.journal, this.cursor);
    this.unsubscribe = this.deps.journal.onAppend(() => {
      this.updateBacklogGauge();
      // Ends an idle wait only: a back-off after a failure runs its full length, whatever arrives.
      this.timer.nudge();
    });
    this.updateBacklogGauge();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.timer.interrupt();
    await this.loop;
    await this.readAhead;
    await this.saveCursor();
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
  }

  /** Skips the current backoff (the page's "retry now"). */
  retryNow(): void {
    this.failures = 0;
    this.nextAttemptAt = undefined;
    this.timer.interrupt();
  }

  status(): OutboxStatus {
    return {
      upstream: this.name,
      cursor: this.cursor,
      backlog: Math.max(0, this.deps.journal.lastSeq - this.cursor),
      consecutiveFailures: this.failures,
      lastDeliveredAt: this.lastDeliveredAt,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      nextAttemptAt: this.nextAttemptAt,
    };
  }

  private async run(): Promise<void> {
    const idleMs = this.deps.options.idlePollMs ?? 5000;
    const maxBatch = Math.max(1, this.deps.upstream.maxBatch);
    const readAhead = Math.max(2 * maxBatch, READ_AHEAD_PUNCHES);
    while (this.running) {
      let batch: Punch[];
      try {
        batch = await this.reader!.peek(maxBatch);
      } catch (error) {
        this.noteFailure(`journal read failed: ${(error as Error).message}`);
        await this.pause();
        continue;
      }
      if (batch.length === 0) {
        // Caught up: nothing to send, so the cursor can reach the disk now.
        await this.saveCursor();
        await this.timer.sleep(idleMs);
        continue;
      }
      const delivery = this.deliver(batch);
      // While the platform works on this batch, the next punches are decoded and, when the lines read
      // run out, the next chunk is read: the journal's share of a backlog drain overlaps the wait for
      // the answer, and the next batch waits for neither while punches are at hand. A read error
      // shows at the next peek.
      this.readAhead = this.reader!.prefetch(readAhead).then(
        () => undefined,
        () => undefined,
      );
      const acknowledged = await delivery;
      if (acknowledged > 0) {
        const lastAcked = batch[acknowledged - 1]!.seq;
        // Even when the disk refuses the cursor, the platform has these: never send them again in this
        // run. Only a restart before the cursor reaches the disk would repeat them.
        this.reader!.advance(lastAcked);
        this.deps.metrics.delivered.inc({ upstream: this.name }, acknowledged);
        this.lastDeliveredAt = this.deps.clock.now();
        this.updateBacklogGauge();
        await this.noteAcknowledged(lastAcked);
      }
      if (acknowledged === batch.length) {
        this.failures = 0;
        this.nextAttemptAt = undefined;
      } else if (acknowledged === 0) {
        await this.saveCursor();
        await this.pause();
      }
      // A partial acknowledgement made progress: send the rest straight away.
    }
  }

  private async deliver(batch: readonly Punch[]): Promise<number> {
    const timeoutMs = this.deps.options.deliveryTimeoutMs ?? 120_000;
    let timeout: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        this.deps.upstream.deliver(batch),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`delivery timed out after ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      const acknowledged = Math.min(batch.length, Math.max(0, Math.floor(result.acknowledged)));
      if (acknowledged < batch.length) {
        this.noteFailure(
          result.error ?? `${batch.length - acknowledged} of ${batch.length} not acknowledged`,
          result.retryAfterMs,
        );
      }
      return acknowledged;
    } catch (error) {
      this.noteFailure((error as Error).message);
      return 0;
    } finally {
      clearTimeout(timeout);
    }
  }

  private requestedPauseMs: number | undefined;
  /** Why the last cursor save failed (disk full); cleared by the next one that works. */
  private cursorUnsaved: string | undefined;
  /** The last sequence number of each acknowledged batch whose cursor is not known to be on disk. */
  private readonly unsaved: number[] = [];
  private saving: Promise<void> | undefined;
  private saveTimer: NodeJS.Timeout | undefined;

  private get cursorSaveBatches(): number {
    return Math.max(1, this.deps.options.cursorSaveBatches ?? DEFAULT_CURSOR_SAVE_BATCHES);
  }

  private async noteAcknowledged(seq: number): Promise<void> {
    this.deps.cursor.note(seq);
    this.unsaved.push(seq);
    const bound = this.cursorSaveBatches;
    if (this.unsaved.length >= bound) {
      // The re-send bound: no further batch goes out until these cursors are on disk.
      await this.saveCursor();
    } else if (!this.saving && this.unsaved.length >= Math.ceil(bound / 4)) {
      // A quarter of the way: start a save beside the deliveries, so that even a disk whose sync
      // takes as long as a dozen batches seldom makes the outbox wait for the bound.
      void this.saveCursor();
    } else {
      this.armSaveTimer();
    }
  }

  /** Makes every cursor noted so far durable; never rejects (a refused save is reported, and delivery goes on). */
  private saveCursor(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.unsaved.length === 0 && !this.cursorUnsaved) return this.saving ?? Promise.resolve();
    const upTo = this.unsaved.at(-1) ?? this.cursor;
    const saving: Promise<void> = this.deps.cursor
      .flush()
      .then(
        () => {
          if (this.cursorUnsaved)
            this.deps.logger.info({ upstream: this.name, cursor: upTo }, 'outbox cursor saved again');
          this.cursorUnsaved = undefined;
        },
        (error: Error) => {
          if (!this.cursorUnsaved) {
            this.deps.logger.error(
              { upstream: this.name, error: error.message },
              'outbox cursor not saved; delivery goes on',
            );
          }
          this.cursorUnsaved = error.message;
        },
      )
      .finally(() => {
        // Saved or refused, these batches no longer hold deliveries back: a full disk must not stop
        // punches that the platform can take (the cursor log keeps them noted and tries again).
        while (this.unsaved.length > 0 && this.unsaved[0]! <= upTo) this.unsaved.shift();
        if (this.saving === saving) this.saving = undefined;
        if (this.unsaved.length > 0) this.armSaveTimer();
      });
    this.saving = saving;
    return saving;
  }

  private armSaveTimer(): void {
    if (this.saveTimer || !this.running) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.saveCursor();
    }, this.deps.options.cursorSaveMs ?? DEFAULT_CURSOR_SAVE_MS);
    this.saveTimer.unref();
  }

  private noteFailure(message: string, retryAfterMs?: number): void {
    this.failures++;
    this.lastError = message;
    this.lastErrorAt = this.deps.clock.now();
    this.requestedPauseMs = retryAfterMs;
    this.deps.metrics.deliveryFailures.inc({ upstream: this.name });
    this.deps.logger.warn(
      { upstream: this.name, failures: this.failures, error: message },
      'delivery not acknowledged; will retry',
    );
  }

  /**
   * Waits before the next attempt. A platform that asks for a longer pause (its own back-off, a
   * configuration alert) gets it; a shorter one never cuts our back-off short. `maxBackoffMs` bounds
   * every wait, so a platform that is back is tried again within it, whatever it asked for.
   */
  private async pause(): Promise<void> {
    const { initialBackoffMs, maxBackoffMs } = this.deps.options;
    const computed = backoffDelay(this.failures, {
      initialMs: initialBackoffMs,
      maxMs: maxBackoffMs,
      neverBelowInitial: true,
      random: this.deps.random,
    });
    const delay = Math.min(maxBackoffMs, Math.max(computed, this.requestedPauseMs ?? 0));
    this.requestedPauseMs = undefined;
    this.nextAttemptAt = this.deps.clock.now() + delay;
    if (this.running) await this.timer.sleep(delay, true);
  }

  private updateBacklogGauge(): void {
    this.deps.metrics.backlog.set(
      { upstream: this.name },
      Math.max(0, this.deps.journal.lastSeq - this.cursor),
    );
  }
}

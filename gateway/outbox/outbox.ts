import { backoffDelay } from '../../lib/backoff';
import { WakeTimer } from '../../lib/wake-timer';
import type { GatewayMetrics } from '../metrics';
import type { ClockSource, Logger, Punch, StateSlot, Upstream } from '../model';
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
}

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
 * punches the platform acknowledged, and is durable before the next batch is read, so a crash
 * re-sends at most the batch that was in flight.
 */
export class Outbox {
  private reader: JournalReader | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
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
      readonly cursor: StateSlot<number>;
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
    while (this.running) {
      let batch: Punch[];
      try {
        batch = await this.reader!.peek(Math.max(1, this.deps.upstream.maxBatch));
      } catch (error) {
        this.noteFailure(`journal read failed: ${(error as Error).message}`);
        await this.pause();
        continue;
      }
      if (batch.length === 0) {
        if (this.cursorUnsaved) await this.saveCursor(this.cursor);
        await this.timer.sleep(idleMs);
        continue;
      }
      const acknowledged = await this.deliver(batch);
      if (acknowledged > 0) {
        const lastAcked = batch[acknowledged - 1]!.seq;
        await this.saveCursor(lastAcked);
        // Even when the disk refused the cursor, the platform has these: never send them again in this
        // run. Only a restart before the cursor reaches the disk would repeat them.
        this.reader!.advance(lastAcked);
        this.deps.metrics.delivered.inc({ upstream: this.name }, acknowledged);
        this.lastDeliveredAt = this.deps.clock.now();
        this.updateBacklogGauge();
      }
      if (acknowledged === batch.length) {
        this.failures = 0;
        this.nextAttemptAt = undefined;
      } else if (acknowledged === 0) {
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
  /** Why the last cursor write failed (disk full); cleared by the next one that works. */
  private cursorUnsaved: string | undefined;

  private async saveCursor(seq: number): Promise<void> {
    try {
      await this.deps.cursor.set(seq);
      if (this.cursorUnsaved)
        this.deps.logger.info({ upstream: this.name, cursor: seq }, 'outbox cursor saved again');
      this.cursorUnsaved = undefined;
    } catch (error) {
      if (!this.cursorUnsaved) {
        this.deps.logger.error(
          { upstream: this.name, error: (error as Error).message },
          'outbox cursor not saved; delivery goes on',
        );
      }
      this.cursorUnsaved = (error as Error).message;
    }
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

import { backoffDelay } from '../../lib/backoff';
import { settlesWithin } from '../../lib/settle-within';
import { WakeTimer } from '../../lib/wake-timer';
import { punchTimeToUtcMs, utcMsToWall } from '../../lib/wall-clock';
import type { EventBus } from '../events';
import type { GatewayMetrics } from '../metrics';
import type {
  ClockSource,
  Logger,
  PunchBatch,
  PunchCursor,
  PunchTime,
  RawPunch,
  StateSlot,
  TerminalDriver,
} from '../model';
import { JournalUnavailableError, type PunchPipeline } from '../pipeline/pipeline';
import type { JournaledLogClearance } from './log-clearance';

/** A disconnect gets this long; a stuck one must not keep the terminal offline or the gateway from stopping. */
const DISCONNECT_BOUND_MS = 5_000;

export interface SupervisorOptions {
  readonly pollSeconds: number;
  readonly clockToleranceSeconds: number;
  readonly syncClock: boolean;
  readonly timezone: string;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Check the terminal's clock every this many catch-up reads (and on every connect). */
  readonly clockCheckEvery?: number;
}

export interface TerminalStatus {
  readonly id: string;
  readonly kind: string;
  readonly online: boolean;
  readonly lastPunchAt?: number;
  readonly lastCatchUpAt?: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly clockOffsetSeconds?: number;
  readonly clockCorrectedAt?: number;
  readonly consecutiveFailures: number;
  readonly userCount?: number;
  readonly recordCount?: number;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
  /** The driver's lasting alerts (TerminalHealth.alerts). */
  readonly alerts?: readonly string[];
}

/**
 * Keeps one terminal connected and its punches flowing: connects with backoff and jitter,
 * takes real-time punches, catches up from the stored cursor after every (re)connect and every
 * `pollSeconds`, and keeps the terminal's clock within tolerance. Each terminal has its own
 * supervisor, so a dead one never holds up the others.
 */
export class TerminalSupervisor {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly timer = new WakeTimer();
  private connected = false;
  private failures = 0;
  private lastPunchAt: number | undefined;
  private lastCatchUpAt: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private clockOffsetSeconds: number | undefined;
  private clockCorrectedAt: number | undefined;
  private catchUpRunning: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      readonly driver: TerminalDriver;
      readonly options: SupervisorOptions;
      readonly pipeline: PunchPipeline;
      readonly cursor: StateSlot<PunchCursor | null>;
      readonly bus: EventBus;
      readonly metrics: GatewayMetrics;
      readonly clock: ClockSource;
      readonly logger: Logger;
      /** Set when the terminal's log is to be emptied once journaled and acknowledged (`clearLogAfterJournal`). */
      readonly logClearance?: JournaledLogClearance;
    },
  ) {}

  get id(): string {
    return this.deps.driver.id;
  }

  get driver(): TerminalDriver {
    return this.deps.driver;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer.interrupt();
    await this.loop;
  }

  /** Reads the terminal's log now (the page's "catch up"), without waiting for the poll. */
  async catchUpNow(): Promise<void> {
    if (!this.connected) throw new Error(`terminal ${this.id} is offline`);
    await this.catchUp();
  }

  /** Reads the clock and corrects it when it is off by more than the tolerance (or when forced). */
  async checkClock(force = false): Promise<number> {
    const { driver, clock, logger } = this.deps;
    const { timezone, clockToleranceSeconds, syncClock } = this.deps.options;
    const terminalTime = await driver.getTime();
    const now = clock.now();
    const offset = Math.round((punchTimeToUtcMs(terminalTime, timezone) - now) / 1000);
    this.clockOffsetSeconds = offset;
    if ((force || (syncClock && Math.abs(offset) > clockToleranceSeconds)) && driver.capabilities().clock) {
      const corrected: PunchTime =
        'wall' in terminalTime ? { wall: utcMsToWall(clock.now(), timezone) } : { utcMs: clock.now() };
      await driver.setTime(corrected);
      logger.info({ offsetSeconds: offset }, 'terminal clock corrected');
      this.clockCorrectedAt = clock.now();
      this.clockOffsetSeconds = 0;
    }
    return offset;
  }

  status(): TerminalStatus {
    const health = this.deps.driver.health();
    return {
      id: this.id,
      kind: this.deps.driver.kind,
      online: this.connected && health.online,
      lastPunchAt: this.lastPunchAt,
      lastCatchUpAt: this.lastCatchUpAt,
      lastError: this.lastError ?? health.lastError,
      lastErrorAt: this.lastErrorAt ?? health.lastErrorAt,
      clockOffsetSeconds: this.clockOffsetSeconds ?? health.clockOffsetSeconds,
      clockCorrectedAt: this.clockCorrectedAt,
      consecutiveFailures: this.failures,
      userCount: health.userCount,
      recordCount: health.recordCount,
      details: health.details,
      alerts: health.alerts,
    };
  }

  private async run(): Promise<void> {
    const { driver, logger } = this.deps;
    while (this.running) {
      const cleanups: Array<() => void> = [];
      try {
        await driver.connect();
        this.setOnline(true);
        this.failures = 0;
        cleanups.push(driver.subscribe((punches) => this.takeRealtime(punches)));
        cleanups.push(
          driver.onDisconnect((reason) => {
            this.note(`connection lost: ${reason.message}`);
            this.setOnline(false);
            this.timer.interrupt();
          }),
        );
        // Punches first: what the terminal stored while we were away is journaled before the clock
        // check and before the reconciler (woken by 'terminal.caughtUp') takes the link.
        let polls = 0;
        while (this.running && this.connected) {
          try {
            await this.catchUp();
          } finally {
            if (polls === 0) this.deps.bus.emit('terminal.caughtUp', this.id);
          }
          if (polls === 0) await this.checkClockSafely();
          if (++polls % (this.deps.options.clockCheckEvery ?? 60) === 0) await this.checkClockSafely();
          await this.timer.sleep(this.deps.options.pollSeconds * 1000);
        }
      } catch (error) {
        this.failures++;
        this.note((error as Error).message);
        logger.warn(
          { failures: this.failures, error: (error as Error).message },
          'terminal unavailable; will reconnect',
        );
      } finally {
        for (const cleanup of cleanups) cleanup();
        this.setOnline(false);
        // A driver whose close never returns would otherwise keep this terminal offline until a restart.
        if (!(await settlesWithin(driver.disconnect(), DISCONNECT_BOUND_MS))) {
          this.deps.logger.warn(
            { boundMs: DISCONNECT_BOUND_MS },
            'terminal disconnect did not finish; reconnecting anyway',
          );
        }
      }
      if (!this.running) break;
      const delay = backoffDelay(Math.max(1, this.failures), {
        initialMs: this.deps.options.initialBackoffMs ?? 1000,
        maxMs: this.deps.options.maxBackoffMs ?? 60_000,
      });
      await this.timer.sleep(delay);
    }
  }

  private async catchUp(): Promise<void> {
    // Real-time and poll may both ask; one read at a time keeps the cursor monotonic.
    if (this.catchUpRunning) return this.catchUpRunning;
    this.catchUpRunning = (async () => {
      const ingest = async (punches: readonly RawPunch[]): Promise<void> => {
        await this.deps.pipeline.ingest(punches);
        this.lastPunchAt = this.deps.clock.now();
      };
      let batch: PunchBatch;
      try {
        // Punches streamed while the download runs are normalized and journaled meanwhile.
        batch = await this.deps.driver.readPunchesSince(this.deps.cursor.get() ?? null, ingest);
        if (batch.cursorReset) {
          this.deps.logger.warn(
            {},
            'terminal log shrank (reboot or cleared); re-read from its start, duplicates are recognised',
          );
        }
        if (batch.punches.length > 0) await ingest(batch.punches);
      } catch (error) {
        // The terminal is fine; our disk is not. Keep the link and the cursor: its log still holds them.
        if (error instanceof JournalUnavailableError) {
          this.note(error.message);
          return;
        }
        throw error;
      }
      let cursorSaved = true;
      try {
        await this.deps.cursor.set(batch.cursor);
      } catch (error) {
        // The punches are journaled; a stale cursor on disk only means a re-read that de-duplication absorbs.
        this.note(`terminal cursor not saved: ${(error as Error).message}`);
        cursorSaved = false;
      }
      this.lastCatchUpAt = this.deps.clock.now();
      if (cursorSaved) await this.clearLogSafely(batch.cursor);
    })();
    try {
      await this.catchUpRunning;
    } finally {
      this.catchUpRunning = undefined;
    }
  }

  /** Inside the catch-up's turn, so no other read of this terminal's log runs meanwhile. */
  private async clearLogSafely(cursor: PunchCursor): Promise<void> {
    const clearance = this.deps.logClearance;
    if (!clearance) return;
    let next: PunchCursor | null;
    try {
      next = await clearance.afterCatchUp(cursor);
    } catch (error) {
      // The log keeps its punches; the next catch-up tries again (a dropped link reconnects first).
      this.note(`terminal log not cleared: ${(error as Error).message}`);
      return;
    }
    if (!next) return;
    try {
      await this.deps.cursor.set(next);
    } catch (error) {
      // The stored cursor is now past the emptied log: the next read starts over and de-duplication absorbs it.
      this.note(`terminal cursor not saved after clearing its log: ${(error as Error).message}`);
    }
  }

  private async takeRealtime(punches: readonly RawPunch[]): Promise<void> {
    await this.deps.pipeline.ingest(punches);
    this.lastPunchAt = this.deps.clock.now();
  }

  private async checkClockSafely(): Promise<void> {
    if (!this.deps.driver.capabilities().clock) return;
    try {
      await this.checkClock();
    } catch (error) {
      this.note(`clock check failed: ${(error as Error).message}`);
    }
  }

  private setOnline(online: boolean): void {
    if (this.connected === online) return;
    this.connected = online;
    this.deps.metrics.terminalOnline.set({ terminal: this.id }, online ? 1 : 0);
    this.deps.bus.emit('terminal.online', this.id, online);
  }

  private note(message: string): void {
    this.lastError = message;
    this.lastErrorAt = this.deps.clock.now();
    this.deps.bus.emit('terminal.error', this.id, message);
  }
}

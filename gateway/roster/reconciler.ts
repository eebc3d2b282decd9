import { backoffDelay } from '../../lib/backoff';
import { WakeTimer } from '../../lib/wake-timer';
import type { EventBus } from '../events';
import {
  type ClockSource,
  type Logger,
  type TerminalCapabilities,
  type TerminalDriver,
  TerminalFullError,
} from '../model';
import type { BlobStore } from '../store/blobs';
import type { AppliedRecord } from '../store/reconciler-records';
import { type PassProgress, PlanRunner, type PlanRunnerOptions } from './plan-runner';
import { planReconcile, type ReconcilePlan } from './reconcile-plan';
import type { Roster } from './roster';
import { WorkerDigests } from './worker-digests';

export { toTerminalUser } from './reconcile-plan';

export interface ReconcilerOptions extends PlanRunnerOptions {
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface ReconcileStatus {
  readonly terminalId: string;
  readonly applicable: boolean;
  readonly inSync: boolean;
  /** Changes known to be waiting for this terminal. */
  readonly pending: number;
  readonly lastRunAt?: number;
  readonly lastSyncedAt?: number;
  readonly lastError?: string;
  /** Users on the terminal the roster does not know (kept: they may be the site's administrators). */
  readonly foreignUsers: number;
  /** The terminal refused users for lack of room: reported, never hidden. */
  readonly full: boolean;
  readonly stepsDone: number;
}

/**
 * Converges one terminal to the roster: every active worker present with the right name, card,
 * password, compatible templates and (on face terminals) photo; every removed worker gone.
 * Steps are idempotent and rate-limited; a failure leaves the rest for the next run, which comes
 * after a backoff, on every roster change and whenever the terminal comes back online.
 */
export class Reconciler {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly timer = new WakeTimer();
  private unsubscribes: Array<() => void> = [];
  private failures = 0;
  private dirty = true;
  private lastRunAt: number | undefined;
  private lastSyncedAt: number | undefined;
  private lastError: string | undefined;
  private foreignUsers = 0;
  private applicable = true;
  private readonly progress: PassProgress = { pending: 0, full: false };
  private readonly runner: PlanRunner;
  private readonly digests: WorkerDigests;

  constructor(
    private readonly deps: {
      readonly terminalId: string;
      readonly driver: TerminalDriver;
      readonly roster: Roster;
      readonly blobs: BlobStore;
      /** What was written to this terminal (gateway/store/reconciler-records.ts). */
      readonly record: AppliedRecord;
      /** Digests shared with the other terminals' reconcilers; a reconciler alone keeps its own. */
      readonly digests?: WorkerDigests;
      readonly bus: EventBus;
      readonly clock: ClockSource;
      readonly logger: Logger;
      readonly options: ReconcilerOptions;
      /** Whether the terminal is connected now (from its supervisor). */
      readonly isOnline: () => boolean;
    },
  ) {
    this.runner = new PlanRunner(deps);
    this.digests = deps.digests ?? new WorkerDigests();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribes.push(
      this.deps.bus.on('roster.changed', () => this.requestRun()),
      // Not on 'terminal.online': the punches the terminal kept while it was away are read first.
      this.deps.bus.on('terminal.caughtUp', (id) => {
        if (id === this.deps.terminalId) this.requestRun();
      }),
    );
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    this.unsubscribes = [];
    this.timer.interrupt();
    await this.loop;
  }

  /** Runs a pass as soon as possible (roster change, "reconcile now" on the page). */
  requestRun(): void {
    this.dirty = true;
    this.failures = 0;
    this.timer.interrupt();
  }

  /** Whether this terminal got the worker with this PIN as the roster has them now (or last time). */
  holds(pin: string): boolean {
    return this.deps.record.digests.has(pin);
  }

  status(): ReconcileStatus {
    return {
      terminalId: this.deps.terminalId,
      applicable: this.applicable,
      // A terminal that holds no users (a plain Modbus turnstile) has nothing to be out of sync with.
      inSync:
        !this.applicable || (!this.dirty && this.progress.pending === 0 && this.lastError === undefined),
      pending: this.progress.pending,
      lastRunAt: this.lastRunAt,
      lastSyncedAt: this.lastSyncedAt,
      lastError: this.lastError,
      foreignUsers: this.foreignUsers,
      full: this.progress.full,
      stepsDone: this.runner.stepsDone,
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (!this.dirty) {
        await this.timer.sleep(30_000);
        continue;
      }
      if (!this.deps.isOnline()) {
        // Pushing terminals (ADMS) count as online only once they have called in: look again soon.
        await this.timer.sleep(2_000);
        continue;
      }
      this.dirty = false;
      try {
        await this.reconcileOnce();
        this.failures = 0;
        this.lastError = undefined;
        this.lastSyncedAt = this.deps.clock.now();
      } catch (error) {
        this.failures++;
        this.dirty = true;
        this.lastError = (error as Error).message;
        this.deps.logger.warn(
          { terminalId: this.deps.terminalId, error: this.lastError, failures: this.failures },
          'roster not yet on the terminal; will retry',
        );
        await this.timer.sleep(
          backoffDelay(this.failures, {
            initialMs: this.deps.options.initialBackoffMs ?? 2000,
            maxMs: this.deps.options.maxBackoffMs ?? 120_000,
          }),
        );
      }
    }
  }

  /**
   * The terminal's listing (5,000 users on a big site) lives only in here: the pass that follows
   * may take minutes, and 20 terminals' listings kept meanwhile cost megabytes.
   */
  private async plan(capabilities: TerminalCapabilities): Promise<ReconcilePlan> {
    const held = await this.deps.driver.listUsers();
    return planReconcile({
      workers: this.deps.roster.list(),
      held,
      applied: this.deps.record.digests,
      capabilities,
      digest: (worker) => this.digests.of(worker, capabilities),
    });
  }

  /** One pass: one listing of the terminal's users, a plan of what differs, then only those steps. */
  async reconcileOnce(): Promise<void> {
    const { driver } = this.deps;
    this.lastRunAt = this.deps.clock.now();
    const capabilities = driver.capabilities();
    this.applicable = capabilities.users;
    if (!capabilities.users) {
      this.progress.pending = 0;
      return;
    }
    const plan = await this.plan(capabilities);
    this.foreignUsers = plan.foreignUsers;
    this.progress.pending = plan.removals.length + plan.writes.length + plan.notAdded.length;
    this.progress.full = plan.full;
    if (plan.notAdded.length > 0) {
      this.deps.logger.warn(
        {
          terminalId: this.deps.terminalId,
          maxUsers: capabilities.maxUsers,
          wanted: plan.activeWorkers,
          notAdded: plan.notAdded.length,
        },
        'terminal is full: not every worker fits',
      );
    }
    const leftOut = await this.runner.apply(plan, this.progress);
    if (leftOut > 0) {
      this.progress.pending = leftOut;
      throw new TerminalFullError(
        `terminal full: ${leftOut} worker(s) could not be added`,
        this.deps.terminalId,
        capabilities.maxUsers,
      );
    }
  }
}

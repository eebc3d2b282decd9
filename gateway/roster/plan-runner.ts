import {
  type BiometricTemplate,
  type ClockSource,
  type TerminalDriver,
  TerminalFullError,
  type UserWithTemplates,
} from '../model';
import type { BlobStore } from '../store/blobs';
import type { AppliedRecord } from '../store/reconciler-records';
import type { PlannedWrite, ReconcilePlan } from './reconcile-plan';

/** Longest single sleep while waiting for the rate limit: how late a fast clock is noticed. */
const WAIT_SLICE_MS = 25;

/** How far the pass in flight has got, read by the reconciler's status while the runner writes. */
export interface PassProgress {
  /** Changes still waiting for this terminal. */
  pending: number;
  /** The terminal refused users for lack of room. */
  full: boolean;
}

export interface PlanRunnerOptions {
  /** Steps (one user, template or photo written or deleted) per second at most; 0 = as fast as the terminal answers. */
  readonly maxStepsPerSecond: number;
  /** Persist progress every this many steps, so a crash mid-way does not redo everything. */
  readonly checkpointEvery?: number;
  /** Workers per bulk upload, where the driver has one. */
  readonly bulkSize?: number;
}

/**
 * Carries a plan out on one terminal: removals first (they free room, and a barred worker must
 * lose access before anything else), then the writes, in bulk where the driver has it. Every
 * terminal request is a step, spaced by the rate limit on the injected clock. Long-lived, one per
 * terminal, so the spacing holds across passes.
 */
export class PlanRunner {
  /** Terminal requests made so far, for health. */
  stepsDone = 0;
  private lastStepAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: {
      readonly driver: TerminalDriver;
      readonly blobs: BlobStore;
      /** What was written to this terminal, per PIN: a digest of the user and its biometrics. */
      readonly record: AppliedRecord;
      readonly clock: ClockSource;
      readonly options: PlanRunnerOptions;
    },
  ) {}

  /**
   * Applies `plan`, noting each write in the record (saved every `checkpointEvery` steps and at
   * the end; a save writes only when something changed). Resolves with the number of workers left
   * out for lack of room: those the plan did not fit, and those the terminal refused with a
   * TerminalFullError.
   */
  async apply(plan: ReconcilePlan, progress: PassProgress): Promise<number> {
    const { record } = this.deps;
    for (const pin of plan.removals) {
      await this.step(() => this.deps.driver.deleteUser(pin));
      record.digests.delete(pin);
      progress.pending--;
    }
    const checkpoint = this.checkpointer();
    const bulk = this.deps.driver.writeUsers?.bind(this.deps.driver);
    let refused = 0;
    if (bulk) await this.writeInBulk(bulk, plan.writes, progress, checkpoint);
    else refused = await this.writeOneByOne(plan.writes, progress, checkpoint);
    for (const pin of plan.forget) record.digests.delete(pin);
    await record.save();
    return plan.notAdded.length + refused;
  }

  /** One buffered upload per slice: filling an empty terminal costs about one round trip per worker. */
  private async writeInBulk(
    bulk: (entries: readonly UserWithTemplates[]) => Promise<void>,
    writes: readonly PlannedWrite[],
    progress: PassProgress,
    checkpoint: (done: number) => Promise<void>,
  ): Promise<void> {
    const size = this.deps.options.bulkSize ?? 200;
    for (let at = 0; at < writes.length; at += size) {
      const slice = writes.slice(at, at + size);
      // One at a time: every terminal reconciles at once, and a slice's templates need not all be read in parallel.
      const entries: UserWithTemplates[] = [];
      for (const write of slice) entries.push({ user: write.user, templates: await this.templatesOf(write) });
      await this.step(() => bulk(entries));
      for (const { pin, digest } of slice) this.deps.record.digests.set(pin, digest);
      progress.pending -= slice.length;
      await checkpoint(slice.length);
    }
  }

  /** User by user; a user the terminal has no room for is counted and skipped, the rest still go. */
  private async writeOneByOne(
    writes: readonly PlannedWrite[],
    progress: PassProgress,
    checkpoint: (done: number) => Promise<void>,
  ): Promise<number> {
    const { driver } = this.deps;
    let refused = 0;
    for (const write of writes) {
      try {
        await this.step(() => driver.upsertUser(write.user));
      } catch (error) {
        if (!(error instanceof TerminalFullError)) throw error;
        refused++;
        progress.full = true;
        continue;
      }
      for (const template of await this.templatesOf(write))
        await this.step(() => driver.writeTemplate(template));
      this.deps.record.digests.set(write.pin, write.digest);
      progress.pending--;
      await checkpoint(1);
    }
    return refused;
  }

  private checkpointer(): (done: number) => Promise<void> {
    let sinceCheckpoint = 0;
    return async (done) => {
      sinceCheckpoint += done;
      if (sinceCheckpoint >= (this.deps.options.checkpointEvery ?? 100)) {
        await this.deps.record.save();
        sinceCheckpoint = 0;
      }
    };
  }

  /** One terminal request, spaced to respect the rate limit. */
  private async step(action: () => Promise<void>): Promise<void> {
    await this.spaceOut();
    this.lastStepAt = this.deps.clock.now();
    await action();
    this.stepsDone++;
  }

  /**
   * Waits until the clock says one interval has passed since the last request. Timers run on real
   * time and the clock may not (soak tests run it fast), so the wait is cut in short slices, each
   * looking at the clock again; and it never lasts more than one interval of real time in all, so a
   * clock set back or standing still cannot stall the terminal's writes.
   */
  private async spaceOut(): Promise<void> {
    const perSecond = this.deps.options.maxStepsPerSecond;
    if (perSecond <= 0) return;
    const interval = 1000 / perSecond;
    const due = this.lastStepAt + interval;
    let slept = 0;
    for (let left = due - this.deps.clock.now(); left > 0 && slept < interval; ) {
      const slice = Math.min(left, interval - slept, WAIT_SLICE_MS);
      await new Promise((r) => setTimeout(r, slice));
      slept += slice;
      left = due - this.deps.clock.now();
    }
  }

  /** The planned templates with their bytes, read from the blob store one at a time. */
  private async templatesOf(write: PlannedWrite): Promise<BiometricTemplate[]> {
    const templates: BiometricTemplate[] = [];
    for (const t of write.templates)
      templates.push({
        pin: write.pin,
        kind: t.kind,
        index: t.index,
        format: t.format,
        data: await this.deps.blobs.get(t.blob),
      });
    return templates;
  }
}

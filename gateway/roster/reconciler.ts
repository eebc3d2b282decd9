import { createHash } from 'node:crypto';
import type { EventBus } from '../events';
import type {
  BiometricTemplate,
  ClockSource,
  Logger,
  StateSlot,
  TerminalCapabilities,
  TerminalDriver,
  TerminalUser,
  UserWithTemplates,
} from '../model';
import { backoffDelay } from '../outbox/backoff';
import { WakeTimer } from '../outbox/wake-timer';
import type { BlobStore } from '../store/blobs';
import type { Roster, Worker } from './roster';

export interface ReconcilerOptions {
  /** Steps (one user, template or photo written or deleted) per second at most; 0 = as fast as the terminal answers. */
  readonly maxStepsPerSecond: number;
  /** Persist progress every this many steps, so a crash mid-way does not redo everything. */
  readonly checkpointEvery?: number;
  /** Workers per bulk upload, where the driver has one. */
  readonly bulkSize?: number;
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

/** What the reconciler remembers having written, per PIN: a digest of the user and its biometrics. */
interface AppliedState {
  applied: Record<string, string>;
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
  private pending = 0;
  private foreignUsers = 0;
  private full = false;
  private stepsDone = 0;
  private applicable = true;
  private lastStepAt = 0;

  constructor(
    private readonly deps: {
      readonly terminalId: string;
      readonly driver: TerminalDriver;
      readonly roster: Roster;
      readonly blobs: BlobStore;
      readonly state: StateSlot<AppliedState>;
      readonly bus: EventBus;
      readonly clock: ClockSource;
      readonly logger: Logger;
      readonly options: ReconcilerOptions;
      /** Whether the terminal is connected now (from its supervisor). */
      readonly isOnline: () => boolean;
    },
  ) {}

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
    return this.deps.state.get()?.applied[pin] !== undefined;
  }

  status(): ReconcileStatus {
    return {
      terminalId: this.deps.terminalId,
      applicable: this.applicable,
      // A terminal that holds no users (a plain Modbus turnstile) has nothing to be out of sync with.
      inSync: !this.applicable || (!this.dirty && this.pending === 0 && this.lastError === undefined),
      pending: this.pending,
      lastRunAt: this.lastRunAt,
      lastSyncedAt: this.lastSyncedAt,
      lastError: this.lastError,
      foreignUsers: this.foreignUsers,
      full: this.full,
      stepsDone: this.stepsDone,
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
          backoffDelay(
            this.failures,
            this.deps.options.initialBackoffMs ?? 2000,
            this.deps.options.maxBackoffMs ?? 120_000,
          ),
        );
      }
    }
  }

  /** One pass: one listing of the terminal's users, then only the steps that differ. */
  async reconcileOnce(): Promise<void> {
    const { driver, roster, logger, terminalId } = this.deps;
    this.lastRunAt = this.deps.clock.now();
    const capabilities = driver.capabilities();
    this.applicable = capabilities.users;
    if (!capabilities.users) {
      this.pending = 0;
      return;
    }
    const actual = new Map((await driver.listUsers()).map((u) => [u.pin, u]));
    const saved = this.deps.state.get() ?? { applied: {} };
    const applied: Record<string, string> = { ...saved.applied };
    const workers = roster.list();
    const byPin = new Map(workers.map((w) => [w.pin, w]));
    const active = workers.filter((w) => w.status === 'active');
    const removals = [...actual.keys()].filter((pin) => byPin.get(pin)?.status === 'removed');
    this.foreignUsers = [...actual.keys()].filter((pin) => !byPin.has(pin)).length;

    const work: Array<{ worker: Worker; digest: string }> = [];
    for (const worker of active) {
      const digest = await this.digestOf(worker, capabilities.templateFormat, capabilities.faces);
      const present = actual.get(worker.pin);
      // Names read back may be truncated by the terminal's field width, so the digest of what was written decides.
      if (present && applied[worker.pin] === digest) continue;
      work.push({ worker, digest });
    }
    this.pending = work.length + removals.length;
    const room =
      capabilities.maxUsers === undefined
        ? Number.POSITIVE_INFINITY
        : capabilities.maxUsers - (actual.size - removals.length);
    const additions = work.filter(({ worker }) => !actual.has(worker.pin));
    this.full = additions.length > room;
    // Updates always go; additions only as far as there is room. The rest stay pending and show in health.
    const overflow = this.full ? additions.slice(Math.max(0, room)) : [];
    if (overflow.length > 0) {
      const left = new Set(overflow);
      work.splice(0, work.length, ...work.filter((entry) => !left.has(entry)));
      logger.warn(
        { terminalId, maxUsers: capabilities.maxUsers, wanted: active.length, notAdded: overflow.length },
        'terminal is full: not every worker fits',
      );
    }

    // Removals first: they free room, and a barred worker must lose access before anything else.
    for (const pin of removals) {
      await this.step(() => driver.deleteUser(pin));
      delete applied[pin];
      this.pending--;
    }
    let sinceCheckpoint = 0;
    let refusedForRoom = overflow.length;
    const checkpoint = async (done: number) => {
      sinceCheckpoint += done;
      if (sinceCheckpoint >= (this.deps.options.checkpointEvery ?? 100)) {
        await this.deps.state.set({ applied });
        sinceCheckpoint = 0;
      }
    };
    const bulk = driver.writeUsers?.bind(driver);
    if (bulk) {
      // One buffered upload per slice: filling an empty terminal costs about one round trip per worker.
      const size = this.deps.options.bulkSize ?? 200;
      for (let at = 0; at < work.length; at += size) {
        const slice = work.slice(at, at + size);
        // One at a time: every terminal reconciles at once, and a slice's templates need not all be read in parallel.
        const entries: UserWithTemplates[] = [];
        for (const { worker } of slice) entries.push(await this.entryOf(worker, capabilities));
        await this.step(() => bulk(entries));
        for (const { worker, digest } of slice) applied[worker.pin] = digest;
        this.pending -= slice.length;
        await checkpoint(slice.length);
      }
      work.length = 0;
    }
    for (const { worker, digest } of work) {
      try {
        await this.step(() => driver.upsertUser(toTerminalUser(worker)));
      } catch (error) {
        if (isCapacityError(error)) {
          refusedForRoom++;
          this.full = true;
          continue;
        }
        throw error;
      }
      for (const template of (await this.entryOf(worker, capabilities)).templates) {
        await this.step(() => driver.writeTemplate(template));
      }
      applied[worker.pin] = digest;
      this.pending--;
      await checkpoint(1);
    }
    for (const pin of Object.keys(applied))
      if (!byPin.has(pin) || byPin.get(pin)!.status === 'removed') delete applied[pin];
    await this.deps.state.set({ applied });
    if (refusedForRoom > 0) {
      this.pending = refusedForRoom;
      throw new Error(`terminal full: ${refusedForRoom} worker(s) could not be added`);
    }
  }

  /** One terminal request, spaced to respect the rate limit. */
  private async step(action: () => Promise<void>): Promise<void> {
    const perSecond = this.deps.options.maxStepsPerSecond;
    if (perSecond > 0) {
      const wait = this.lastStepAt + 1000 / perSecond - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    this.lastStepAt = Date.now();
    await action();
    this.stepsDone++;
  }

  /** The worker as this terminal should hold them: user record, compatible templates, photo where it takes faces. */
  private async entryOf(worker: Worker, capabilities: TerminalCapabilities): Promise<UserWithTemplates> {
    const templates: BiometricTemplate[] = [];
    if (capabilities.fingerprints) {
      for (const t of worker.templates) {
        if (t.kind !== 'fp' || t.format !== capabilities.templateFormat) continue;
        templates.push({
          pin: worker.pin,
          kind: 'fp',
          index: t.index,
          format: t.format,
          data: await this.deps.blobs.get(t.blob),
        });
      }
    }
    if (capabilities.faces && worker.facePhoto) {
      templates.push({
        pin: worker.pin,
        kind: 'fa',
        index: 0,
        format: 'photo',
        data: await this.deps.blobs.get(worker.facePhoto),
      });
    }
    return { user: toTerminalUser(worker), templates };
  }

  private async digestOf(
    worker: Worker,
    templateFormat: string | undefined,
    faces: boolean,
  ): Promise<string> {
    const hash = createHash('sha256');
    hash.update(JSON.stringify(toTerminalUser(worker)));
    for (const t of worker.templates)
      if (t.kind === 'fp' && t.format === templateFormat) hash.update(`fp:${t.index}:${t.blob}`);
    if (faces && worker.facePhoto) hash.update(`fa:${worker.facePhoto}`);
    return hash.digest('hex').slice(0, 24);
  }
}

export function toTerminalUser(worker: Worker): TerminalUser {
  return {
    pin: worker.pin,
    name: worker.name,
    card: worker.card ?? 0,
    password: worker.password ?? '',
    privilege: 0,
  };
}

function isCapacityError(error: unknown): boolean {
  return error instanceof Error && /\bfull\b|capacity|no room|no space/i.test(error.message);
}

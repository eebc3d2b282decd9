import type {
  BiometricPayload,
  Logger,
  RosterPort,
  StateSlot,
  WorkerChange,
  WorkerIdentity,
} from '../../gateway/model';
import type { DownMessage, SyncEntry } from './messages';

type SyncPage = Extract<DownMessage, { cmd: 'user_sync' }>;

export interface RosterSyncDeps {
  readonly logger: Logger;
  readonly roster: RosterPort;
  /** The largest Deli `update_time` (ms) whose changes are durably applied. */
  readonly watermark: StateSlot<number>;
  readonly pageSize: number;
  /** A sync that receives nothing for this long ends (see `onTimeout`). */
  readonly timeoutMs: number;
  /** Publishes `user_sync {size, update_time}`; `mid` is the user_update's for the first request. */
  sendRequest(size: number, updateTimeMs: number, mid: string | undefined): Promise<void>;
  /** Runs `task` after every message already queued, so a timeout never interleaves with a page. */
  schedule(task: () => Promise<void>): void;
}

interface Session {
  /** The user_update's `update_time`, or 0 when the app pushed pages unasked. */
  readonly target: number;
  /** `update_time` of the last request, never re-sent unchanged (docs/protocols/deli.md#roster-sync). */
  requested: number;
  maxUserUpdate: number;
  totalCount: number | undefined;
  receivedSinceTotal: number;
  reset: boolean;
  /** Deli users kept by a reset: everyone received since the reset, minus deletes. */
  readonly keep: Set<string>;
  /** A full page arrived but the users carry no newer update_time: nothing more can be asked. */
  exhausted: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface RosterSyncStats {
  completed: number;
  incomplete: number;
  usersApplied: number;
  skippedUpdates: number;
}

/**
 * The `user_update` → `user_sync` paging of docs/protocols/deli.md#roster-sync: keep applying pages until
 * `total_count` users are in or a page is short, re-ask with the largest user `update_time`
 * on a full page, apply a reset only once the whole sync has arrived, and move the watermark
 * only after everything is durable.
 */
export class RosterSync {
  private session: Session | undefined;
  private pendingUpdate: { mid: string | undefined; updateTimeMs: number } | undefined;
  readonly stats: RosterSyncStats = { completed: 0, incomplete: 0, usersApplied: 0, skippedUpdates: 0 };

  constructor(private readonly deps: RosterSyncDeps) {}

  get active(): boolean {
    return this.session !== undefined;
  }

  async onUserUpdate(mid: string | undefined, updateTimeMs: number): Promise<void> {
    if (this.session) {
      // One sync at a time; the newest notice is taken up when this one ends.
      if (!this.pendingUpdate || updateTimeMs > this.pendingUpdate.updateTimeMs)
        this.pendingUpdate = { mid, updateTimeMs };
      return;
    }
    const watermark = this.deps.watermark.get() ?? 0;
    if (updateTimeMs <= watermark) {
      this.stats.skippedUpdates++;
      this.deps.logger.debug({ updateTimeMs, watermark }, 'deli user_update not newer than the watermark');
      return;
    }
    const session = this.open(updateTimeMs, watermark);
    // Armed first: a request that never reaches the app still ends the session.
    this.arm(session);
    await this.deps.sendRequest(this.deps.pageSize, watermark, mid);
  }

  async onPage(page: SyncPage): Promise<void> {
    const session = this.session ?? this.open(0, this.deps.watermark.get() ?? 0);
    if (page.reset) {
      session.reset = true;
      session.keep.clear();
    }
    if (page.totalCount !== undefined) {
      session.totalCount = page.totalCount;
      session.receivedSinceTotal = 0;
    }
    try {
      if (page.users.length > 0) await this.deps.roster.apply(page.users.map(toChange));
    } catch (err) {
      this.deps.logger.error({ err }, 'deli user_sync page could not be applied; the watermark stays');
      await this.finish(session, false);
      return;
    }
    this.stats.usersApplied += page.users.length;
    session.receivedSinceTotal += page.users.length;
    for (const user of page.users) {
      if (user.delete) session.keep.delete(user.userId);
      else session.keep.add(user.userId);
      if (user.updateTimeMs !== undefined && user.updateTimeMs > session.maxUserUpdate)
        session.maxUserUpdate = user.updateTimeMs;
    }

    if (session.totalCount !== undefined) {
      if (session.receivedSinceTotal >= session.totalCount) await this.finish(session, true);
      else this.arm(session);
      return;
    }
    if (page.users.length < this.deps.pageSize) {
      await this.finish(session, true);
      return;
    }
    if (session.maxUserUpdate > session.requested) {
      session.requested = session.maxUserUpdate;
      this.arm(session);
      await this.deps.sendRequest(this.deps.pageSize, session.requested, undefined);
      return;
    } else {
      session.exhausted = true;
      this.deps.logger.warn(
        { watermark: session.requested },
        'deli user_sync page is full but carries no newer update_time; not asking again with the same watermark',
      );
    }
    this.arm(session);
  }

  stop(): void {
    if (this.session?.timer) clearTimeout(this.session.timer);
    this.session = undefined;
    this.pendingUpdate = undefined;
  }

  private open(target: number, watermark: number): Session {
    const session: Session = {
      target,
      requested: watermark,
      maxUserUpdate: watermark,
      totalCount: undefined,
      receivedSinceTotal: 0,
      reset: false,
      keep: new Set(),
      exhausted: false,
      timer: undefined,
    };
    this.session = session;
    return session;
  }

  private arm(session: Session): void {
    if (session.timer) clearTimeout(session.timer);
    session.timer = setTimeout(() => {
      this.deps.schedule(async () => {
        if (this.session !== session) return;
        // After an exhausted full page, silence means the app had nothing more: the sync is whole.
        await this.finish(session, session.exhausted);
      });
    }, this.deps.timeoutMs);
    session.timer.unref();
  }

  private async finish(session: Session, complete: boolean): Promise<void> {
    if (session.timer) clearTimeout(session.timer);
    if (this.session === session) this.session = undefined;
    if (complete) {
      try {
        if (session.reset) {
          const keep: WorkerIdentity[] = [...session.keep].map((deliUserId) => ({ deliUserId }));
          await this.deps.roster.replaceSource('deli', keep);
        }
        const previous = this.deps.watermark.get() ?? 0;
        const next = Math.max(session.maxUserUpdate, session.target, previous);
        if (next > previous) await this.deps.watermark.set(next);
        this.stats.completed++;
        this.deps.logger.info({ watermark: next, reset: session.reset }, 'deli roster sync complete');
      } catch (err) {
        complete = false;
        this.deps.logger.error({ err }, 'deli roster sync could not be finished; the watermark stays');
      }
    }
    if (!complete) {
      this.stats.incomplete++;
      this.deps.logger.warn(
        { received: session.receivedSinceTotal, totalCount: session.totalCount, reset: session.reset },
        'deli roster sync incomplete: no reset applied, watermark kept',
      );
    }
    const pending = this.pendingUpdate;
    this.pendingUpdate = undefined;
    if (pending) await this.onUserUpdate(pending.mid, pending.updateTimeMs);
  }
}

function toChange(user: SyncEntry): WorkerChange {
  const identity = { deliUserId: user.userId };
  const updated = user.updateTimeMs !== undefined ? { updatedMs: user.updateTimeMs } : {};
  if (user.delete) return { source: 'deli', op: 'remove', identity, removalReason: 'deli', ...updated };
  const biometrics: BiometricPayload[] = [
    ...user.fp.map((b64, index) => template('fp', index, b64)),
    ...user.fa.map((b64, index) => template('fa', index, b64)),
  ];
  return {
    source: 'deli',
    op: 'upsert',
    identity,
    ...(user.name !== undefined && { name: user.name }),
    ...(biometrics.length > 0 && { biometrics }),
    ...updated,
  };
}

function template(kind: 'fp' | 'fa', index: number, b64: string): BiometricPayload {
  // Deli does not name its template format; only equal formats are copied across terminals.
  return { kind, index, format: `deli-${kind}`, data: new Uint8Array(Buffer.from(b64, 'base64')) };
}

import type { Logger, PunchListener, RawPunch } from '../../gateway/model';
import type { ZkConnection } from './connection';
import { Ev } from './constants';
import { decodeAttEvent, decodeEnrolEvent, type ZkEnrolEvent } from './events';
import type { ZkPacket } from './packet';
import { type PunchActivity, toRawPunch } from './punches';
import type { ZkSession } from './session';

/** Waits for the EF_ENROLLFINGER that ends an enrolment; one that cannot be decoded arrives as an Error. */
export type EnrolWaiter = (event: ZkEnrolEvent | Error) => void;

/**
 * Real-time events (docs/protocols/zk.md#real-time-events): EF_ATTLOG punches handed to the
 * subscribers, EF_ENROLLFINGER handed to enrolments in progress. Events are handled one at a time,
 * in order, and each is acknowledged once handled, a punch only after its listeners settled
 * (that is, after journaling).
 */
export class ZkRealtime {
  private readonly punchListeners = new Set<PunchListener>();
  private readonly enrolWaiters = new Set<EnrolWaiter>();
  private eventChain: Promise<void> = Promise.resolve();
  private pendingPunchEvents: Array<{ session: ZkSession; event: ZkPacket }> = [];

  constructor(
    private readonly connection: ZkConnection,
    private readonly log: Logger,
    private readonly activity: PunchActivity,
  ) {}

  subscribe(listener: PunchListener): () => void {
    this.punchListeners.add(listener);
    return () => this.punchListeners.delete(listener);
  }

  /** Until the returned function is called, `waiter` sees every EF_ENROLLFINGER. */
  awaitEnrolments(waiter: EnrolWaiter): () => void {
    this.enrolWaiters.add(waiter);
    return () => this.enrolWaiters.delete(waiter);
  }

  /** The connection's event handler: every event of `session`, as it arrives. */
  onEvent(session: ZkSession, event: ZkPacket): void {
    if (event.sessionId === Ev.ATTLOG) {
      // Events that arrive while the previous batch is being journaled go together in the next one:
      // a burst (a reconnect, a shift change) costs one journal write, not one per punch.
      this.pendingPunchEvents.push({ session, event });
      this.eventChain = this.eventChain.then(() => this.drainPunchEvents());
      return;
    }
    this.eventChain = this.eventChain.then(() => this.handleOtherEvent(session, event));
  }

  private async handleOtherEvent(session: ZkSession, event: ZkPacket): Promise<void> {
    const code = event.sessionId;
    try {
      if (code === Ev.ENROLLFINGER) {
        let enrolled: ZkEnrolEvent | Error;
        try {
          enrolled = decodeEnrolEvent(event.data);
        } catch (err) {
          // The enrolment waiting for it fails now, with the reason, instead of at its time-out.
          enrolled = err instanceof Error ? err : new Error(String(err));
          this.log.warn(
            { err: enrolled.message, bytes: event.data.length },
            'undecodable EF_ENROLLFINGER event',
          );
        }
        for (const waiter of this.enrolWaiters) waiter(enrolled);
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message, event: code }, 'zk event handling failed');
    } finally {
      // Acknowledge every event once handled, so the terminal does not resend or stall its queue.
      if (this.connection.session === session) session.ackEvent(event);
    }
  }

  private async drainPunchEvents(): Promise<void> {
    const batch = this.pendingPunchEvents.splice(0);
    if (batch.length === 0) return;
    try {
      await this.deliverPunches(batch.map((e) => e.event.data));
    } catch (err) {
      this.log.error({ err: (err as Error).message, events: batch.length }, 'zk event handling failed');
    } finally {
      // Each event is acknowledged only after its punch was handed over (and journaled, or not).
      for (const { session, event } of batch)
        if (this.connection.session === session) session.ackEvent(event);
    }
  }

  private async deliverPunches(events: readonly Buffer[]): Promise<void> {
    const punches: RawPunch[] = [];
    for (const data of events) {
      try {
        punches.push(toRawPunch(this.connection.config.id, decodeAttEvent(data), 'realtime'));
      } catch (err) {
        // The catch-up read will bring this punch from the log.
        this.log.warn({ err: (err as Error).message, bytes: data.length }, 'undecodable EF_ATTLOG event');
      }
    }
    const last = punches.at(-1);
    if (last && 'wall' in last.time) this.activity.lastPunch = last.time.wall;
    if (punches.length === 0) return;
    if (this.punchListeners.size === 0) {
      this.log.debug(
        { punches: punches.length },
        'real-time punches with no listener: left to the catch-up read',
      );
      return;
    }
    const results = await Promise.allSettled([...this.punchListeners].map((listener) => listener(punches)));
    for (const r of results)
      if (r.status === 'rejected')
        this.log.error(
          { err: String(r.reason), punches: punches.length },
          'punch listener failed; the catch-up read will retry',
        );
  }
}

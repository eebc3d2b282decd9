import type { EnrolmentResult, TemplateKind } from '../../gateway/model';
import type { ZkConnection } from './connection';
import { Cmd } from './constants';
import type { ZkEnrolEvent } from './events';
import type { EnrolWaiter, ZkRealtime } from './realtime';
import type { ZkUsers } from './users';

const ENROL_TIMEOUT_MS = 90_000;
const FINGERS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/**
 * Fingerprint enrolment on the terminal (docs/protocols/zk.md#enrolment): CANCELCAPTURE, then
 * STARTENROLL for the worker's lowest free finger; the EF_ENROLLFINGER event ends it, and the new
 * template is read back from the table.
 */
export class ZkEnrolment {
  constructor(
    private readonly connection: ZkConnection,
    private readonly realtime: ZkRealtime,
    private readonly users: ZkUsers,
  ) {}

  async start(pin: string, kind: TemplateKind, signal?: AbortSignal): Promise<EnrolmentResult> {
    if (kind !== 'fp') throw new Error(`ZK terminals here enrol fingerprints only, not ${kind}`);
    signal?.throwIfAborted();
    const existing = await this.users.readTemplates(pin);
    const used = new Set(existing.map((t) => t.index));
    const finger = FINGERS.find((i) => !used.has(i));
    if (finger === undefined)
      throw new Error(`worker ${pin} already has ten fingerprints on ${this.connection.config.id}`);
    const completion = this.completion(pin, signal);
    try {
      await this.connection.expectOk(Cmd.CANCELCAPTURE);
      await this.connection.expectOk(Cmd.STARTENROLL, enrolRequest(pin, finger, this.connection.oldFirmware));
      const event = await completion.done;
      checkCompletion(pin, event);
      const templates = (await this.users.readTemplates(pin)).filter((t) => t.index === event.fingerIndex);
      if (templates.length === 0) throw new Error(`enrolment of ${pin} completed but no template was stored`);
      return { pin, templates };
    } catch (err) {
      const session = this.connection.session;
      if (signal?.aborted && session) await session.request(Cmd.CANCELCAPTURE).catch(() => undefined);
      throw err;
    } finally {
      completion.release();
    }
  }

  /**
   * The event that ends this enrolment, or its failure: an undecodable event, the abort signal,
   * or the time-out. `release` stops listening.
   */
  private completion(pin: string, signal?: AbortSignal): { done: Promise<ZkEnrolEvent>; release(): void } {
    let settle: ((event: ZkEnrolEvent | Error) => void) | null = null;
    const done = new Promise<ZkEnrolEvent>((resolve, reject) => {
      settle = (e) => (e instanceof Error ? reject(e) : resolve(e));
    });
    // Settled early (abort during the start commands) and then not awaited: not an unhandled rejection.
    done.catch(() => undefined);
    const waiter: EnrolWaiter = (event) =>
      settle?.(event instanceof Error ? new Error(`enrolment of ${pin}: ${event.message}`) : event);
    const onAbort = () =>
      settle?.(signal?.reason instanceof Error ? signal.reason : new Error('enrolment aborted'));
    const timer = setTimeout(
      () => settle?.(new Error(`enrolment of ${pin} did not complete within ${ENROL_TIMEOUT_MS / 1000} s`)),
      ENROL_TIMEOUT_MS,
    );
    const stopWaiting = this.realtime.awaitEnrolments(waiter);
    signal?.addEventListener('abort', onAbort, { once: true });
    return {
      done,
      release: () => {
        clearTimeout(timer);
        stopWaiting();
        signal?.removeEventListener('abort', onAbort);
      },
    };
  }
}

/** STARTENROLL's argument: `<24sbb>` PIN, finger, 1 on TCP firmware; `<Ib>` numeric PIN, finger on UDP. */
function enrolRequest(pin: string, finger: number, oldFirmware: boolean): Buffer {
  if (oldFirmware) {
    const request = Buffer.alloc(5);
    request.writeUInt32LE(Number(pin) >>> 0, 0);
    request.writeInt8(finger, 4);
    return request;
  }
  const request = Buffer.alloc(26);
  request.write(pin, 0, 'latin1');
  request.writeInt8(finger, 24);
  request.writeInt8(1, 25);
  return request;
}

/**
 * The terminal enrols one finger at a time: a completion for nobody, or for someone else, cannot
 * be taken as this worker's, whatever template the table holds.
 */
function checkCompletion(pin: string, event: ZkEnrolEvent): void {
  if (event.result !== 0)
    throw new Error(`enrolment of ${pin} failed on the terminal (result ${event.result})`);
  if (event.pin === '')
    throw new Error(`enrolment of ${pin}: the terminal reported a completed enrolment without a PIN`);
  if (event.pin !== pin)
    throw new Error(`enrolment of ${pin}: the terminal reported a completed enrolment of ${event.pin}`);
  if (event.fingerIndex > 9)
    throw new Error(`enrolment of ${pin}: the terminal reported finger ${event.fingerIndex} (0–9 expected)`);
}

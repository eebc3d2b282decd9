import type { ZkTerminalConfig } from '../../config/schema';
import type {
  BiometricTemplate,
  EnrolmentResult,
  Logger,
  PunchBatch,
  PunchCursor,
  PunchListener,
  PunchTime,
  RawPunch,
  TemplateKind,
  TerminalCapabilities,
  TerminalDriver,
  TerminalHealth,
  TerminalUser,
  UserWithTemplates,
} from '../../gateway/model';
import { ZkCatchUp } from './catch-up';
import { ZkClock } from './clock';
import { ZkConnection, type ZkDriverDeps } from './connection';
import { ZkEnrolment } from './enrolment';
import type { PunchActivity } from './punches';
import { ZkRealtime } from './realtime';
import { MAX_PIN_LENGTH, ZkUsers } from './users';

export type { ZkDriverDeps } from './connection';

/**
 * A ZK terminal over its binary protocol (TCP, or UDP on old firmware), as the gateway sees it.
 * A facade: each concern is a part in its own file, and this class only hands calls on.
 * - `connection.ts`: connect, comm key, TCP → UDP fallback, drops, errors, the deferred REFRESHDATA;
 * - `catch-up.ts`: the attendance log from a cursor (`cursor.ts`), streamed chunk by chunk, clearing it;
 * - `realtime.ts`: EF_ATTLOG punches and EF_ENROLLFINGER, each acknowledged once handled;
 * - `users.ts`: users and templates, one by one or in one upload; `enrolment.ts`: enrolling a finger;
 * - `clock.ts`: reading and setting the terminal's clock.
 * It never reconnects on its own: failures throw, a dropped or silent link fires `onDisconnect`,
 * and the supervisor decides.
 */
export class ZkDriver implements TerminalDriver {
  readonly kind = 'zk' as const;
  private readonly log: Logger;
  private readonly activity: PunchActivity = { lastPunch: undefined };
  private readonly connection: ZkConnection;
  private readonly realtime: ZkRealtime;
  private readonly catchUp: ZkCatchUp;
  private readonly users: ZkUsers;
  private readonly enrolment: ZkEnrolment;
  private readonly clock: ZkClock;

  constructor(
    private readonly config: ZkTerminalConfig,
    deps: ZkDriverDeps,
  ) {
    this.log = deps.logger.child({ terminal: config.id, driver: 'zk' });
    this.connection = new ZkConnection(config, deps, this.log, (session, event) =>
      this.realtime.onEvent(session, event),
    );
    this.realtime = new ZkRealtime(this.connection, this.log, this.activity);
    this.catchUp = new ZkCatchUp(this.connection, this.activity);
    this.users = new ZkUsers(this.connection, deps.userTableKeepMs);
    this.enrolment = new ZkEnrolment(this.connection, this.realtime, this.users);
    this.clock = new ZkClock(this.connection);
  }

  get id(): string {
    return this.config.id;
  }

  /** Users of the terminal's table the driver holds in memory now: only while writes are going on. */
  get heldUsers(): number {
    return this.users.heldUsers;
  }

  capabilities(): TerminalCapabilities {
    const sizes = this.connection.lastSizes;
    return {
      realtime: true,
      users: true,
      cards: true,
      fingerprints: true,
      faces: false,
      clock: true,
      enrolment: ['fp'],
      templateFormat: this.connection.templateFormat,
      maxPinLength: MAX_PIN_LENGTH,
      ...(sizes && sizes.userCapacity > 0 ? { maxUsers: sizes.userCapacity } : {}),
    };
  }

  connect(): Promise<void> {
    return this.connection.connect();
  }

  disconnect(): Promise<void> {
    return this.connection.disconnect();
  }

  onDisconnect(listener: (reason: Error) => void): () => void {
    return this.connection.onDisconnect(listener);
  }

  subscribe(listener: PunchListener): () => void {
    return this.realtime.subscribe(listener);
  }

  readPunchesSince(
    cursor: PunchCursor | null,
    onPunches?: (punches: readonly RawPunch[]) => Promise<void>,
  ): Promise<PunchBatch> {
    return this.catchUp.readPunchesSince(cursor, onPunches);
  }

  clearJournaledLog(cursor: PunchCursor): Promise<PunchCursor | null> {
    return this.catchUp.clearJournaledLog(cursor);
  }

  listUsers(): Promise<readonly TerminalUser[]> {
    return this.users.listUsers();
  }

  upsertUser(user: TerminalUser): Promise<void> {
    return this.users.upsertUser(user);
  }

  deleteUser(pin: string): Promise<void> {
    return this.users.deleteUser(pin);
  }

  readTemplates(pin: string): Promise<readonly BiometricTemplate[]> {
    return this.users.readTemplates(pin);
  }

  writeTemplate(template: BiometricTemplate): Promise<void> {
    return this.users.writeTemplate(template);
  }

  writeUsers(entries: readonly UserWithTemplates[]): Promise<void> {
    return this.users.writeUsers(entries);
  }

  startEnrolment(pin: string, kind: TemplateKind, signal?: AbortSignal): Promise<EnrolmentResult> {
    return this.enrolment.start(pin, kind, signal);
  }

  getTime(): Promise<PunchTime> {
    return this.clock.getTime();
  }

  setTime(time: PunchTime): Promise<void> {
    return this.clock.setTime(time);
  }

  health(): TerminalHealth {
    const { session, lastError, lastErrorAt, lastSizes, templateFormat } = this.connection;
    const offset = this.clock.offsetSeconds;
    const lastPunch = this.activity.lastPunch;
    return {
      online: session !== null,
      ...(lastError !== undefined ? { lastError, lastErrorAt } : {}),
      ...(offset !== undefined ? { clockOffsetSeconds: offset } : {}),
      ...(lastSizes ? { userCount: lastSizes.users, recordCount: lastSizes.records } : {}),
      details: {
        transport: this.connection.transport,
        templateFormat,
        skippedBytes: this.connection.skippedBytes(),
        ...(lastPunch ? { lastPunch } : {}),
      },
    };
  }
}

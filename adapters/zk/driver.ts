import type { ZkTerminalConfig } from '../../config/schema';
import type {
  BiometricTemplate,
  ClockSource,
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
import { TerminalFullError } from '../../gateway/model';
import { AttendanceStream, recordSize } from './attendance-stream';
import { makeCommKey } from './commkey';
import { Cmd, commandName, Ev } from './constants';
import { decodeAttEvent, decodeEnrolEvent, type ZkEnrolEvent } from './events';
import { type LinkHandlers, openTcpLink, openUdpLink, type ZkLink } from './link';
import type { ZkPacket } from './packet';
import {
  decodeTemplateRecords,
  decodeUser28,
  decodeUser72,
  encodeUser28,
  encodeUser72,
  splitTable,
  type ZkAttendance,
  type ZkUser,
} from './records';
import { decodeFreeSizes, type FreeSizes, READ_ATTENDANCE, READ_TEMPLATES, READ_USERS } from './requests';
import { isAccepted, ZkReplyError, ZkSession, ZkTimeoutError } from './session';
import { decodeZkTime, encodeZkTime } from './time';
import { encodeUserTemplates, SAVE_USERTEMPS_ARGS, type ZkUserTemplates } from './user-templates';
import { wallAt, wallDiffSeconds } from './wall-clock';

export interface ZkDriverDeps {
  readonly logger: Logger;
  readonly clock: ClockSource;
  /** The site's zone, for a terminal whose config names none (clock offset, UTC → wall). Default UTC. */
  readonly siteTimeZone?: string;
}

/** The driver's position in a terminal's log: how many records it has read, and the first one. */
interface ZkCursor {
  readonly records: number;
  /** `pin|time` of record 0: a different first record means the log was cleared and refilled. */
  readonly anchor: string | null;
}

const EVENT_FLAGS = Ev.ATTLOG | Ev.ENROLLUSER | Ev.ENROLLFINGER;
const MAX_PIN_LENGTH = 9;
const ENROL_TIMEOUT_MS = 90_000;
/** User numbers are u16 on the wire. */
const MAX_UID = 0xffff;

/**
 * A ZK terminal over its binary protocol (TCP, or UDP on old firmware). It never reconnects on its
 * own: failures throw, a dropped or silent link fires `onDisconnect`, and the supervisor decides.
 */
export class ZkDriver implements TerminalDriver {
  readonly kind = 'zk' as const;
  private link: ZkLink | null = null;
  private session: ZkSession | null = null;
  private readonly punchListeners = new Set<PunchListener>();
  private readonly disconnectListeners = new Set<(reason: Error) => void>();
  /** Enrolments in progress; an EF_ENROLLFINGER that cannot be decoded reaches them as an Error. */
  private readonly enrolWaiters = new Set<(event: ZkEnrolEvent | Error) => void>();
  private eventChain: Promise<void> = Promise.resolve();
  private pendingPunchEvents: Array<{ session: ZkSession; data: Buffer }> = [];
  private templateFormat = 'zk-fp10';
  private lastSizes: FreeSizes | null = null;
  private clockOffset: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private lastPunch: string | undefined;
  private readonly log: Logger;
  /**
   * The terminal's users as last read or written. Writes need each user's internal uid; re-reading
   * the whole table for every change would make a roster of n workers cost n² bytes.
   * Dropped with the link, refreshed by every listUsers().
   */
  private userCache: Map<string, ZkUser> | null = null;
  /** REFRESHDATA is sent once after a burst of writes instead of after each one. */
  private refreshPending = false;
  private refreshTimer: NodeJS.Timeout | null = null;
  private warnedNoTemplateUpload = false;

  constructor(
    private readonly config: ZkTerminalConfig,
    private readonly deps: ZkDriverDeps,
  ) {
    this.log = deps.logger.child({ terminal: config.id, driver: 'zk' });
  }

  get id(): string {
    return this.config.id;
  }

  private get zone(): string {
    return this.config.timezone ?? this.deps.siteTimeZone ?? 'UTC';
  }

  private get oldFirmware(): boolean {
    return this.link?.transport === 'udp';
  }

  capabilities(): TerminalCapabilities {
    return {
      realtime: true,
      users: true,
      cards: true,
      fingerprints: true,
      faces: false,
      clock: true,
      enrolment: ['fp'],
      templateFormat: this.templateFormat,
      maxPinLength: MAX_PIN_LENGTH,
      ...(this.lastSizes && this.lastSizes.userCapacity > 0 ? { maxUsers: this.lastSizes.userCapacity } : {}),
    };
  }

  // ── connection ──

  async connect(): Promise<void> {
    if (this.session) return;
    try {
      const link = await this.openLink();
      const session = new ZkSession(link, {
        timeoutMs: this.config.timeoutMs,
        onEvent: (p) => this.onEvent(session, p),
      });
      this.link = link;
      this.session = session;
      await this.handshake(session);
      // Writes of a session that dropped before its deferred REFRESHDATA are applied now.
      await this.flushRefresh();
      this.log.info(
        { transport: link.transport, templateFormat: this.templateFormat },
        'zk terminal connected',
      );
    } catch (err) {
      await this.closeLink();
      throw this.noteError(err, 'connect');
    }
  }

  async disconnect(): Promise<void> {
    const session = this.session;
    if (!session) return;
    await this.flushRefresh().catch((err: Error) =>
      this.log.warn({ err: err.message }, 'REFRESHDATA before disconnecting failed'),
    );
    await session.request(Cmd.EXIT, undefined, 1000).catch(() => undefined);
    await this.closeLink();
  }

  onDisconnect(listener: (reason: Error) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  private async openLink(): Promise<ZkLink> {
    const { host, port, timeoutMs, transport } = this.config;
    const handlers: LinkHandlers = {
      onBody: (body) => this.session?.receive(body),
      onClose: (reason) => this.dropped(reason),
    };
    if (transport === 'udp') return openUdpLink(host, port, handlers);
    try {
      return await openTcpLink(host, port, timeoutMs, handlers);
    } catch (err) {
      // Old firmware has no TCP listener: the port refuses. A silent host is dead either way.
      if (transport === 'auto' && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        this.log.debug({ host, port }, 'TCP refused, trying UDP');
        return openUdpLink(host, port, handlers);
      }
      throw err;
    }
  }

  private async handshake(session: ZkSession): Promise<void> {
    let reply = await session.open();
    if (reply.command === Cmd.ACK_UNAUTH) {
      reply = await session.request(Cmd.AUTH, makeCommKey(this.config.commKey, session.sessionId));
      if (reply.command === Cmd.ACK_UNAUTH)
        throw new Error('the terminal refused the communication key (commKey)');
    }
    if (!isAccepted(reply)) throw new ZkReplyError('CONNECT', reply.command);
    const fp = await session.request(Cmd.OPTIONS_RRQ, Buffer.from('~ZKFPVersion\0', 'latin1'));
    // A refusal here means the firmware does not know the option: the default format stands.
    const version = isAccepted(fp) ? /=(\d+)/.exec(fp.data.toString('latin1'))?.[1] : undefined;
    if (version) this.templateFormat = `zk-fp${version}`;
    await this.readSizes();
    const flags = Buffer.alloc(4);
    flags.writeUInt32LE(EVENT_FLAGS, 0);
    await this.expectOk(Cmd.REG_EVENT, flags);
  }

  /** The link ended without us asking: fail what waits and tell the supervisor. */
  private dropped(reason: Error): void {
    if (!this.session) return;
    this.session.fail(reason);
    this.session = null;
    this.link = null;
    // Whatever a write in flight did is unknown, and the next session may find another table.
    // A pending REFRESHDATA stays pending: the next connect sends it.
    this.userCache = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.noteError(reason, 'link');
    this.log.warn({ err: reason.message }, 'zk terminal link dropped');
    for (const listener of this.disconnectListeners) listener(reason);
  }

  private async closeLink(): Promise<void> {
    const link = this.link;
    this.userCache = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.session?.fail(new Error('disconnected'));
    this.session = null;
    this.link = null;
    await link?.close();
  }

  /** Runs a command; a timeout means the link is unusable (a reply may still be in the pipe), so drop it. */
  private async run<T>(what: string, work: (session: ZkSession) => Promise<T>): Promise<T> {
    const session = this.session;
    if (!session) throw this.noteError(new Error(`not connected (${what})`), what);
    try {
      return await work(session);
    } catch (err) {
      if (err instanceof ZkTimeoutError && this.session === session) {
        const link = this.link;
        this.dropped(err);
        await link?.close();
      }
      throw this.noteError(err, what);
    }
  }

  private noteError(err: unknown, what: string): Error {
    const error = err instanceof Error ? err : new Error(String(err));
    this.lastError = `${what}: ${error.message}`;
    this.lastErrorAt = this.deps.clock.now();
    return error;
  }

  /** Runs a command; ACK_OK and ACK_DATA both carry the answer (firmware differs), anything else is a refusal. */
  private async expectOk(command: number, data?: Uint8Array): Promise<ZkPacket> {
    return this.run(commandName(command), async (session) => {
      const reply = await session.request(command, data);
      if (!isAccepted(reply)) throw new ZkReplyError(commandName(command), reply.command);
      return reply;
    });
  }

  private async readSizes(): Promise<FreeSizes> {
    const reply = await this.expectOk(Cmd.GET_FREE_SIZES);
    this.lastSizes = decodeFreeSizes(reply.data);
    return this.lastSizes;
  }

  // ── punches ──

  subscribe(listener: PunchListener): () => void {
    this.punchListeners.add(listener);
    return () => this.punchListeners.delete(listener);
  }

  /**
   * With `onPunches`, punches go to it chunk by chunk while the rest of the log is still being
   * downloaded, called in log order without waiting for the previous call (the journal keeps call
   * order, so its fsync overlaps the next chunk); the batch returned holds only what was not handed
   * over. Every call is settled before this returns; the first failure is thrown then, and no call
   * is made after it.
   */
  async readPunchesSince(
    cursor: PunchCursor | null,
    onPunches?: (punches: readonly RawPunch[]) => Promise<void>,
  ): Promise<PunchBatch> {
    await this.flushRefresh();
    const previous = parseCursor(cursor);
    const sizes = await this.readSizes();
    if (previous && sizes.records === previous.records) {
      // Same count: nothing new. (A clear and refill to exactly the same count is caught by the anchor on the next change.)
      return { punches: [], cursor: previous as unknown as PunchCursor };
    }
    const stream = this.attendanceStream(sizes.records);
    let plan: CatchUpPlan | null = null;
    const deliveries: Promise<void>[] = [];
    let deliveryFailure: { error: unknown } | null = null;
    const noteFailure = (error: unknown) => {
      deliveryFailure ??= { error };
    };
    const onChunk = onPunches
      ? (got: number, _total: number, filled: Buffer) => {
          const start = stream.decoded;
          const fresh = stream.feed(filled, got);
          if (!stream.first) return;
          plan ??= catchUpPlan(previous, stream.total, stream.first);
          const punches = this.toPunches(fresh, Math.max(0, plan.from - start));
          if (punches.length === 0 || deliveryFailure) return;
          try {
            deliveries.push(onPunches(punches).catch(noteFailure));
          } catch (error) {
            noteFailure(error);
          }
        }
      : undefined;
    /** What the last feed decoded: the whole log, or only what was not streamed. */
    let rest: ZkAttendance[];
    try {
      rest = await this.readAttendanceInto(stream, onChunk);
    } finally {
      // Never leave a hand-over running behind a failed read.
      await Promise.all(deliveries);
    }
    if (deliveryFailure) throw (deliveryFailure as { error: unknown }).error;
    const count = stream.decoded;
    const restStart = count - rest.length;
    const { from, reset, anchor } = plan ?? catchUpPlan(previous, count, stream.first);
    if (reset)
      this.log.warn(
        { before: previous?.records, now: count },
        'zk log shrank or changed: reading from the start',
      );
    const punches = this.toPunches(rest, Math.max(0, from - restStart));
    if (count > from && stream.last) this.lastPunch = stream.last.time;
    const next: ZkCursor = { records: count, anchor };
    return { punches, cursor: next as unknown as PunchCursor, ...(reset ? { cursorReset: true } : {}) };
  }

  private toPunches(records: readonly ZkAttendance[], from: number): RawPunch[] {
    const out: RawPunch[] = new Array(Math.max(0, records.length - from));
    for (let i = from; i < records.length; i++)
      out[i - from] = this.toPunch(records[i] as ZkAttendance, 'poll');
    return out;
  }

  /**
   * Clears the terminal's log, only when `clearLogAfterJournal` is on and the log still holds
   * exactly the records up to `cursor` (all journaled). The device is disabled meanwhile, so no
   * punch can land between the count check and the clear. Returns the cursor to store next, or
   * null when nothing was cleared.
   */
  async clearJournaledLog(cursor: PunchCursor): Promise<PunchCursor | null> {
    if (!this.config.clearLogAfterJournal) return null;
    const journaled = parseCursor(cursor);
    if (!journaled || journaled.records === 0) return null;
    await this.expectOk(Cmd.DISABLEDEVICE, Buffer.alloc(4));
    try {
      const sizes = await this.readSizes();
      if (sizes.records !== journaled.records) return null;
      await this.expectOk(Cmd.CLEAR_ATTLOG);
      await this.expectOk(Cmd.REFRESHDATA);
      this.log.info({ cleared: journaled.records }, 'cleared journaled punches from the terminal log');
      const empty: ZkCursor = { records: 0, anchor: null };
      return empty as unknown as PunchCursor;
    } finally {
      await this.expectOk(Cmd.ENABLEDEVICE).catch((err: Error) =>
        this.log.error({ err: err.message }, 'could not re-enable the terminal after clearing its log'),
      );
    }
  }

  /** The whole attendance log (ZK has no "since" read for this table). */
  async readAttendance(expectedCount?: number): Promise<ZkAttendance[]> {
    return this.readAttendanceInto(this.attendanceStream(expectedCount ?? this.lastSizes?.records ?? 0));
  }

  private attendanceStream(expectedCount: number): AttendanceStream {
    return new AttendanceStream(expectedCount, this.oldFirmware ? [16, 40] : [40, 16]);
  }

  /** Reads the table into `stream`; returns what the final feed decoded (all of it, when nothing was fed before). */
  private async readAttendanceInto(
    stream: AttendanceStream,
    onChunk?: (got: number, total: number, filled: Buffer) => void,
  ): Promise<ZkAttendance[]> {
    const buffer = await this.run('read attendance', (s) =>
      s.readBuffer(READ_ATTENDANCE, 'attendance log', onChunk),
    );
    // Checks the byte count announced against what arrived (a short table throws).
    splitTable(buffer, 'attendance log');
    return stream.feed(buffer, buffer.length);
  }

  private toPunch(
    r: { pin: string; time: string; verify: number; state: number },
    source: RawPunch['source'],
  ): RawPunch {
    return {
      terminalId: this.id,
      pin: r.pin,
      time: { wall: r.time },
      verifyCode: r.verify,
      state: r.state,
      source,
    };
  }

  private onEvent(session: ZkSession, p: ZkPacket): void {
    const code = p.sessionId;
    if (code === Ev.ATTLOG) {
      // Events that arrive while the previous batch is being journaled go together in the next one:
      // a burst (a reconnect, a shift change) costs one journal write, not one per punch.
      this.pendingPunchEvents.push({ session, data: p.data });
      this.eventChain = this.eventChain.then(() => this.drainPunchEvents());
      return;
    }
    this.eventChain = this.eventChain.then(async () => {
      try {
        if (code === Ev.ENROLLFINGER) {
          let event: ZkEnrolEvent | Error;
          try {
            event = decodeEnrolEvent(p.data);
          } catch (err) {
            // The enrolment waiting for it fails now, with the reason, instead of at its time-out.
            event = err instanceof Error ? err : new Error(String(err));
            this.log.warn({ err: event.message, bytes: p.data.length }, 'undecodable EF_ENROLLFINGER event');
          }
          for (const waiter of this.enrolWaiters) waiter(event);
        }
      } catch (err) {
        this.log.error({ err: (err as Error).message, event: code }, 'zk event handling failed');
      } finally {
        // Acknowledge every event once handled, so the terminal does not resend or stall its queue.
        if (this.session === session) session.ackEvent();
      }
    });
  }

  private async drainPunchEvents(): Promise<void> {
    const batch = this.pendingPunchEvents.splice(0);
    if (batch.length === 0) return;
    try {
      await this.deliverPunches(batch.map((e) => e.data));
    } catch (err) {
      this.log.error({ err: (err as Error).message, events: batch.length }, 'zk event handling failed');
    } finally {
      // Each event is acknowledged only after its punch was handed over (and journaled, or not).
      for (const event of batch) if (this.session === event.session) event.session.ackEvent();
    }
  }

  private async deliverPunches(events: readonly Buffer[]): Promise<void> {
    const punches: RawPunch[] = [];
    for (const data of events) {
      try {
        punches.push(this.toPunch(decodeAttEvent(data), 'realtime'));
      } catch (err) {
        // The catch-up read will bring this punch from the log.
        this.log.warn({ err: (err as Error).message, bytes: data.length }, 'undecodable EF_ATTLOG event');
      }
    }
    const last = punches.at(-1);
    if (last && 'wall' in last.time) this.lastPunch = last.time.wall;
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

  // ── users and templates ──

  async listUsers(): Promise<readonly TerminalUser[]> {
    return (await this.readUsers()).map(({ uid, pin, name, card, password, privilege }) => ({
      uid,
      pin,
      name,
      card,
      password,
      privilege,
    }));
  }

  /** Users by PIN, read once per connection (or per listUsers) and kept current by our own writes. */
  private async knownUsers(): Promise<Map<string, ZkUser>> {
    if (!this.userCache) await this.readUsers();
    return this.userCache ?? new Map();
  }

  /** Makes the terminal apply written users and templates; deferred so a burst costs one round trip. */
  private scheduleRefresh(): void {
    this.refreshPending = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.flushRefresh().catch((err: unknown) => this.log.warn({ err: String(err) }, 'REFRESHDATA failed'));
    }, 100);
    this.refreshTimer.unref();
  }

  private async flushRefresh(): Promise<void> {
    if (!this.refreshPending || !this.session) return;
    this.refreshPending = false;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    await this.expectOk(Cmd.REFRESHDATA);
  }

  private async readUsers(): Promise<ZkUser[]> {
    await this.flushRefresh();
    const buffer = await this.run('read users', (s) => s.readBuffer(READ_USERS, 'user table'));
    const { body, declared } = splitTable(buffer, 'user table');
    const sizes = await this.readSizes();
    const size = recordSize(declared, sizes.users, this.oldFirmware ? [28, 72] : [72, 28]);
    const users: ZkUser[] = [];
    for (let at = 0; at + size <= body.length; at += size)
      users.push(
        size === 72
          ? decodeUser72(body, this.config.encoding, at)
          : decodeUser28(body, this.config.encoding, at),
      );
    this.userCache = new Map(users.map((u) => [u.pin, u]));
    return users;
  }

  async upsertUser(user: TerminalUser): Promise<void> {
    checkUser(user);
    const existing = await this.knownUsers();
    let uid = existing.get(user.pin)?.uid ?? 0;
    if (uid === 0) {
      for (const u of existing.values()) uid = Math.max(uid, u.uid);
      uid += 1;
    }
    if (uid > MAX_UID)
      throw new TerminalFullError(
        `terminal ${this.id} is full: no user number left for ${user.pin}`,
        this.id,
      );
    const record = toZkUser(user, uid);
    const bytes = this.oldFirmware
      ? encodeUser28(record, this.config.encoding)
      : encodeUser72(record, this.config.encoding);
    try {
      await this.expectOk(Cmd.USER_WRQ, bytes);
    } catch (err) {
      const capacity = this.lastSizes?.userCapacity ?? 0;
      if (!existing.has(user.pin) && capacity > 0 && existing.size >= capacity)
        throw new TerminalFullError(
          `terminal ${this.id} is full: it holds ${capacity} users`,
          this.id,
          capacity,
        );
      throw err;
    }
    existing.set(record.pin, record);
    this.scheduleRefresh();
  }

  async deleteUser(pin: string): Promise<void> {
    const users = await this.knownUsers();
    const user = users.get(pin);
    if (!user) return;
    const uid = Buffer.alloc(2);
    uid.writeUInt16LE(user.uid, 0);
    await this.expectOk(Cmd.DELETE_USER, uid);
    users.delete(pin);
    this.scheduleRefresh();
  }

  async readTemplates(pin: string): Promise<readonly BiometricTemplate[]> {
    const user = (await this.knownUsers()).get(pin);
    if (!user) return [];
    await this.flushRefresh();
    const buffer = await this.run('read templates', (s) => s.readBuffer(READ_TEMPLATES, 'template table'));
    const { body } = splitTable(buffer, 'template table');
    return decodeTemplateRecords(body)
      .filter((t) => t.uid === user.uid)
      .map((t) => ({
        pin,
        kind: 'fp' as const,
        index: t.fingerIndex,
        format: this.templateFormat,
        data: new Uint8Array(t.data),
      }));
  }

  async writeTemplate(template: BiometricTemplate): Promise<void> {
    this.checkTemplate(template);
    if (this.oldFirmware) throw new Error('template upload over UDP (old firmware) is not supported');
    const user = (await this.knownUsers()).get(template.pin);
    if (!user) throw new Error(`no user ${template.pin} on terminal ${this.id}: upsert the user first`);
    await this.saveUserTemplates([{ user, fingers: [{ index: template.index, data: template.data }] }]);
    this.scheduleRefresh();
  }

  /**
   * Many users and their fingerprints in one SAVE_USERTEMPS upload (as pyzk's HR_save_usertemplates):
   * FREE_DATA, PREPARE_DATA, one DATA per KB and the save, whatever the number of users. Existing
   * users keep their uid; new ones get the next free uids. Old firmware (UDP) has no such upload:
   * users go one by one with USER_WRQ and templates are skipped, as writeTemplate refuses them.
   */
  async writeUsers(entries: readonly UserWithTemplates[]): Promise<void> {
    for (const { user, templates } of entries) {
      checkUser(user);
      for (const template of templates) {
        this.checkTemplate(template);
        if (template.pin !== user.pin)
          throw new Error(`template for ${template.pin} listed under user ${user.pin}`);
      }
    }
    if (entries.length === 0) return;
    if (this.oldFirmware) {
      await this.writeUsersOneByOne(entries);
      return;
    }
    const known = await this.knownUsers();
    let nextUid = 0;
    for (const u of known.values()) nextUid = Math.max(nextUid, u.uid);
    // A PIN listed twice is written once, with its last entry (firmware would keep the last anyway).
    const byPin = new Map<string, ZkUserTemplates>();
    for (const { user, templates } of entries) {
      const uid = known.get(user.pin)?.uid ?? byPin.get(user.pin)?.user.uid ?? ++nextUid;
      if (uid > MAX_UID)
        throw new TerminalFullError(
          `terminal ${this.id} is full: no user number left for ${user.pin}`,
          this.id,
        );
      byPin.set(user.pin, {
        user: toZkUser(user, uid),
        fingers: templates.map((t) => ({ index: t.index, data: t.data })),
      });
    }
    const batch = [...byPin.values()];
    try {
      await this.saveUserTemplates(batch);
    } catch (err) {
      // The terminal may have stored part of the upload: read the table again before the next write.
      this.userCache = null;
      const capacity = this.lastSizes?.userCapacity ?? 0;
      const adding = batch.filter(({ user }) => !known.has(user.pin)).length;
      // Only a refusal is the terminal saying so: a dropped link says nothing about room.
      if (err instanceof ZkReplyError && adding > 0 && capacity > 0 && known.size + adding > capacity)
        throw new TerminalFullError(
          `terminal ${this.id} is full: it holds ${capacity} users, ${adding} more refused`,
          this.id,
          capacity,
        );
      throw err;
    }
    for (const { user } of batch) known.set(user.pin, user);
    this.scheduleRefresh();
  }

  private async writeUsersOneByOne(entries: readonly UserWithTemplates[]): Promise<void> {
    const skipped = entries.reduce((n, e) => n + e.templates.length, 0);
    if (skipped > 0 && !this.warnedNoTemplateUpload) {
      this.warnedNoTemplateUpload = true;
      this.log.warn(
        { skipped },
        'old firmware (UDP) has no template upload: users are written without their fingerprints',
      );
    }
    for (const { user } of entries) await this.upsertUser(user);
  }

  private async saveUserTemplates(batch: readonly ZkUserTemplates[]): Promise<void> {
    const buffer = encodeUserTemplates(batch, this.config.encoding);
    await this.run('save users and templates', async (s) => {
      const reply = await s.writeBuffer(buffer, Cmd.SAVE_USERTEMPS, SAVE_USERTEMPS_ARGS, 'user upload');
      if (!isAccepted(reply)) throw new ZkReplyError('CMD_SAVE_USERTEMPS', reply.command);
    });
  }

  private checkTemplate(template: BiometricTemplate): void {
    if (template.kind !== 'fp')
      throw new Error(`ZK terminals here take fingerprints only, not ${template.kind}`);
    if (template.format !== this.templateFormat)
      throw new Error(
        `template format ${template.format} does not match this terminal's ${this.templateFormat}`,
      );
    if (template.index < 0 || template.index > 9)
      throw new Error(`finger index must be 0–9: ${template.index}`);
  }

  async startEnrolment(pin: string, kind: TemplateKind, signal?: AbortSignal): Promise<EnrolmentResult> {
    if (kind !== 'fp') throw new Error(`ZK terminals here enrol fingerprints only, not ${kind}`);
    signal?.throwIfAborted();
    const existing = await this.readTemplates(pin);
    const used = new Set(existing.map((t) => t.index));
    const finger = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].find((i) => !used.has(i));
    if (finger === undefined) throw new Error(`worker ${pin} already has ten fingerprints on ${this.id}`);
    let settle: ((event: ZkEnrolEvent | Error) => void) | null = null;
    const done = new Promise<ZkEnrolEvent>((resolve, reject) => {
      settle = (e) => (e instanceof Error ? reject(e) : resolve(e));
    });
    // Settled early (abort during the start commands) and then not awaited: not an unhandled rejection.
    done.catch(() => undefined);
    const waiter = (event: ZkEnrolEvent | Error) =>
      settle?.(event instanceof Error ? new Error(`enrolment of ${pin}: ${event.message}`) : event);
    const onAbort = () =>
      settle?.(signal?.reason instanceof Error ? signal.reason : new Error('enrolment aborted'));
    const timer = setTimeout(
      () => settle?.(new Error(`enrolment of ${pin} did not complete within ${ENROL_TIMEOUT_MS / 1000} s`)),
      ENROL_TIMEOUT_MS,
    );
    this.enrolWaiters.add(waiter);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.expectOk(Cmd.CANCELCAPTURE);
      let request: Buffer;
      if (this.oldFirmware) {
        request = Buffer.alloc(5);
        request.writeUInt32LE(Number(pin) >>> 0, 0);
        request.writeInt8(finger, 4);
      } else {
        request = Buffer.alloc(26);
        request.write(pin, 0, 'latin1');
        request.writeInt8(finger, 24);
        request.writeInt8(1, 25);
      }
      await this.expectOk(Cmd.STARTENROLL, request);
      const event = await done;
      if (event.result !== 0)
        throw new Error(`enrolment of ${pin} failed on the terminal (result ${event.result})`);
      // The terminal enrols one finger at a time: a completion for nobody, or for someone else,
      // cannot be taken as this worker's, whatever template the table holds.
      if (event.pin === '')
        throw new Error(`enrolment of ${pin}: the terminal reported a completed enrolment without a PIN`);
      if (event.pin !== pin)
        throw new Error(`enrolment of ${pin}: the terminal reported a completed enrolment of ${event.pin}`);
      if (event.fingerIndex > 9)
        throw new Error(
          `enrolment of ${pin}: the terminal reported finger ${event.fingerIndex} (0–9 expected)`,
        );
      const templates = (await this.readTemplates(pin)).filter((t) => t.index === event.fingerIndex);
      if (templates.length === 0) throw new Error(`enrolment of ${pin} completed but no template was stored`);
      return { pin, templates };
    } catch (err) {
      if (signal?.aborted && this.session)
        await this.session.request(Cmd.CANCELCAPTURE).catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
      this.enrolWaiters.delete(waiter);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // ── clock ──

  async getTime(): Promise<PunchTime> {
    const reply = await this.expectOk(Cmd.GET_TIME);
    if (reply.data.length < 4) throw new Error(`GET_TIME answered ${reply.data.length} bytes`);
    const wall = decodeZkTime(reply.data.readUInt32LE(0));
    this.clockOffset = wallDiffSeconds(wall, wallAt(this.deps.clock.now(), this.zone));
    return { wall };
  }

  async setTime(time: PunchTime): Promise<void> {
    const wall = 'wall' in time ? time.wall : wallAt(time.utcMs, this.zone);
    const data = Buffer.alloc(4);
    data.writeUInt32LE(encodeZkTime(wall), 0);
    await this.expectOk(Cmd.SET_TIME, data);
    await this.expectOk(Cmd.REFRESHDATA);
    this.clockOffset = wallDiffSeconds(wall, wallAt(this.deps.clock.now(), this.zone));
  }

  health(): TerminalHealth {
    return {
      online: this.session !== null,
      ...(this.lastError !== undefined ? { lastError: this.lastError, lastErrorAt: this.lastErrorAt } : {}),
      ...(this.clockOffset !== undefined ? { clockOffsetSeconds: this.clockOffset } : {}),
      ...(this.lastSizes ? { userCount: this.lastSizes.users, recordCount: this.lastSizes.records } : {}),
      details: {
        transport: this.link?.transport ?? 'none',
        templateFormat: this.templateFormat,
        skippedBytes: this.link?.skippedBytes() ?? 0,
        ...(this.lastPunch ? { lastPunch: this.lastPunch } : {}),
      },
    };
  }
}

function checkUser(user: TerminalUser): void {
  if (!user.pin || user.pin.length > MAX_PIN_LENGTH)
    throw new Error(`ZK PIN must be 1–${MAX_PIN_LENGTH} characters: ${JSON.stringify(user.pin)}`);
  const card = user.card ?? 0;
  if (!Number.isInteger(card) || card < 0 || card > 0xffffffff)
    throw new Error(`card must be an unsigned 32-bit number: ${card} (user ${user.pin})`);
}

function toZkUser(user: TerminalUser, uid: number): ZkUser {
  return {
    uid,
    pin: user.pin,
    name: user.name,
    card: user.card ?? 0,
    password: user.password ?? '',
    privilege: user.privilege ?? 0,
  };
}

interface CatchUpPlan {
  /** Index of the first record not read before. */
  readonly from: number;
  readonly reset: boolean;
  readonly anchor: string | null;
}

/** Where to start in a log of `count` records whose first is `first`, given the stored cursor. */
function catchUpPlan(previous: ZkCursor | null, count: number, first: ZkAttendance | undefined): CatchUpPlan {
  const anchor = first ? `${first.pin}|${first.time}` : null;
  const reset =
    previous !== null && (count < previous.records || (previous.records > 0 && previous.anchor !== anchor));
  return { from: reset || !previous ? 0 : previous.records, reset, anchor };
}

function parseCursor(cursor: PunchCursor | null): ZkCursor | null {
  if (!cursor) return null;
  const records = cursor['records'];
  const anchor = cursor['anchor'];
  if (typeof records !== 'number' || records < 0 || (anchor !== null && typeof anchor !== 'string'))
    throw new Error(`not a ZK cursor: ${JSON.stringify(cursor)}`);
  return { records, anchor };
}

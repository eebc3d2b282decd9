import type { AdmsTerminalConfig } from '../../config/schema';
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
  StatePort,
  TemplateKind,
  TerminalCapabilities,
  TerminalDriver,
  TerminalHealth,
  TerminalUser,
  UserWithTemplates,
} from '../../gateway/model';
import { utcMsToWall, zoneOffsetMinutes } from '../../lib/wall-clock';
import { CommandFailedError, CommandQueue } from './command-queue';
import {
  type AdmsCommand,
  type CommandResult,
  formatCommand,
  type QueryForm,
  type QueryTable,
  type QueuedLine,
} from './commands';
import type { AdmsUser, AttlogRecord, OperlogContent } from './records';
import type { AdmsEndpoint, AdmsServer } from './server';
import { commandForTemplate, FP10_FORMAT, templateFromAdms, templateFromPhoto } from './templates';
import { encodeZkTime } from './zk-time';

export interface AdmsDriverDeps {
  readonly logger: Logger;
  readonly clock: ClockSource;
  readonly state: StatePort;
  readonly server: AdmsServer;
  /** The site's zone, used when the terminal has none of its own (default Asia/Shanghai). */
  readonly siteTimezone?: string;
  /** Default: the server's (`adms.commandTimeoutMs`). */
  readonly commandTimeoutMs?: number;
  /** Default: the server's (`adms.enrolTimeoutMs`). */
  readonly enrolTimeoutMs?: number;
}

/** A query collects what the device uploads while the query is out. */
interface Collector {
  readonly users: Map<string, AdmsUser>;
  readonly templates: BiometricTemplate[];
}

interface EnrolmentWaiter {
  readonly pin: string;
  readonly kind: TemplateKind;
  readonly resolve: (templates: BiometricTemplate[]) => void;
}

/** Missed polls before the terminal counts as offline. */
const OFFLINE_AFTER_POLLS = 3;
/** The device's answer to a command it does not know. */
const RETURN_UNSUPPORTED = -1002;

/**
 * One ADMS terminal. The device pushes, so there is no link to open: `connect()` registers the serial
 * number with the shared AdmsServer, punches arrive through `subscribe`, and every roster operation is
 * a command queued for the device's next poll, resolved when the device reports its result.
 */
export class AdmsDriver implements TerminalDriver {
  readonly kind = 'adms' as const;
  private readonly queue: CommandQueue;
  /** The server-facing side, kept off the driver's public surface. */
  private readonly endpoint: AdmsEndpoint;
  private unregister: (() => void) | undefined;
  private listener: PunchListener | undefined;
  private lastContactAt: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private deviceInfo: string | undefined;
  private readonly collectors = new Set<Collector>();
  private readonly enrolments = new Set<EnrolmentWaiter>();
  /** What the device reported or accepted, for `readTemplates` of faces (photos are never queried back). */
  private readonly photos = new Map<string, BiometricTemplate>();
  /** `pushver=` from the device's handshake. */
  private pushver: string | undefined;
  /**
   * The `DATA QUERY` form this device last ran, kept in the state file: after a restart the device
   * does not necessarily handshake again, so its pushver may never be seen.
   */
  private queryForm: QueryForm | undefined;

  constructor(
    private readonly config: AdmsTerminalConfig,
    private readonly deps: AdmsDriverDeps,
  ) {
    this.queue = new CommandQueue({
      clock: deps.clock,
      logger: deps.logger,
      timeoutMs: deps.commandTimeoutMs ?? deps.server.commandTimeoutMs,
      nextId: () => deps.server.nextCommandId(),
    });
    this.endpoint = this.endpointFor(config);
  }

  get id(): string {
    return this.config.id;
  }

  private get timezone(): string {
    return this.config.timezone ?? this.deps.siteTimezone ?? 'Asia/Shanghai';
  }

  capabilities(): TerminalCapabilities {
    return {
      realtime: true,
      users: true,
      cards: true,
      fingerprints: true,
      faces: true,
      clock: true,
      enrolment: ['fp', 'fa'],
      templateFormat: FP10_FORMAT,
      maxPinLength: 9,
    };
  }

  async connect(): Promise<void> {
    const stored = this.queryFormSlot().get();
    if (this.queryForm === undefined && (stored === '2.x' || stored === '3.x')) this.queryForm = stored;
    this.unregister ??= this.deps.server.register(this.endpoint);
  }

  async disconnect(): Promise<void> {
    this.unregister?.();
    this.unregister = undefined;
    this.queue.failAll(`terminal ${this.id} disconnected`);
  }

  /** A pushing device has no link of its own to lose; health() says whether it is still calling in. */
  onDisconnect(_listener: (reason: Error) => void): () => void {
    return () => undefined;
  }

  /** Push only: everything arrives through `subscribe`, and the device's own stamps do the catching up. */
  async readPunchesSince(cursor: PunchCursor | null): Promise<PunchBatch> {
    return { punches: [], cursor: cursor ?? { push: true } };
  }

  subscribe(listener: PunchListener): () => void {
    this.listener = listener;
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }

  async listUsers(): Promise<readonly TerminalUser[]> {
    const collector: Collector = { users: new Map(), templates: [] };
    await this.query('USERINFO', undefined, collector);
    return [...collector.users.values()].map((u) => ({
      pin: u.pin,
      name: u.name,
      privilege: u.privilege,
      ...(u.card ? { card: u.card } : {}),
      ...(u.password ? { password: u.password } : {}),
    }));
  }

  async upsertUser(user: TerminalUser): Promise<void> {
    await this.run({
      type: 'user-update',
      user: {
        pin: user.pin,
        name: user.name,
        privilege: user.privilege ?? 0,
        password: user.password ?? '',
        card: user.card ?? 0,
        group: 1,
      },
    });
  }

  async deleteUser(pin: string): Promise<void> {
    await this.run({ type: 'user-delete', pin });
    this.photos.delete(pin);
  }

  /**
   * Queues every user and template at once, so they go out together in the next poll(s) instead of
   * one poll per command. Rejects with the first failure once all have settled.
   */
  async writeUsers(entries: readonly UserWithTemplates[]): Promise<void> {
    const runs = entries.flatMap(({ user, templates }) => [
      this.upsertUser(user),
      ...templates.map((template) => this.writeTemplate(template)),
    ]);
    const failed = (await Promise.allSettled(runs)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async readTemplates(pin: string): Promise<readonly BiometricTemplate[]> {
    const collector: Collector = { users: new Map(), templates: [] };
    await this.query('FINGERTMP', pin, collector);
    const photo = this.photos.get(pin);
    return [...collector.templates.filter((t) => t.pin === pin), ...(photo ? [photo] : [])];
  }

  async writeTemplate(template: BiometricTemplate): Promise<void> {
    const command = commandForTemplate(template);
    await this.run(command);
    if (command.type === 'photo-update') this.photos.set(template.pin, template);
  }

  /**
   * ADMS has no command that reads the device's clock: the device sets itself from our rtdata answer
   * and HTTP `Date` header. So the clock is reported as the gateway's; `setTime` still forces it.
   */
  async getTime(): Promise<PunchTime> {
    return { utcMs: this.deps.clock.now() };
  }

  async setTime(time: PunchTime): Promise<void> {
    const wall = 'wall' in time ? time.wall : utcMsToWall(time.utcMs, this.timezone);
    await this.run({ type: 'set-time', zkTime: encodeZkTime(wall) });
  }

  async startEnrolment(pin: string, kind: TemplateKind, signal?: AbortSignal): Promise<EnrolmentResult> {
    signal?.throwIfAborted();
    let waiter: EnrolmentWaiter | undefined;
    const captured = new Promise<BiometricTemplate[]>((resolve) => {
      waiter = { pin, kind, resolve };
      this.enrolments.add(waiter);
    });
    const timeoutMs = this.deps.enrolTimeoutMs ?? this.deps.server.enrolTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no ${kind} captured for ${pin} within ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      timer.unref();
      onAbort = () => reject(new Error('enrolment cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const command: AdmsCommand =
        kind === 'fp' ? { type: 'enroll-fp', pin, fid: 0 } : { type: 'enroll-bio', pin, bioType: 9 };
      const templates = await Promise.race([this.run(command).then(() => captured), failed]);
      return { pin, templates };
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (waiter) this.enrolments.delete(waiter);
    }
  }

  health(): TerminalHealth {
    const now = this.deps.clock.now();
    const online =
      this.unregister !== undefined &&
      this.lastContactAt !== undefined &&
      now - this.lastContactAt <= OFFLINE_AFTER_POLLS * this.deps.server.delaySeconds * 1000;
    const info = parseInfo(this.deviceInfo);
    return {
      online,
      ...(this.lastError ? { lastError: this.lastError, lastErrorAt: this.lastErrorAt } : {}),
      ...(info.userCount !== undefined ? { userCount: info.userCount } : {}),
      ...(info.recordCount !== undefined ? { recordCount: info.recordCount } : {}),
      details: {
        sn: this.config.sn,
        pendingCommands: this.queue.size,
        ...(this.lastContactAt ? { lastContactAt: this.lastContactAt } : {}),
        ...(info.firmware ? { firmware: info.firmware } : {}),
        ...(this.pushver ? { pushver: this.pushver } : {}),
        ...(this.queryForm ? { queryForm: this.queryForm } : {}),
      },
    };
  }

  /**
   * A `DATA QUERY` in the form this device runs. Until one form has worked, the announced pushver picks
   * (3.x from 3 on, else 2.x). A refusal with -1002 (not supported) is retried once in the other form,
   * and the form that works is remembered, so the refused one is not sent again.
   */
  private async query(table: QueryTable, pin: string | undefined, collector: Collector): Promise<void> {
    const first = this.queryForm ?? (pushMajor(this.pushver) >= 3 ? '3.x' : '2.x');
    const command = (form: QueryForm): AdmsCommand => ({
      type: 'query',
      table,
      ...(pin === undefined ? {} : { pin }),
      form,
    });
    try {
      await this.run(command(first), collector, { recordError: false });
      await this.learnQueryForm(first);
      return;
    } catch (error) {
      if (!(error instanceof CommandFailedError && error.returnCode === RETURN_UNSUPPORTED)) {
        this.noteError(error);
        throw error;
      }
    }
    const other: QueryForm = first === '2.x' ? '3.x' : '2.x';
    this.deps.logger.info(
      { terminalId: this.id, sn: this.config.sn, refused: first, next: other, pushver: this.pushver },
      `ADMS device refused the PUSH ${first} DATA QUERY (-1002); asking in the ${other} form`,
    );
    // Nothing should have come for a refused query; start clean all the same.
    collector.users.clear();
    collector.templates.length = 0;
    await this.run(command(other), collector);
    await this.learnQueryForm(other);
  }

  private async learnQueryForm(form: QueryForm): Promise<void> {
    if (this.queryForm === form) return;
    this.queryForm = form;
    this.deps.logger.info(
      { terminalId: this.id, sn: this.config.sn, queryForm: form, pushver: this.pushver },
      `ADMS device runs the PUSH ${form} DATA QUERY; using it from now on`,
    );
    try {
      await this.queryFormSlot().set(form);
    } catch (error) {
      // Only costs one refused query after a restart; the answer in hand is still good.
      this.deps.logger.warn(
        { terminalId: this.id, error: (error as Error).message },
        'ADMS query form not saved to the state file',
      );
    }
  }

  private queryFormSlot() {
    return this.deps.state.slot<QueryForm>(`adms.${this.config.sn}.queryForm`);
  }

  private noteError(error: unknown): void {
    this.lastError = (error as Error).message;
    this.lastErrorAt = this.deps.clock.now();
  }

  private async run(
    command: AdmsCommand,
    collector?: Collector,
    options: { readonly recordError?: boolean } = {},
  ): Promise<CommandResult> {
    if (!this.unregister) throw new Error(`terminal ${this.id} is not connected`);
    if (collector) this.collectors.add(collector);
    try {
      return await this.queue.enqueue(formatCommand(command));
    } catch (error) {
      // A caller that may recover (a refused query form) records the error itself when it cannot.
      if (options.recordError !== false) this.noteError(error);
      throw error;
    } finally {
      if (collector) this.collectors.delete(collector);
    }
  }

  private endpointFor(config: AdmsTerminalConfig): AdmsEndpoint {
    return {
      sn: config.sn,
      terminalId: config.id,
      utcOffsetMinutes: () => zoneOffsetMinutes(this.deps.clock.now(), this.timezone),
      takePunches: (records) => this.takePunches(records),
      takeRecords: (content) => this.takeRecords(content),
      handOutCommands: (maxBytes): QueuedLine[] => this.queue.handOut(maxBytes),
      takeResult: (result) => {
        if (!this.queue.settle(result))
          this.deps.logger.debug({ commandId: result.id }, 'ADMS result for an unknown command ignored');
      },
      touched: (info) => {
        this.lastContactAt = this.deps.clock.now();
        if (info) this.deviceInfo = info;
      },
      announced: (pushver) => {
        this.pushver = pushver.trim().slice(0, 16);
      },
    };
  }

  private async takePunches(records: readonly AttlogRecord[]): Promise<void> {
    const listener = this.listener;
    // Not yet subscribed (the supervisor is between connect and subscribe): refuse, the device resends.
    if (!listener) throw new Error(`terminal ${this.id} is not taking punches yet`);
    const punches: RawPunch[] = records.map((r) => ({
      terminalId: this.id,
      pin: r.pin,
      time: { wall: r.wall },
      verifyCode: r.verify,
      state: r.status,
      source: 'push',
    }));
    await listener(punches);
  }

  private takeRecords(content: OperlogContent): void {
    const templates: BiometricTemplate[] = [];
    for (const t of content.templates) {
      const template = templateFromAdms(t);
      if (template) templates.push(template);
    }
    for (const p of content.photos) {
      const photo = templateFromPhoto(p);
      this.photos.set(p.pin, photo);
      templates.push(photo);
    }
    for (const collector of this.collectors) {
      for (const user of content.users) collector.users.set(user.pin, user);
      collector.templates.push(...templates);
    }
    for (const waiter of this.enrolments) {
      const captured = templates.filter((t) => t.pin === waiter.pin && t.kind === waiter.kind);
      if (captured.length > 0) waiter.resolve(captured);
    }
  }
}

/** `3.1.2` → 3; unknown or unreadable → 0 (treated as 2.x). */
function pushMajor(pushver: string | undefined): number {
  const m = /^\s*(\d{1,3})/.exec(pushver ?? '');
  return m ? Number(m[1]) : 0;
}

/** getrequest `INFO=firmware,users,fingerprints,records,ip,…`. */
function parseInfo(info: string | undefined): {
  firmware?: string;
  userCount?: number;
  recordCount?: number;
} {
  if (!info) return {};
  const [firmware, users, , records] = info.split(',');
  const count = (text: string | undefined) =>
    text !== undefined && /^\d+$/.test(text.trim()) ? Number(text) : undefined;
  const userCount = count(users);
  const recordCount = count(records);
  return {
    ...(firmware ? { firmware: firmware.trim().slice(0, 64) } : {}),
    ...(userCount !== undefined ? { userCount } : {}),
    ...(recordCount !== undefined ? { recordCount } : {}),
  };
}

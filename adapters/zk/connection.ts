import type { ZkTerminalConfig } from '../../config/schema';
import type { ClockSource, Logger } from '../../gateway/model';
import { makeCommKey } from './commkey';
import { Cmd, commandName, Ev } from './constants';
import { type LinkHandlers, openTcpLink, openUdpLink, type ZkLink, type ZkTransport } from './link';
import type { ZkPacket } from './packet';
import { decodeFreeSizes, type FreeSizes } from './requests';
import { isAccepted, ZkReplyError, ZkSession, ZkTimeoutError } from './session';

export interface ZkDriverDeps {
  readonly logger: Logger;
  readonly clock: ClockSource;
  /** The site's zone, for a terminal whose config names none (clock offset, UTC → wall). Default UTC. */
  readonly siteTimeZone?: string;
  /** How long the user table stays in memory after its last use (users.ts `USER_TABLE_KEEP_MS`). */
  readonly userTableKeepMs?: number;
}

/** Receives every real-time event of a session; the receiver acknowledges it (`session.ackEvent`). */
export type ZkEventHandler = (session: ZkSession, event: ZkPacket) => void;

const EVENT_FLAGS = Ev.ATTLOG | Ev.ENROLLUSER | Ev.ENROLLFINGER;

/**
 * The link to one terminal and what lives exactly as long as it: the session, the firmware's
 * template format and sizes, the last error, the deferred REFRESHDATA. It never reconnects on its
 * own: failures throw, a dropped or silent link fires `onDisconnect`, and the supervisor decides.
 * The other parts of the driver send every command through `run` or `expectOk`.
 */
export class ZkConnection {
  /** `zk-fp<~ZKFPVersion>`, read at connect; the default when the firmware does not say. */
  templateFormat = 'zk-fp10';
  /** The last GET_FREE_SIZES answer: user capacity, record count. */
  lastSizes: FreeSizes | null = null;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  /**
   * One more every time a link ends. Whatever was read over an older link (the user cache) is
   * stale: a write in flight did something unknown, and the next session may find another table.
   */
  linkEpoch = 0;
  private link: ZkLink | null = null;
  private current: ZkSession | null = null;
  private readonly disconnectListeners = new Set<(reason: Error) => void>();
  /** REFRESHDATA is sent once after a burst of writes instead of after each one. */
  private refreshPending = false;
  private refreshTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly config: ZkTerminalConfig,
    readonly deps: ZkDriverDeps,
    readonly log: Logger,
    private readonly onEvent: ZkEventHandler,
  ) {}

  /** The connected session, or null. */
  get session(): ZkSession | null {
    return this.current;
  }

  /** The zone of the terminal's wall clock. */
  get zone(): string {
    return this.config.timezone ?? this.deps.siteTimeZone ?? 'UTC';
  }

  /** Old firmware speaks UDP only, with 16-byte records, 28-byte users and no template upload. */
  get oldFirmware(): boolean {
    return this.link?.transport === 'udp';
  }

  get transport(): ZkTransport | 'none' {
    return this.link?.transport ?? 'none';
  }

  skippedBytes(): number {
    return this.link?.skippedBytes() ?? 0;
  }

  async connect(): Promise<void> {
    if (this.current) return;
    try {
      const link = await this.openLink();
      const session = new ZkSession(link, {
        timeoutMs: this.config.timeoutMs,
        onEvent: (p) => this.onEvent(session, p),
      });
      this.link = link;
      this.current = session;
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
    const session = this.current;
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
      onBody: (body) => this.current?.receive(body),
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
    if (!this.current) return;
    this.current.fail(reason);
    this.current = null;
    this.link = null;
    // A pending REFRESHDATA stays pending: the next connect sends it.
    this.forgetLink();
    this.noteError(reason, 'link');
    this.log.warn({ err: reason.message }, 'zk terminal link dropped');
    for (const listener of this.disconnectListeners) listener(reason);
  }

  private async closeLink(): Promise<void> {
    const link = this.link;
    this.forgetLink();
    this.current?.fail(new Error('disconnected'));
    this.current = null;
    this.link = null;
    await link?.close();
  }

  private forgetLink(): void {
    this.linkEpoch++;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  /** Runs a command; a timeout means the link is unusable (a reply may still be in the pipe), so drop it. */
  async run<T>(what: string, work: (session: ZkSession) => Promise<T>): Promise<T> {
    const session = this.current;
    if (!session) throw this.noteError(new Error(`not connected (${what})`), what);
    try {
      return await work(session);
    } catch (err) {
      if (err instanceof ZkTimeoutError && this.current === session) {
        const link = this.link;
        this.dropped(err);
        await link?.close();
      }
      throw this.noteError(err, what);
    }
  }

  noteError(err: unknown, what: string): Error {
    const error = err instanceof Error ? err : new Error(String(err));
    this.lastError = `${what}: ${error.message}`;
    this.lastErrorAt = this.deps.clock.now();
    return error;
  }

  /** Runs a command; ACK_OK and ACK_DATA both carry the answer (firmware differs), anything else is a refusal. */
  async expectOk(command: number, data?: Uint8Array): Promise<ZkPacket> {
    return this.run(commandName(command), async (session) => {
      const reply = await session.request(command, data);
      if (!isAccepted(reply)) throw new ZkReplyError(commandName(command), reply.command);
      return reply;
    });
  }

  async readSizes(): Promise<FreeSizes> {
    const reply = await this.expectOk(Cmd.GET_FREE_SIZES);
    this.lastSizes = decodeFreeSizes(reply.data);
    return this.lastSizes;
  }

  /** Makes the terminal apply written users and templates; deferred so a burst costs one round trip. */
  scheduleRefresh(): void {
    this.refreshPending = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.flushRefresh().catch((err: unknown) => this.log.warn({ err: String(err) }, 'REFRESHDATA failed'));
    }, 100);
    this.refreshTimer.unref();
  }

  /** Sends a deferred REFRESHDATA now (before any read, before EXIT, after a reconnect). */
  async flushRefresh(): Promise<void> {
    if (!this.refreshPending || !this.current) return;
    this.refreshPending = false;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    await this.expectOk(Cmd.REFRESHDATA);
  }
}

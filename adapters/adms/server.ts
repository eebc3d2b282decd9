import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ClockSource, Logger, StatePort } from '../../gateway/model';
import { type CommandResult, formatCommandLines, parseResults, type QueuedLine } from './commands';
import { formatHandshake, formatRtTime } from './handshake';
import {
  type AttlogRecord,
  type OperlogContent,
  parseAttlog,
  parseOperlog,
  queryDataTable,
  type SkippedLine,
} from './records';
import { encodeZkTime } from './zk-time';

/** What a registered terminal (its driver) does with what its device sends. */
export interface AdmsEndpoint {
  readonly sn: string;
  readonly terminalId: string;
  /** Hours east of UTC for the handshake's TimeZone, and minutes for rtdata. */
  utcOffsetMinutes(): number;
  /** Resolves once the punches are durably journaled; throws when they could not be. */
  takePunches(records: readonly AttlogRecord[]): Promise<void>;
  takeRecords(content: OperlogContent): void;
  handOutCommands(maxBytes: number): QueuedLine[];
  takeResult(result: CommandResult): void;
  /** Any request from the device; `info` is the getrequest `INFO=` field when sent. */
  touched(info?: string): void;
  /** The PUSH version the device announced (`pushver=`, sent with the handshake). */
  announced(pushver: string): void;
}

export interface AdmsServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly delaySeconds: number;
  /** Defaults for every driver registered here (config `adms.commandTimeoutMs`, `adms.enrolTimeoutMs`). */
  readonly commandTimeoutMs?: number;
  readonly enrolTimeoutMs?: number;
  /** Upper bound of command text handed out per poll (a face photo is ~100 kB of base64). */
  readonly maxCommandBytesPerPoll?: number;
}

const UNKNOWN_SN_LOG_INTERVAL_MS = 60_000;
/** A device pushing a table the handshake did not ask for keeps doing so: say it once an hour, not per upload. */
const UNUSED_TABLE_LOG_INTERVAL_MS = 3_600_000;
const STAMP_PARAM: Readonly<Record<string, string>> = { OPERLOG: 'OpStamp' };

/**
 * The gateway's one ADMS ("PUSH") server: every ADMS terminal's device talks to it, and each
 * driver registers its serial number here. Unknown serial numbers are refused. The routes:
 * docs/protocols/adms.md#routes.
 */
export class AdmsServer {
  private readonly endpoints = new Map<string, AdmsEndpoint>();
  private readonly unknownLoggedAt = new Map<string, number>();
  private readonly unusedTableLoggedAt = new Map<string, number>();
  private server: ServerType | undefined;
  private boundPort: number | undefined;
  private lastCommandId = 0;
  private honoApp: Hono | undefined;

  constructor(
    private readonly options: AdmsServerOptions,
    private readonly deps: {
      readonly logger: Logger;
      readonly clock: ClockSource;
      readonly state: StatePort;
    },
  ) {}

  get port(): number | undefined {
    return this.boundPort;
  }

  get delaySeconds(): number {
    return this.options.delaySeconds;
  }

  get commandTimeoutMs(): number {
    return this.options.commandTimeoutMs ?? 120_000;
  }

  get enrolTimeoutMs(): number {
    return this.options.enrolTimeoutMs ?? 180_000;
  }

  /** The `/iclock/*` routes, for mounting elsewhere; `start()` serves them on their own port. */
  get app(): Hono {
    this.honoApp ??= this.createApp();
    return this.honoApp;
  }

  register(endpoint: AdmsEndpoint): () => void {
    const existing = this.endpoints.get(endpoint.sn);
    if (existing && existing !== endpoint)
      throw new Error(
        `ADMS serial number ${endpoint.sn} is already served for terminal ${existing.terminalId}`,
      );
    this.endpoints.set(endpoint.sn, endpoint);
    return () => {
      if (this.endpoints.get(endpoint.sn) === endpoint) this.endpoints.delete(endpoint.sn);
    };
  }

  /**
   * Ids stay unique across restarts without being stored: they start at the seconds since 2020,
   * so a late result for a command of the previous run never matches a new one.
   */
  nextCommandId(): string {
    const floor = Math.floor((this.deps.clock.now() - Date.UTC(2020, 0, 1)) / 1000);
    this.lastCommandId = Math.max(this.lastCommandId + 1, floor);
    return String(this.lastCommandId);
  }

  start(): Promise<number> {
    if (this.server) return Promise.resolve(this.boundPort as number);
    const app = this.app;
    return new Promise((resolve, reject) => {
      const server = serve(
        { fetch: app.fetch, hostname: this.options.host, port: this.options.port },
        (info: AddressInfo) => {
          server.off('error', reject);
          this.server = server;
          this.boundPort = info.port;
          this.deps.logger.info({ host: this.options.host, port: info.port }, 'ADMS server listening');
          resolve(info.port);
        },
      );
      server.once('error', reject);
    });
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close(() => resolve());
    });
  }

  private createApp(): Hono {
    const app = new Hono();
    const { logger } = this.deps;
    const limit = bodyLimit({
      maxSize: this.options.maxBodyBytes,
      onError: (c) => {
        logger.warn(
          { sn: c.req.query('SN'), path: c.req.path, maxBodyBytes: this.options.maxBodyBytes },
          'ADMS body too large; refused, nothing applied',
        );
        return c.text('ERROR: body too large', 413);
      },
    });
    app.get('/iclock/cdata', (c) => this.withEndpoint(c, (e) => this.handshake(c, e)));
    app.post('/iclock/cdata', limit, (c) => this.withEndpoint(c, (e) => this.upload(c, e)));
    app.get('/iclock/getrequest', (c) =>
      this.withEndpoint(c, (e) => {
        e.touched(c.req.query('INFO'));
        const lines = e.handOutCommands(this.options.maxCommandBytesPerPoll ?? 1024 * 1024);
        return c.text(formatCommandLines(lines));
      }),
    );
    app.post('/iclock/querydata', limit, (c) => this.withEndpoint(c, (e) => this.queryData(c, e)));
    app.post('/iclock/devicecmd', limit, (c) =>
      this.withEndpoint(c, async (e) => {
        const { results, skipped } = parseResults(await c.req.text());
        if (skipped.length > 0) logger.warn({ sn: e.sn, skipped }, 'ADMS command results not understood');
        for (const result of results) e.takeResult(result);
        return c.text('OK');
      }),
    );
    app.get('/iclock/rtdata', (c) =>
      this.withEndpoint(c, (e) => {
        const offset = e.utcOffsetMinutes();
        const wall = new Date(this.deps.clock.now() + offset * 60_000).toISOString().slice(0, 19);
        return c.text(formatRtTime(encodeZkTime(wall), offset));
      }),
    );
    app.get('/iclock/ping', (c) => this.withEndpoint(c, () => c.text('OK')));
    app.onError((error, c) => {
      logger.error({ path: c.req.path, error: error.message }, 'ADMS request failed');
      return c.text('ERROR', 500);
    });
    return app;
  }

  private async withEndpoint(
    c: Context,
    handle: (endpoint: AdmsEndpoint) => Response | Promise<Response>,
  ): Promise<Response> {
    const sn = c.req.query('SN') ?? '';
    const endpoint = this.endpoints.get(sn);
    if (!endpoint) {
      const now = this.deps.clock.now();
      const last = this.unknownLoggedAt.get(sn);
      if (last === undefined || now - last > UNKNOWN_SN_LOG_INTERVAL_MS) {
        if (this.unknownLoggedAt.size > 1000) this.unknownLoggedAt.clear();
        this.unknownLoggedAt.set(sn, now);
        this.deps.logger.warn(
          { sn: sn.slice(0, 64), path: c.req.path },
          'ADMS request from an unconfigured serial number refused',
        );
      }
      return c.text('ERROR: unknown device', 403);
    }
    endpoint.touched();
    // The handshake carries it; reading it on any route also covers firmware that sends it elsewhere.
    const pushver = c.req.query('pushver');
    if (pushver) endpoint.announced(pushver);
    return handle(endpoint);
  }

  private async handshake(c: Context, endpoint: AdmsEndpoint): Promise<Response> {
    const stamps = this.stampSlot(endpoint.sn).get() ?? {};
    const offset = endpoint.utcOffsetMinutes();
    this.deps.logger.info(
      { sn: endpoint.sn, terminalId: endpoint.terminalId, pushver: c.req.query('pushver') },
      'ADMS handshake',
    );
    return c.text(
      formatHandshake(endpoint.sn, {
        stamps,
        delay: this.options.delaySeconds,
        errorDelay: Math.max(this.options.delaySeconds, 30),
        timeZone: offset / 60,
      }),
    );
  }

  private async upload(c: Context, endpoint: AdmsEndpoint): Promise<Response> {
    const table = (c.req.query('table') ?? '').toUpperCase();
    const body = await c.req.text();
    const log = this.deps.logger;
    if (table === 'ATTLOG') {
      const { records, skipped } = parseAttlog(body);
      this.logSkipped(endpoint, table, skipped);
      if (records.length > 0) {
        try {
          await endpoint.takePunches(records);
        } catch (error) {
          log.warn(
            {
              sn: endpoint.sn,
              terminalId: endpoint.terminalId,
              count: records.length,
              error: (error as Error).message,
            },
            'ADMS punches not journaled; the device will resend',
          );
          return c.text('ERROR: retry later', 503);
        }
      }
      await this.saveStamp(endpoint.sn, table, c.req.query('Stamp'));
      return c.text(`OK: ${records.length}`);
    }
    if (['OPERLOG', 'USERINFO', 'FINGERTMP', 'BIODATA', 'BIOPHOTO', 'USERPIC'].includes(table)) {
      const content = parseOperlog(body, table);
      this.logSkipped(endpoint, table, content.skipped);
      endpoint.takeRecords(content);
      await this.saveStamp(
        endpoint.sn,
        table,
        c.req.query(STAMP_PARAM[table] ?? 'Stamp') ?? c.req.query('Stamp'),
      );
      const count =
        content.users.length + content.templates.length + content.photos.length + content.operations;
      return c.text(`OK: ${count}`);
    }
    // The handshake asks for none of these (ATTPHOTO included): `OK` so the device moves on instead of
    // resending forever, and a warning, since the device is set to send what nobody keeps.
    // Content-Length, not the text's length: an ATTPHOTO body is a JPEG after its header lines.
    this.logUnusedTable(endpoint, table, Number(c.req.header('content-length') ?? Buffer.byteLength(body)));
    return c.text('OK');
  }

  /**
   * PUSH 3.x query results: the same records as a cdata OPERLOG upload, so they reach the driver the
   * same way (a `listUsers` or `readTemplates` in flight collects them); the command itself is settled by
   * its devicecmd result. The answer `<tablename>=<records received>` counts skipped lines too: they
   * are logged, and resending them would not make them readable.
   */
  private async queryData(c: Context, endpoint: AdmsEndpoint): Promise<Response> {
    const body = await c.req.text();
    const { tableData, table } = queryDataTable({
      types: c.req.queries('type') ?? [],
      tablename: c.req.query('tablename'),
      table: c.req.query('table'),
    });
    if (!tableData) {
      this.deps.logger.debug(
        { sn: endpoint.sn, type: c.req.query('type'), cmdId: c.req.query('cmdid') },
        'ADMS query result without records (options or count) accepted',
      );
      return c.text('OK');
    }
    const content = parseOperlog(body, table ?? '');
    this.logSkipped(endpoint, `querydata ${table ?? ''}`.trim(), content.skipped);
    endpoint.takeRecords(content);
    const received =
      content.users.length +
      content.templates.length +
      content.photos.length +
      content.operations +
      content.skipped.length;
    return c.text(table ? `${table}=${received}` : `OK: ${received}`);
  }

  private logUnusedTable(endpoint: AdmsEndpoint, table: string, bytes: number): void {
    const key = `${endpoint.sn}\t${table}`;
    const now = this.deps.clock.now();
    const last = this.unusedTableLoggedAt.get(key);
    const fields = { sn: endpoint.sn, terminalId: endpoint.terminalId, table: table.slice(0, 32), bytes };
    if (last !== undefined && now - last <= UNUSED_TABLE_LOG_INTERVAL_MS) {
      this.deps.logger.debug(fields, 'ADMS upload of an unused table discarded');
      return;
    }
    if (this.unusedTableLoggedAt.size > 1000) this.unusedTableLoggedAt.clear();
    this.unusedTableLoggedAt.set(key, now);
    this.deps.logger.warn(
      fields,
      'ADMS device uploads a table the gateway does not keep (not asked for in the handshake); discarded. Turn it off on the device',
    );
  }

  private logSkipped(endpoint: AdmsEndpoint, table: string, skipped: readonly SkippedLine[]): void {
    if (skipped.length === 0) return;
    this.deps.logger.warn(
      {
        sn: endpoint.sn,
        terminalId: endpoint.terminalId,
        table,
        skipped: skipped.slice(0, 20),
        count: skipped.length,
      },
      'ADMS malformed lines skipped; the good lines of the same upload were kept',
    );
  }

  private stampSlot(sn: string) {
    return this.deps.state.slot<Record<string, string>>(`adms.${sn}.stamps`);
  }

  /**
   * Only after the records are applied: a stamp ahead of the journal would lose punches on reconnect
   * (docs/protocols/adms.md#stamps).
   */
  private async saveStamp(sn: string, table: string, stamp: string | undefined): Promise<void> {
    if (!stamp || !/^\d{1,20}$/.test(stamp)) return;
    const slot = this.stampSlot(sn);
    const stamps = slot.get() ?? {};
    if (stamps[table] === stamp) return;
    await slot.set({ ...stamps, [table]: stamp });
  }
}

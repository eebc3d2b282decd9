import type { Logger, TerminalUser } from '../../gateway/model';
import {
  type CommandResult,
  formatResults,
  parseCommand,
  parseCommandLines,
  QUERY_TABLE_3X,
  type QueryForm,
  type QueryTable,
} from './commands';
import { EmulatedAdmsDevice, RETURN_UNSUPPORTED, type UploadRecord } from './emulator-device';
import { parseHandshake } from './handshake';
import {
  type AdmsUser,
  type AttlogRecord,
  formatAttlog,
  formatPhotoRecord,
  formatQueryPhotoRecord,
  formatQueryTemplateRecord,
  formatQueryUserRecord,
  formatTemplateRecord,
  formatUserRecord,
} from './records';

export interface AdmsEmulatorOptions {
  /** The gateway's ADMS root, e.g. `http://127.0.0.1:8081`. */
  readonly serverUrl: string;
  readonly sn: string;
  /** Punch a random user this often (0 or absent: only when asked). */
  readonly punchEverySeconds?: number;
  /** Command poll interval; default the handshake's `Delay`. */
  readonly pollMs?: number;
  /** Wait after a failed request; default the handshake's `ErrorDelay`. */
  readonly retryMs?: number;
  readonly users?: ReadonlyArray<{ pin: string; name?: string; card?: number; privilege?: number }>;
  /** The zone the device's clock is set to (default Asia/Shanghai). */
  readonly timezone?: string;
  /** Device clock minus real time at start. */
  readonly clockOffsetMs?: number;
  /** Most punches per ATTLOG upload. */
  readonly batchSize?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
  /**
   * The PUSH version the device reports (`pushver`, default 2.4.1). From 3.0 on it answers a
   * `DATA QUERY` through `POST /iclock/querydata` (`user`, `templatev10`, `biophoto` lines) in packs
   * of `queryPackSize` records, as PUSH 3.x firmware does, instead of a cdata upload.
   */
  readonly pushver?: string;
  readonly queryPackSize?: number;
  /**
   * Which `DATA QUERY` spellings the firmware runs; the other is answered `Return=-1002` (not supported).
   * `2.x-only`: `DATA QUERY USERINFO` (PUSH 2.x attendance firmware). `both`: what PUSH 3.x attendance
   * firmware does. `3.x-only`: `DATA QUERY tablename=user,fielddesc=*,filter=*` only, as the Security
   * PUSH firmware of newer face terminals. Default: `2.x-only` below pushver 3, `both` from 3 on.
   */
  readonly queryForms?: AdmsQueryForms;
  /**
   * A camera that photographs each punch (an attendance photo, ATTPHOTO). `as-asked` uploads the
   * photos only when the handshake's TransFlag names AttPhoto (or sets its bit in the older
   * `1111000000` form); `always` is firmware that uploads them whatever the server asked.
   */
  readonly camera?: 'as-asked' | 'always';
}

export type AdmsQueryForms = '2.x-only' | 'both' | '3.x-only';

export interface AdmsEmulatorStats {
  handshakes: number;
  attlogPosts: number;
  attlogLinesPosted: number;
  failedPosts: number;
  polls: number;
  commandsRun: number;
  queryDataPosts: number;
  attPhotoPosts: number;
}

const FIRMWARE = 'Ver 8.0.4.2-emulated';

/**
 * An ADMS ("PUSH") face terminal talking to a real server over HTTP: handshake, ATTLOG pushes with
 * stamps, command polls executed against its own memory, results posted back. A punch the server
 * does not acknowledge (error, 5xx, no answer) stays in the device and is pushed again later.
 */
export class AdmsEmulator {
  readonly device: EmulatedAdmsDevice;
  readonly stats: AdmsEmulatorStats = {
    handshakes: 0,
    attlogPosts: 0,
    attlogLinesPosted: 0,
    failedPosts: 0,
    polls: 0,
    commandsRun: 0,
    queryDataPosts: 0,
    attPhotoPosts: 0,
  };
  /** Highest stamp the server acknowledged. */
  private ackedStamp = 0;
  /** Highest attendance-photo stamp the server acknowledged. */
  private ackedPhotoStamp = 0;
  /** Whether the last handshake asked for attendance photos. */
  private photosAsked = false;
  private lastBatch: { body: string; stamp: number } | undefined;
  private delayMs = 10_000;
  private errorDelayMs = 30_000;
  private running = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private punchTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<boolean> | undefined;
  private polling: Promise<void> | undefined;
  private failNext: number | undefined;
  private nextPin = 0;
  private readonly received: Array<{ readonly text: string; readonly returnCode: number }> = [];

  constructor(private readonly options: AdmsEmulatorOptions) {
    this.device = new EmulatedAdmsDevice(options.timezone ?? 'Asia/Shanghai', options.now ?? Date.now);
    this.device.camera = options.camera !== undefined;
  }

  get sn(): string {
    return this.options.sn;
  }

  /** Handshakes (throws when refused), then polls and pushes until `stop()` (its timers keep the process alive). */
  async start(): Promise<void> {
    if (this.device.users.size === 0) {
      for (const u of this.options.users ?? [])
        this.device.users.set(u.pin, {
          pin: u.pin,
          name: u.name ?? '',
          privilege: u.privilege ?? 0,
          password: '',
          card: u.card ?? 0,
          group: 1,
        });
      this.device.clockOffsetMs = this.options.clockOffsetMs ?? 0;
    }
    await this.handshake();
    this.running = true;
    this.schedulePoll(0);
    const every = this.options.punchEverySeconds ?? 0;
    if (every > 0) {
      this.punchTimer = setInterval(() => void this.punchSomeone(), every * 1000);
    }
    void this.flush();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.pollTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.punchTimer);
    await Promise.allSettled([this.polling, this.flushing]);
  }

  /** `GET /iclock/cdata?options=all`: learns the stamps (what the server has) and the poll delay. */
  async handshake(): Promise<Map<string, string>> {
    const response = await this.request('GET', 'cdata', {
      options: 'all',
      pushver: this.options.pushver ?? '2.4.1',
      language: '83',
    });
    if (response.status !== 200)
      throw new Error(`handshake refused: HTTP ${response.status} ${response.text}`);
    const { options } = parseHandshake(response.text);
    this.stats.handshakes++;
    const stamp = Number(options.get('ATTLOGStamp'));
    this.ackedStamp = Number.isInteger(stamp) && stamp > 0 ? stamp : 0;
    const photoStamp = Number(options.get('ATTPHOTOStamp'));
    this.ackedPhotoStamp = Number.isInteger(photoStamp) && photoStamp > 0 ? photoStamp : 0;
    this.photosAsked = asksForPhotos(options.get('TransFlag') ?? '');
    const delay = Number(options.get('Delay'));
    const errorDelay = Number(options.get('ErrorDelay'));
    if (delay > 0) this.delayMs = delay * 1000;
    if (errorDelay > 0) this.errorDelayMs = errorDelay * 1000;
    return options;
  }

  /** Records a punch and pushes it now; resolves true once the server acknowledged it. */
  punchNow(pin: string, options: { status?: number; verify?: number; wall?: string } = {}): Promise<boolean> {
    this.device.punch(pin, options);
    return this.flush();
  }

  /** Punches not yet acknowledged by the server. */
  unsentCount(): number {
    return this.device.log.filter((e) => e.stamp > this.ackedStamp).length;
  }

  /** Fault: posts the last acknowledged batch again, as a device does after a lost `OK`. */
  async resendLastBatch(): Promise<{ status: number; text: string }> {
    if (!this.lastBatch) throw new Error('nothing was sent yet');
    return this.request(
      'POST',
      'cdata',
      { table: 'ATTLOG', Stamp: String(this.lastBatch.stamp) },
      this.lastBatch.body,
    );
  }

  /** Fault: posts any body (garbled lines, oversized uploads) to a table. */
  postRaw(table: string, body: string, stamp?: number): Promise<{ status: number; text: string }> {
    return this.request('POST', 'cdata', { table, ...(stamp ? { Stamp: String(stamp) } : {}) }, body);
  }

  /** Fault: the next command answers with this Return code instead of running. */
  failNextCommand(returnCode: number): void {
    this.failNext = returnCode;
  }

  /** Polls for commands now instead of waiting for the next poll. */
  pollNow(): Promise<void> {
    if (!this.polling) {
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
      });
    }
    return this.polling;
  }

  users(): TerminalUser[] {
    return [...this.device.users.values()].map((u) => ({
      pin: u.pin,
      name: u.name,
      privilege: u.privilege,
      ...(u.card ? { card: u.card } : {}),
      ...(u.password ? { password: u.password } : {}),
    }));
  }

  /** pin → photo bytes. */
  photos(): Map<string, Buffer> {
    return new Map([...this.device.photos].map(([pin, b64]) => [pin, Buffer.from(b64, 'base64')]));
  }

  fingerprints(pin: string): Map<number, Buffer> {
    const fingers = this.device.fingerprints.get(pin) ?? new Map<number, string>();
    return new Map([...fingers].map(([i, b64]) => [i, Buffer.from(b64, 'base64')]));
  }

  /** The commands run so far (the last 1000), with the Return code each got. */
  commands(): ReadonlyArray<{ readonly text: string; readonly returnCode: number }> {
    return [...this.received];
  }

  /** The device's wall clock now, `YYYY-MM-DDTHH:mm:ss`. */
  clock(): string {
    return this.device.wallClock();
  }

  /** Pushes every unacknowledged punch, in batches; false when the server did not take them all. */
  flush(): Promise<boolean> {
    // One push at a time, in order: stamps only move forward.
    const run = (this.flushing ?? Promise.resolve(true))
      .then(() => this.pushPending())
      // A photo goes only after its punch was taken, as firmware sends them.
      .then(async (punchesTaken) => punchesTaken && (await this.pushPhotos()));
    this.flushing = run;
    void run.finally(() => {
      if (this.flushing === run) this.flushing = undefined;
    });
    return run;
  }

  private async pushPending(): Promise<boolean> {
    const batchSize = this.options.batchSize ?? 100;
    for (;;) {
      const pending = this.device.log.filter((e) => e.stamp > this.ackedStamp).slice(0, batchSize);
      if (pending.length === 0) return true;
      const stamp = (pending[pending.length - 1] as { stamp: number }).stamp;
      const body = formatAttlog(pending.map((e) => e.record));
      this.stats.attlogPosts++;
      this.stats.attlogLinesPosted += pending.length;
      let ok = false;
      try {
        const response = await this.request('POST', 'cdata', { table: 'ATTLOG', Stamp: String(stamp) }, body);
        ok = response.status === 200 && response.text.startsWith('OK');
        if (!ok)
          this.log('warn', { status: response.status, text: response.text.slice(0, 60) }, 'push refused');
      } catch (error) {
        this.log('warn', { error: (error as Error).message }, 'push failed');
      }
      if (!ok) {
        this.stats.failedPosts++;
        this.scheduleRetry();
        return false;
      }
      this.ackedStamp = stamp;
      this.lastBatch = { body, stamp };
    }
  }

  /**
   * Attendance photos after the punches, one upload each, in the published form: `PIN=<yyyyMMddHHmmss>-<pin>.jpg`,
   * `SN=`, `size=`, `CMD=uploadphoto` lines, a NUL, then the JPEG bytes.
   */
  private async pushPhotos(): Promise<boolean> {
    const camera = this.options.camera;
    if (camera === undefined || (camera === 'as-asked' && !this.photosAsked)) return true;
    for (const photo of this.device.attendancePhotos) {
      if (photo.stamp <= this.ackedPhotoStamp) continue;
      const name = `${photo.wall.replace(/[-T:]/g, '')}-${photo.pin}.jpg`;
      const head = `PIN=${name}\nSN=${this.options.sn}\nsize=${photo.jpeg.length}\nCMD=uploadphoto\0`;
      const body = Buffer.concat([Buffer.from(head, 'utf8'), photo.jpeg]);
      this.stats.attPhotoPosts++;
      let ok = false;
      try {
        const response = await this.request(
          'POST',
          'cdata',
          { table: 'ATTPHOTO', Stamp: String(photo.stamp) },
          body,
        );
        ok = response.status === 200 && response.text.startsWith('OK');
      } catch (error) {
        this.log('warn', { error: (error as Error).message }, 'photo upload failed');
      }
      if (!ok) {
        this.scheduleRetry();
        return false;
      }
      this.ackedPhotoStamp = photo.stamp;
    }
    return true;
  }

  private scheduleRetry(): void {
    if (!this.running || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, this.options.retryMs ?? this.errorDelayMs);
  }

  private schedulePoll(delayMs: number): void {
    if (!this.running) return;
    this.pollTimer = setTimeout(() => {
      void this.pollNow().finally(() => this.schedulePoll(this.options.pollMs ?? this.delayMs));
    }, delayMs);
  }

  private async poll(): Promise<void> {
    try {
      const info = `${FIRMWARE},${this.device.users.size},${this.device.fingerprints.size},${this.device.log.length},127.0.0.1`;
      const response = await this.request('GET', 'getrequest', { INFO: info });
      this.stats.polls++;
      if (response.status !== 200) return;
      const results: CommandResult[] = [];
      for (const line of parseCommandLines(response.text)) {
        results.push(await this.run(line.id, line.text));
      }
      if (results.length > 0) await this.request('POST', 'devicecmd', {}, formatResults(results));
    } catch (error) {
      this.log('warn', { error: (error as Error).message }, 'poll failed');
    }
  }

  private async run(id: string, text: string): Promise<CommandResult> {
    const result = await this.execute(id, text);
    this.received.push({ text, returnCode: result.returnCode });
    if (this.received.length > 1000) this.received.shift();
    return result;
  }

  private async execute(id: string, text: string): Promise<CommandResult> {
    const command = parseCommand(text);
    const cmd = (/^(\S+)/.exec(text)?.[1] ?? '').toUpperCase();
    this.stats.commandsRun++;
    if (this.failNext !== undefined) {
      const returnCode = this.failNext;
      this.failNext = undefined;
      return { id, returnCode, cmd };
    }
    if (command.type === 'query' && !this.runsQueryForm(command.form ?? '2.x'))
      return { id, returnCode: RETURN_UNSUPPORTED, cmd };
    const execution = this.device.execute(command);
    if (command.type === 'check') await this.handshake().catch(() => undefined);
    // The 3.x spelling is only ever answered the 3.x way.
    if (command.type === 'query' && (this.pushMajor() >= 3 || command.form === '3.x') && execution.upload) {
      await this.postQueryData(id, command.table, execution.upload.records);
    } else if (execution.upload && execution.upload.records.length > 0) {
      const { table, records } = execution.upload;
      await this.request('POST', 'cdata', { table }, records.map(formatUploadRecord).join('\n'));
    }
    return { id, returnCode: execution.returnCode, cmd };
  }

  private runsQueryForm(form: QueryForm): boolean {
    const forms = this.options.queryForms ?? (this.pushMajor() >= 3 ? 'both' : '2.x-only');
    return forms === 'both' || forms === `${form}-only`;
  }

  private pushMajor(): number {
    return Number.parseInt(this.options.pushver ?? '2', 10) || 2;
  }

  /** PUSH 3.x: query results in packs to `/iclock/querydata`, before the command's result. */
  private async postQueryData(
    cmdId: string,
    table: QueryTable,
    records: readonly UploadRecord[],
  ): Promise<void> {
    const tablename = QUERY_TABLE_3X[table];
    const packSize = Math.max(1, this.options.queryPackSize ?? 100);
    const packCount = Math.max(1, Math.ceil(records.length / packSize));
    for (let pack = 0; pack < packCount; pack++) {
      const slice = records.slice(pack * packSize, (pack + 1) * packSize);
      const body = slice.map((r, i) => formatQueryRecord(r, pack * packSize + i + 1)).join('\n');
      this.stats.queryDataPosts++;
      await this.request(
        'POST',
        'querydata',
        {
          type: 'tabledata',
          cmdid: cmdId,
          tablename,
          count: String(slice.length),
          packcnt: String(packCount),
          packidx: String(pack + 1),
        },
        body,
      );
    }
  }

  private punchSomeone(): void {
    const pins = [...this.device.users.keys()];
    const pin =
      pins.length > 0 ? (pins[this.nextPin++ % pins.length] as string) : String((this.nextPin++ % 50) + 1);
    void this.punchNow(pin, { status: this.nextPin % 2, verify: 15 });
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string>,
    body?: string | Uint8Array,
  ): Promise<{ status: number; text: string }> {
    const url = new URL(`/iclock/${path}`, this.options.serverUrl);
    url.searchParams.set('SN', this.options.sn);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const response = await fetch(url, {
      method,
      headers: { 'User-Agent': 'iClock Proxy/1.09', 'Content-Type': 'text/plain' },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, text: await response.text() };
  }

  private log(level: 'warn' | 'debug', obj: object, msg: string): void {
    this.options.logger?.[level]({ sn: this.options.sn, ...obj }, `ADMS emulator: ${msg}`);
  }
}

function formatQueryRecord(record: UploadRecord, uid: number): string {
  if (record.kind === 'user') return formatQueryUserRecord(record.user, uid);
  if (record.kind === 'template') return formatQueryTemplateRecord(record.template, uid);
  return formatQueryPhotoRecord(record.photo);
}

/** TransFlag as `TransData AttLog\tAttPhoto…` (PUSH 2.x names), or as digits where the third is AttPhoto. */
function asksForPhotos(transFlag: string): boolean {
  const flag = transFlag.trim();
  if (/^[01]{3,}$/.test(flag)) return flag[2] === '1';
  return flag.split(/[\s,]+/).some((item) => item.toLowerCase() === 'attphoto');
}

function formatUploadRecord(record: UploadRecord): string {
  if (record.kind === 'user') return formatUserRecord(record.user);
  if (record.kind === 'template') return formatTemplateRecord(record.template);
  return formatPhotoRecord(record.photo);
}

export type { AdmsUser, AttlogRecord };

import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import type { ClockSource } from '../../gateway/model';
import { SichuanCodec } from './codec';
import { checkRegistration, checkUploadRecords, type RegistrationFields } from './emulator-checks';
import { FaultInjector, type FaultPlan } from './emulator-faults';
import {
  type DeleteRecord,
  type IssueRecord,
  ResultCode,
  type SichuanAnswer,
  type UploadRecord,
} from './protocol';
import { type Endpoint, SIGN_ORDER } from './sign';
import type { CipherEncoding } from './sm4';
import { Sm4DecryptError } from './sm4';

export interface SichuanEmulatorOptions {
  /** Device serial numbers the platform knows. */
  readonly sn: string | readonly string[];
  readonly deviceKey: string;
  readonly sm4Key: string;
  readonly sm4Iv?: string;
  readonly cipherEncoding?: CipherEncoding;
  readonly host?: string;
  /** 0 (default): an ephemeral port. */
  readonly port?: number;
  /** Serve HTTPS with this PEM key and certificate. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  readonly clock?: ClockSource;
  /** How old or new a timestamp may be (the seed: 5 minutes; docs/protocols/sichuan.md#timestamp). */
  readonly timestampWindowSeconds?: number;
  /**
   * Task type used for issue tasks (the seed's GetTaskData example: 1) and for delete tasks (2):
   * docs/protocols/sichuan.md#tasks.
   */
  readonly taskTypes?: { readonly issue: number; readonly delete: number };
  readonly random?: () => number;
  /**
   * Refuse RegistData as a real platform does: an ID number whose GB 11643 check character is
   * wrong, photos that are not JPEG or PNG. Off by default (the protocol tests send placeholders).
   */
  readonly strictRegistration?: boolean;
}

export interface EmulatedTask {
  readonly id: string;
  readonly type: number;
  readonly records: readonly (IssueRecord | DeleteRecord)[];
  state: 'pending' | 'fetched' | 'succeeded' | 'failed';
  fetches: number;
  resultMsg?: string;
}

export interface ReceivedUpload {
  readonly at: number;
  readonly sn: string;
  readonly records: readonly UploadRecord[];
}

export interface ReceivedRegistration {
  readonly at: number;
  readonly userId: string;
  readonly idCardNo: string;
  readonly name: string;
  readonly gender: string;
  readonly userType: string;
  readonly photoBytes: number;
  readonly idPhotoBytes: number;
  readonly fields: Readonly<Record<string, string>>;
}

export interface Violation {
  readonly at: number;
  readonly endpoint: string;
  readonly result: number;
  readonly reason: string;
}

export interface AnswerLogEntry {
  /** When the answer went out. */
  readonly at: number;
  /** When the request arrived (before any `delayMs`): what a back-off is measured by. */
  readonly receivedAt: number;
  readonly endpoint: string;
  readonly status: number;
  readonly result: number | null;
  readonly fault?: string;
}

/** What tests and lab mode read back (also served at GET /_emulator/state). */
export interface EmulatorState {
  readonly heartbeats: number;
  readonly tasks: readonly EmulatedTask[];
  readonly uploads: readonly ReceivedUpload[];
  readonly punches: readonly UploadRecord[];
  readonly registrations: readonly ReceivedRegistration[];
  readonly violations: readonly Violation[];
  readonly answers: readonly AnswerLogEntry[];
  readonly faults: FaultPlan;
}

const FORM_URLENCODED = 'application/x-www-form-urlencoded';
const MULTIPART = 'multipart/form-data';
const ANSWER_LOG_LIMIT = 10_000;

/** Answers with a Result code, optionally recording a violation. */
class Rejection extends Error {
  constructor(
    readonly result: number,
    reason: string,
    readonly violation = true,
  ) {
    super(reason);
  }
}

/**
 * A strict emulation of the Sichuan real-name platform's device API (docs/protocols/sichuan.md): five
 * endpoints, sn/sign/timestamp checks, a task queue, and a record of everything received and every
 * violation.
 */
export class SichuanEmulator {
  readonly codec: SichuanCodec;
  readonly faults: FaultInjector;
  private server: ServerType | null = null;
  /** A restarted emulator comes back on the same port, as a platform back from an outage would. */
  private lastPort: number | null = null;
  private readonly knownSns: ReadonlySet<string>;
  private readonly clock: ClockSource;
  private readonly windowSeconds: number;
  private readonly taskTypes: { readonly issue: number; readonly delete: number };
  private readonly tasks: EmulatedTask[] = [];
  private readonly uploads: ReceivedUpload[] = [];
  private readonly punches: UploadRecord[] = [];
  private readonly registrations: ReceivedRegistration[] = [];
  private readonly violations: Violation[] = [];
  private readonly answers: AnswerLogEntry[] = [];
  private readonly arrivals = new WeakMap<Context, number>();
  private heartbeats = 0;
  private nextTaskNo = 1;
  private nextUserNo = 1;
  /** When true, uploads are counted but not kept (benchmarks). */
  keepRecords = true;
  private uploadedCount = 0;

  constructor(private readonly options: SichuanEmulatorOptions) {
    this.codec = new SichuanCodec({
      deviceKey: options.deviceKey,
      sm4Key: options.sm4Key,
      sm4Iv: options.sm4Iv ?? '00000000000000000000000000000000',
      cipherEncoding: options.cipherEncoding ?? 'hex',
      signCase: 'lower',
    });
    this.knownSns = new Set(typeof options.sn === 'string' ? [options.sn] : options.sn);
    this.clock = options.clock ?? { now: () => Date.now() };
    this.windowSeconds = options.timestampWindowSeconds ?? 300;
    this.taskTypes = options.taskTypes ?? { issue: 1, delete: 2 };
    this.faults = new FaultInjector(options.random ?? Math.random);
  }

  /** Listens (default 127.0.0.1, ephemeral port) and resolves with the API root URL. */
  async start(): Promise<string> {
    if (this.server) return this.baseUrl();
    const app = this.app();
    const tls = this.options.tls;
    await new Promise<void>((resolve, reject) => {
      const server: ServerType = serve(
        {
          fetch: app.fetch,
          hostname: this.options.host ?? '127.0.0.1',
          port: this.lastPort ?? this.options.port ?? 0,
          ...(tls
            ? { createServer: createHttpsServer, serverOptions: { key: tls.key, cert: tls.cert } }
            : {}),
        },
        (info) => {
          this.lastPort = info.port;
          resolve();
        },
      );
      server.once('error', reject);
      this.server = server;
    });
    return this.baseUrl();
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
  }

  baseUrl(): string {
    const server = this.server;
    if (!server) throw new Error('the emulator is not running');
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${this.options.tls ? 'https' : 'http'}://${host}:${address.port}`;
  }

  setFaults(changes: Partial<FaultPlan>): FaultPlan {
    return this.faults.update(changes);
  }

  /** Queues a task that issues workers (records with photo/userType). Returns the task id. */
  addIssueTask(records: readonly IssueRecord[], type = this.taskTypes.issue): string {
    return this.addTask(type, records);
  }

  /** Queues a task that removes workers (records with delType). Returns the task id. */
  addDeleteTask(records: readonly DeleteRecord[], type = this.taskTypes.delete): string {
    return this.addTask(type, records);
  }

  addTask(type: number, records: readonly (IssueRecord | DeleteRecord)[]): string {
    const id = `T${String(this.nextTaskNo++).padStart(6, '0')}`;
    this.tasks.push({ id, type, records, state: 'pending', fetches: 0 });
    return id;
  }

  /** Uploaded punches counted, even when keepRecords is off. */
  uploadedRecordCount(): number {
    return this.uploadedCount;
  }

  state(): EmulatorState {
    return {
      heartbeats: this.heartbeats,
      tasks: this.tasks.map((t) => ({ ...t })),
      uploads: [...this.uploads],
      punches: [...this.punches],
      registrations: [...this.registrations],
      violations: [...this.violations],
      answers: [...this.answers],
      faults: this.faults.plan,
    };
  }

  private nowMs(): number {
    return this.clock.now() + this.faults.plan.clockSkewMs;
  }

  private app(): Hono {
    const app = new Hono();
    app.get('/_emulator/state', (c) => {
      const state = this.state();
      // Photos stay out of the introspection answer: sizes are enough to check them.
      const tasks = state.tasks.map((t) => ({
        ...t,
        records: t.records.map((r) =>
          'photo' in r && r.photo ? { ...r, photo: `<${r.photo.length} chars>` } : r,
        ),
      }));
      return c.json({ ...state, tasks });
    });
    app.get('/_emulator/summary', (c) =>
      c.json({
        heartbeats: this.heartbeats,
        uploadedRecords: this.uploadedCount,
        uploads: this.uploads.length,
        registrations: this.registrations.length,
        tasks: this.tasks.length,
        violations: this.violations.length,
        lastViolation: this.violations.at(-1) ?? null,
      }),
    );
    app.post('/_emulator/faults', async (c) =>
      c.json(this.setFaults(await c.req.json<Partial<FaultPlan>>())),
    );
    app.post('/_emulator/tasks', async (c) => {
      const body = await c.req.json<{ type?: number; records: (IssueRecord | DeleteRecord)[] }>();
      const isDelete = body.records.some((r) => 'delType' in r);
      const type = body.type ?? (isDelete ? this.taskTypes.delete : this.taskTypes.issue);
      return c.json({ id: this.addTask(type, body.records) });
    });
    for (const endpoint of Object.keys(SIGN_ORDER) as Endpoint[]) {
      app.post(`/${endpoint}`, (c) => this.handle(c, endpoint));
    }
    app.notFound((c) =>
      c.json({ Result: ResultCode.serverError, Content: '', Msg: 'no such endpoint' }, 404),
    );
    return app;
  }

  private async handle(c: Context, endpoint: Endpoint): Promise<Response> {
    this.arrivals.set(c, this.clock.now());
    const delay = this.faults.plan.delayMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    c.header('Date', new Date(this.nowMs()).toUTCString());
    const fault = this.faults.serverFault();
    if (fault === 'http500') {
      this.logAnswer(endpoint, 500, null, 'http500', this.arrivals.get(c));
      return c.text('Internal Server Error', 500);
    }
    if (fault === 'serverError')
      return this.answer(c, endpoint, { Result: ResultCode.serverError, Msg: '服务器异常' }, 'serverError');
    try {
      const params = await this.readParams(c, endpoint);
      const sn = params['sn'] ?? '';
      this.authenticate(endpoint, params);
      if (this.faults.overRate(sn, this.nowMs())) {
        return this.answer(c, endpoint, { Result: ResultCode.tooFrequent, Msg: '请求太频繁' }, 'rateLimit');
      }
      return this.answer(c, endpoint, this.serve(endpoint, params, sn));
    } catch (err) {
      if (err instanceof Rejection) {
        if (err.violation) this.violation(endpoint, err.result, err.message);
        return this.answer(c, endpoint, { Result: err.result, Msg: err.message });
      }
      this.violation(endpoint, ResultCode.serverError, `unexpected: ${(err as Error).message}`);
      return this.answer(c, endpoint, { Result: ResultCode.serverError, Msg: '服务器异常' });
    }
  }

  private async readParams(c: Context, endpoint: Endpoint): Promise<Record<string, string>> {
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    const expected = endpoint === 'RegistData' ? MULTIPART : FORM_URLENCODED;
    if (!type.startsWith(expected)) {
      throw new Rejection(ResultCode.serverError, `content type must be ${expected}, got ${type || 'none'}`);
    }
    let body: Record<string, string | File>;
    try {
      body = await c.req.parseBody();
    } catch (err) {
      throw new Rejection(ResultCode.serverError, `unreadable body: ${(err as Error).message}`);
    }
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(body)) {
      if (typeof value !== 'string')
        throw new Rejection(ResultCode.serverError, `${key} must be a text field`);
      params[key] = value;
    }
    const required = SIGN_ORDER[endpoint].filter((name) => name !== 'msg');
    const missing = [...required, 'sign'].filter((name) => params[name] === undefined);
    if (missing.length > 0) throw new Rejection(ResultCode.serverError, `missing ${missing.join(', ')}`);
    return params;
  }

  private authenticate(endpoint: Endpoint, params: Record<string, string>): void {
    if (!this.knownSns.has(params['sn'] ?? '')) throw new Rejection(ResultCode.unknownSn, '设备序列号不存在');
    if (!this.codec.verify(endpoint, params)) throw new Rejection(ResultCode.badSign, '签名不正确');
    const timestamp = params['timestamp'] ?? '';
    if (!/^\d{1,12}$/.test(timestamp))
      throw new Rejection(ResultCode.expired, 'timestamp is not whole seconds');
    const skew = Number(timestamp) - this.nowMs() / 1000;
    if (Math.abs(skew) > this.windowSeconds) {
      throw new Rejection(ResultCode.expired, `数据已失效 (timestamp off by ${Math.round(skew)} s)`);
    }
  }

  private serve(endpoint: Endpoint, params: Record<string, string>, sn: string): SichuanAnswer {
    switch (endpoint) {
      case 'Online':
        return this.online();
      case 'GetTaskData':
        return this.getTaskData(params['id'] ?? '');
      case 'RetResult':
        return this.retResult(params);
      case 'UploadData':
        return this.uploadData(params['data'] ?? '', sn);
      case 'RegistData':
        return this.registData(params);
    }
  }

  private online(): SichuanAnswer {
    this.heartbeats++;
    const open = this.tasks.filter((t) => t.state === 'pending' || t.state === 'fetched');
    if (open.length === 0) return { Result: ResultCode.ok };
    return { Result: ResultCode.tasksWaiting, Content: open.map((t) => ({ Id: t.id, Type: t.type })) };
  }

  private getTaskData(id: string): SichuanAnswer {
    const task = this.tasks.find((t) => t.id === id);
    if (!task) throw new Rejection(ResultCode.serverError, `no task ${id}`);
    if (task.state === 'succeeded' || task.state === 'failed') {
      throw new Rejection(ResultCode.serverError, `task ${id} was already processed`);
    }
    task.state = 'fetched';
    task.fetches++;
    return { Result: ResultCode.ok, Content: task.records };
  }

  private retResult(params: Record<string, string>): SichuanAnswer {
    const id = params['id'] ?? '';
    const task = this.tasks.find((t) => t.id === id);
    if (!task) throw new Rejection(ResultCode.serverError, `no task ${id}`);
    const result = params['result'];
    if (result !== '0' && result !== '1') throw new Rejection(ResultCode.serverError, 'result is not 0 or 1');
    const msg = params['msg'] ?? '';
    if (result === '1' && msg.trim() === '')
      throw new Rejection(ResultCode.serverError, 'a failure needs its reason in msg');
    if (task.state === 'pending')
      this.violation('RetResult', ResultCode.ok, `task ${id} answered before GetTaskData`);
    if (task.state === 'succeeded' || task.state === 'failed') {
      this.violation('RetResult', ResultCode.ok, `task ${id} answered twice`);
    }
    task.state = result === '0' ? 'succeeded' : 'failed';
    if (msg) task.resultMsg = msg;
    return { Result: ResultCode.ok };
  }

  private uploadData(data: string, sn: string): SichuanAnswer {
    const plain = this.decryptField('data', data);
    let parsed: unknown;
    try {
      parsed = JSON.parse(plain);
    } catch {
      throw new Rejection(ResultCode.serverError, 'data does not decrypt to JSON');
    }
    const { records, problems } = checkUploadRecords(parsed, sn);
    if (problems.length > 0) throw new Rejection(ResultCode.serverError, problems.join('; '));
    this.uploadedCount += records.length;
    if (this.keepRecords) {
      this.uploads.push({ at: this.clock.now(), sn, records });
      this.punches.push(...records);
    }
    return { Result: ResultCode.ok };
  }

  private registData(params: Record<string, string>): SichuanAnswer {
    const fields: RegistrationFields = {
      Idno: this.decryptField('Idno', params['Idno'] ?? ''),
      Name: params['Name'] ?? '',
      gender: params['gender'] ?? '',
      nation: params['nation'] ?? '',
      birthday: params['birthday'] ?? '',
      address: params['address'] ?? '',
      idissue: params['idissue'] ?? '',
      idperiod: params['idperiod'] ?? '',
      idphoto: this.decryptField('idphoto', params['idphoto'] ?? ''),
      photo: this.decryptField('photo', params['photo'] ?? ''),
      userType: params['userType'] ?? '',
    };
    const problems = checkRegistration(fields, this.options.strictRegistration === true);
    if (problems.length > 0) throw new Rejection(ResultCode.serverError, problems.join('; '));
    const userId = `U${String(this.nextUserNo++).padStart(8, '0')}`;
    const { idphoto, photo, ...text } = fields;
    this.registrations.push({
      at: this.clock.now(),
      userId,
      idCardNo: fields.Idno,
      name: fields.Name,
      gender: fields.gender,
      userType: fields.userType,
      photoBytes: Buffer.from(photo, 'base64').length,
      idPhotoBytes: Buffer.from(idphoto, 'base64').length,
      fields: text,
    });
    return { Result: ResultCode.ok, Content: { userId } };
  }

  private decryptField(name: string, cipherText: string): string {
    try {
      return this.codec.decrypt(cipherText);
    } catch (err) {
      const reason = err instanceof Sm4DecryptError ? err.message : String(err);
      throw new Rejection(ResultCode.serverError, `${name} does not decrypt: ${reason}`);
    }
  }

  private answer(c: Context, endpoint: string, answer: SichuanAnswer, fault?: string): Response {
    let body: string;
    if (this.faults.takeUndecryptable(endpoint)) {
      // Right length and alphabet, wrong bytes: the padding check fails on the client.
      const junk = Buffer.alloc(32, 0xa5);
      const encoding = this.options.cipherEncoding ?? 'hex';
      body = JSON.stringify({
        Result: answer.Result,
        Content: junk.toString(encoding),
        Msg: answer.Msg ?? '',
      });
    } else {
      body = this.codec.encodeAnswer(answer, this.faults.plan.plainJsonContent ? 'plain' : 'encrypted');
    }
    this.logAnswer(endpoint, 200, answer.Result, fault, this.arrivals.get(c));
    return c.body(body, 200, { 'Content-Type': 'application/json; charset=utf-8' });
  }

  private violation(endpoint: string, result: number, reason: string): void {
    this.violations.push({ at: this.clock.now(), endpoint, result, reason });
  }

  private logAnswer(
    endpoint: string,
    status: number,
    result: number | null,
    fault?: string,
    receivedAt?: number,
  ): void {
    if (this.answers.length >= ANSWER_LOG_LIMIT) this.answers.shift();
    const at = this.clock.now();
    this.answers.push({
      at,
      receivedAt: receivedAt ?? at,
      endpoint,
      status,
      result,
      ...(fault ? { fault } : {}),
    });
  }
}

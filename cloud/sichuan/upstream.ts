import { readFile } from 'node:fs/promises';
import type { EnabledSichuanConfig } from '../../config/schema';
import type {
  ClockSource,
  DeliveryResult,
  Logger,
  Punch,
  RosterPort,
  StatePort,
  Upstream,
  UpstreamHealth,
  WorkerIdentity,
} from '../../gateway/model';
import { Backoff } from '../../lib/backoff';
import { utcMsToWall } from '../../lib/wall-clock';
import { ClockOffset } from './clock-offset';
import { type DecodedAnswer, SichuanAnswerError, SichuanCodec } from './codec';
import { type HttpAnswer, SichuanTransport, TransportError } from './http-transport';
import { PUNCH_TYPE, ResultCode, type TaskRef, type UploadRecord } from './protocol';
import { registrationFields, type SichuanRegistration, SichuanRegistrationError } from './registration';
import type { Endpoint } from './sign';
import { parseTaskRefs, taskRecordsToChanges } from './tasks';

export interface SichuanTiming {
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** How long to stay quiet after -1/-2 (a person must fix the configuration). */
  readonly configAlertPauseMs: number;
  /** Pause before retrying after a second -3 in a row. */
  readonly clockRetryMs: number;
}

export const DEFAULT_TIMING: SichuanTiming = {
  backoffInitialMs: 1000,
  backoffMaxMs: 300_000,
  configAlertPauseMs: 600_000,
  clockRetryMs: 1000,
};

export interface SichuanDeps {
  readonly logger: Logger;
  readonly clock: ClockSource;
  readonly roster: RosterPort;
  readonly state: StatePort;
  readonly siteTimezone: string;
  lookupWorker(workerId: string): WorkerIdentity | undefined;
  readonly timing?: Partial<SichuanTiming>;
  readonly random?: () => number;
}

export const CLOCK_OFFSET_SLOT = 'sichuan.clockOffsetMs';
const MSG_LIMIT = 500;

type Outcome =
  | { readonly ok: true; readonly answer: DecodedAnswer }
  | { readonly ok: false; readonly error: string; readonly retryAfterMs: number };

/**
 * The gateway as one compliant device of the Sichuan real-name platform (docs/protocols/sichuan.md):
 * heartbeat and tasks into the roster, punches out through UploadData, and RegistData for local
 * registrations.
 */
export class SichuanUpstream implements Upstream {
  readonly name = 'sichuan' as const;
  readonly maxBatch: number;
  private readonly sn: string;
  private readonly codec: SichuanCodec;
  private readonly timing: SichuanTiming;
  private readonly backoff: Backoff;
  private readonly offset: ClockOffset;
  private readonly log: Logger;
  private transport: SichuanTransport | null = null;
  private timer: NodeJS.Timeout | null = null;
  private cycle: Promise<void> | null = null;
  private running = false;
  private pausedUntil = 0;
  private configAlert: string | undefined;
  private connected = false;
  private lastSuccessAt: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private readonly counters = {
    heartbeats: 0,
    uploadedRecords: 0,
    unsendablePunches: 0,
    tasksApplied: 0,
    tasksFailed: 0,
    contentErrors: 0,
    clockResyncs: 0,
  };
  private lastContentError = '';

  constructor(
    private readonly config: EnabledSichuanConfig,
    private readonly deps: SichuanDeps,
  ) {
    this.maxBatch = Math.min(config.batchSize, 10);
    this.sn = config.sn;
    this.codec = new SichuanCodec({
      deviceKey: config.deviceKey,
      sm4Key: config.sm4Key,
      sm4Iv: config.sm4Iv,
      cipherEncoding: config.cipherEncoding,
      signCase: config.signCase,
    });
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    const random = deps.random ?? Math.random;
    this.backoff = new Backoff({
      initialMs: this.timing.backoffInitialMs,
      maxMs: this.timing.backoffMaxMs,
      random,
    });
    this.offset = new ClockOffset(deps.clock, deps.state.slot<number>(CLOCK_OFFSET_SLOT));
    this.log = deps.logger;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.offset.load();
    await this.link().catch(() => undefined);
    // The first heartbeat runs now, without holding up the gateway's start when the platform is slow.
    void this.heartbeat();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.cycle?.catch(() => undefined);
    this.transport?.close();
    this.transport = null;
  }

  /** Runs one heartbeat cycle (Online, then every waiting task); joins the running one if any. Never rejects. */
  heartbeat(): Promise<void> {
    if (!this.cycle) {
      this.cycle = this.heartbeatCycle()
        .catch((err: unknown) => this.log.error({ err }, 'sichuan heartbeat cycle failed'))
        .finally(() => {
          this.cycle = null;
          this.schedule();
        });
    }
    return this.cycle;
  }

  async deliver(punches: readonly Punch[]): Promise<DeliveryResult> {
    const batch = punches.slice(0, this.maxBatch);
    if (batch.length === 0) return { acknowledged: 0 };
    const records: UploadRecord[] = [];
    const unsendable: Punch[] = [];
    for (const punch of batch) {
      const userId = punch.workerId ? this.deps.lookupWorker(punch.workerId)?.sichuanUserId : undefined;
      if (userId) records.push(this.uploadRecord(punch, userId));
      else unsendable.push(punch);
    }
    if (records.length > 0) {
      const outcome = await this.request('UploadData', {
        sn: this.sn,
        data: this.codec.encrypt(JSON.stringify(records)),
      });
      if (!outcome.ok) return { acknowledged: 0, error: outcome.error, retryAfterMs: outcome.retryAfterMs };
      const { result, msg } = outcome.answer;
      if (result !== ResultCode.ok) {
        const error = `UploadData answered Result ${result}${msg ? `: ${msg}` : ''}`;
        this.noteError(error);
        return { acknowledged: 0, error, retryAfterMs: this.backoff.next() };
      }
      this.counters.uploadedRecords += records.length;
      // Content means nothing to UploadData: a broken one is worth a note, not a re-send.
      if (outcome.answer.contentError) this.noteContentError(`UploadData: ${outcome.answer.contentError}`);
    }
    for (const punch of unsendable) {
      // The platform only knows workers by its userId: without one the punch can never go, so it is settled.
      this.counters.unsendablePunches++;
      this.log.warn(
        { seq: punch.seq, workerId: punch.workerId, terminalId: punch.terminalId },
        'punch settled without upload: the worker has no Sichuan userId',
      );
    }
    return { acknowledged: batch.length };
  }

  /** RegistData for a worker registered locally; the answer's userId becomes their platform id. */
  async register(form: SichuanRegistration): Promise<{ userId: string }> {
    const outcome = await this.request('RegistData', registrationFields(form, this.sn, this.codec), true);
    if (!outcome.ok) throw new SichuanRegistrationError(outcome.error, undefined, !this.configAlert);
    const { result, msg, content, contentError } = outcome.answer;
    if (result !== ResultCode.ok) {
      throw new SichuanRegistrationError(
        `RegistData refused (Result ${result})${msg ? `: ${msg}` : ''}`,
        result,
        result === ResultCode.serverError,
      );
    }
    const userId =
      content && typeof content === 'object' && !Array.isArray(content)
        ? ((content as Record<string, unknown>)['userId'] ?? (content as Record<string, unknown>)['UserId'])
        : undefined;
    if (typeof userId !== 'string' && typeof userId !== 'number') {
      throw new SichuanRegistrationError(
        `RegistData succeeded but its Content has no userId${contentError ? ` (${contentError})` : ''}`,
        result,
        false,
      );
    }
    return { userId: String(userId) };
  }

  health(): UpstreamHealth {
    return {
      connected: this.connected,
      ...(this.lastSuccessAt !== undefined ? { lastSuccessAt: this.lastSuccessAt } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.lastErrorAt !== undefined ? { lastErrorAt: this.lastErrorAt } : {}),
      ...(this.configAlert ? { configAlert: this.configAlert } : {}),
      details: {
        ...this.counters,
        clockOffsetMs: this.offset.ms,
        ...(this.lastContentError ? { lastContentError: this.lastContentError } : {}),
      },
    };
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.heartbeat(), this.config.heartbeatSeconds * 1000);
    this.timer.unref();
  }

  private async heartbeatCycle(): Promise<void> {
    const outcome = await this.request('Online', { sn: this.sn });
    if (!outcome.ok) return;
    this.counters.heartbeats++;
    const { result, content, contentError } = outcome.answer;
    if (result === ResultCode.ok) return;
    if (result !== ResultCode.tasksWaiting) {
      this.noteError(`Online answered Result ${result}`);
      return;
    }
    if (contentError) {
      this.noteContentError(`Online task list: ${contentError}`);
      return;
    }
    const { refs, problems } = parseTaskRefs(content);
    for (const problem of problems) this.noteContentError(problem);
    for (const ref of refs) {
      if (!this.running) return;
      await this.runTask(ref);
    }
  }

  private async runTask(ref: TaskRef): Promise<void> {
    const outcome = await this.request('GetTaskData', { sn: this.sn, id: ref.id });
    if (!outcome.ok) return;
    const { result, msg, content, contentError } = outcome.answer;
    if (result !== ResultCode.ok) {
      this.noteError(`GetTaskData ${ref.id} answered Result ${result}${msg ? `: ${msg}` : ''}`);
      return;
    }
    if (contentError) {
      this.noteContentError(`task ${ref.id}: ${contentError}`);
      await this.retResult(ref.id, 1, `Content does not decrypt: ${contentError}`);
      return;
    }
    const { changes, problems } = taskRecordsToChanges(content, ref.type, this.config.taskTypeMap);
    try {
      if (changes.length > 0) await this.deps.roster.apply(changes);
    } catch (err) {
      this.log.error({ err, task: ref.id }, 'sichuan task could not be stored in the roster');
      await this.retResult(ref.id, 1, `roster update failed: ${(err as Error).message}`);
      return;
    }
    if (problems.length > 0) {
      this.log.warn({ task: ref.id, problems }, 'sichuan task had records that could not be applied');
      await this.retResult(ref.id, 1, problems.join('; '));
      return;
    }
    await this.retResult(ref.id, 0, '');
  }

  private async retResult(id: string, result: 0 | 1, msg: string): Promise<void> {
    const outcome = await this.request('RetResult', {
      sn: this.sn,
      id,
      result: String(result),
      msg: msg.slice(0, MSG_LIMIT),
    });
    if (outcome.ok && outcome.answer.result === ResultCode.ok) {
      if (result === 0) this.counters.tasksApplied++;
      else this.counters.tasksFailed++;
      this.log.info({ task: id, result }, 'sichuan task answered');
    } else {
      // The task stays open on the platform; the next heartbeat fetches and applies it again (idempotent).
      this.log.warn({ task: id }, 'RetResult was not accepted; the task will be retried');
    }
  }

  /** One signed request, with the Result codes every endpoint shares handled here. Never throws. */
  private async request(
    endpoint: Endpoint,
    fields: Record<string, string>,
    multipart = false,
  ): Promise<Outcome> {
    const now = this.deps.clock.now();
    if (now < this.pausedUntil) {
      return { ok: false, error: this.configAlert ?? 'paused', retryAfterMs: this.pausedUntil - now };
    }
    for (let attempt = 0; ; attempt++) {
      let http: HttpAnswer;
      let answer: DecodedAnswer;
      try {
        const transport = await this.link();
        const signed = this.codec.signed(endpoint, { ...fields, timestamp: this.offset.timestamp() });
        http = await (multipart
          ? transport.postMultipart(endpoint, signed)
          : transport.postForm(endpoint, signed));
        this.connected = true;
        if (http.dateMs !== undefined) await this.learnClock(http, false);
        if (http.status < 200 || http.status >= 300) {
          return this.failure(`${endpoint}: HTTP ${http.status}`, this.backoff.next());
        }
        answer = this.codec.decodeAnswer(http.body);
      } catch (err) {
        if (err instanceof TransportError) this.connected = false;
        const known = err instanceof TransportError || err instanceof SichuanAnswerError;
        if (!known) this.log.error({ err, endpoint }, 'unexpected error calling the Sichuan platform');
        return this.failure(`${endpoint}: ${(err as Error).message}`, this.backoff.next());
      }
      switch (answer.result) {
        case ResultCode.expired:
          this.counters.clockResyncs++;
          if (http.dateMs !== undefined) await this.learnClock(http, true);
          if (attempt === 0) continue;
          return this.failure(
            `${endpoint}: timestamp expired (-3) after a clock resync`,
            this.timing.clockRetryMs,
          );
        case ResultCode.tooFrequent:
          return this.failure(`${endpoint}: too frequent (-4)`, this.backoff.next());
        case ResultCode.serverError:
          return this.failure(
            `${endpoint}: platform error (-99)${answer.msg ? ` ${answer.msg}` : ''}`,
            this.backoff.next(),
          );
        case ResultCode.unknownSn:
        case ResultCode.badSign:
          return this.alert(endpoint, answer);
        default:
          this.backoff.reset();
          this.configAlert = undefined;
          this.lastSuccessAt = this.deps.clock.now();
          return { ok: true, answer };
      }
    }
  }

  private async learnClock(http: HttpAnswer, force: boolean): Promise<void> {
    if (http.dateMs === undefined) return;
    const changed = await this.offset.learn(http.dateMs, http.sentAtMs, http.receivedAtMs, force);
    if (changed) this.log.info({ clockOffsetMs: this.offset.ms }, 'sichuan platform clock offset updated');
  }

  private alert(endpoint: Endpoint, answer: DecodedAnswer): Outcome {
    const what =
      answer.result === ResultCode.unknownSn
        ? `the platform does not know device sn ${this.sn} (-1)`
        : 'the platform rejects our sign (-2): check the device key';
    this.configAlert = `${what}${answer.msg ? ` — ${answer.msg}` : ''}`;
    this.pausedUntil = this.deps.clock.now() + this.timing.configAlertPauseMs;
    this.log.error({ endpoint, result: answer.result }, `sichuan configuration alert: ${what}`);
    return this.failure(`${endpoint}: ${this.configAlert}`, this.timing.configAlertPauseMs);
  }

  private failure(error: string, retryAfterMs: number): Outcome {
    this.noteError(error);
    return { ok: false, error, retryAfterMs };
  }

  private noteError(error: string): void {
    this.lastError = error;
    this.lastErrorAt = this.deps.clock.now();
    this.log.warn({ error }, 'sichuan platform call failed');
  }

  private noteContentError(error: string): void {
    this.counters.contentErrors++;
    this.lastContentError = error;
    this.noteError(error);
  }

  private uploadRecord(punch: Punch, userId: string): UploadRecord {
    return {
      sn: this.sn,
      userId,
      type: PUNCH_TYPE[punch.direction],
      recogTime: utcMsToWall(punch.atMs, this.deps.siteTimezone, ' '),
    };
  }

  private async link(): Promise<SichuanTransport> {
    if (this.transport) return this.transport;
    let ca: Buffer | undefined;
    if (this.config.caFile) {
      try {
        ca = await readFile(this.config.caFile);
      } catch (err) {
        this.configAlert = `cannot read upstreams.sichuan.caFile: ${(err as Error).message}`;
        throw new TransportError(this.configAlert, 'network');
      }
    }
    this.transport ??= new SichuanTransport({
      baseUrl: this.config.baseUrl,
      timeoutMs: this.config.requestTimeoutMs,
      ...(ca ? { ca } : {}),
      now: () => this.deps.clock.now(),
    });
    return this.transport;
  }
}

import type { ModbusTerminalConfig } from '../../config/schema';
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
  TerminalCapabilities,
  TerminalDriver,
  TerminalHealth,
  TerminalUser,
} from '../../gateway/model';
import { TerminalFullError } from '../../gateway/model';
import {
  decodeEventRecord,
  decodeHeader,
  decodeWhitelistSlot,
  directionOf,
  type EventRecord,
  encodeWhitelistSlot,
  type RingHeader,
  readU32,
  seqAdd,
  seqDelta,
  verifyCodeOf,
  writeU32,
} from './codec';
import { cursorOf, type ModbusCursor, parseCursor } from './cursor';
import { type ModbusLink, ModbusRequestError, TcpLink } from './link';
import { BUILT_IN_PROFILES, builtInProfile, headerSpan, loadProfile, type ModbusProfile } from './profile';
import { chunkRun, planRingRuns } from './ring-plan';
import { SerialLineRegistry } from './serial-line';

export interface ModbusDriverDeps {
  readonly logger: Logger;
  readonly clock: ClockSource;
  /** Shared by every Modbus driver so terminals on one serial path share the port. */
  readonly serialLines?: SerialLineRegistry;
}

export class NotSupportedError extends Error {
  override readonly name = 'NotSupportedError';
}

/** A counter that moved "forward" by more than half the u32 range really went down: a device reset. */
const RESET_THRESHOLD = 0x8000_0000;

/**
 * A Modbus terminal read through a register-map profile. Modbus has no push, so the supervisor polls
 * `readPunchesSince` every pollSeconds; each poll reads the header, then only the ring slots holding
 * new events (contiguous slots together, whole records per ≤125-register request), then the counter
 * again, to know which slots the device may have reused while they were read.
 */
export class ModbusDriver implements TerminalDriver {
  readonly id: string;
  readonly kind = 'modbus' as const;
  private readonly logger: Logger;
  private profile: ModbusProfile | null = null;
  private link: ModbusLink | null = null;
  private readonly disconnectListeners = new Set<(reason: Error) => void>();
  private online = false;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private clockOffsetSeconds: number | undefined;
  private readonly stats = {
    requests: 0,
    timeouts: 0,
    exceptions: 0,
    crcErrors: 0,
    overflowLost: 0,
    resets: 0,
    resetLost: 0,
  };

  constructor(
    private readonly config: ModbusTerminalConfig,
    private readonly deps: ModbusDriverDeps,
  ) {
    this.id = config.id;
    this.logger = deps.logger.child({ terminal: config.id, driver: 'modbus' });
  }

  /** Before connect, a profile given as a file is not read yet, so clock and users show as absent. */
  capabilities(): TerminalCapabilities {
    const profile =
      this.profile ??
      (BUILT_IN_PROFILES.includes(this.config.profile) ? builtInProfile(this.config.profile) : null);
    const whitelist = profile?.whitelist;
    return {
      realtime: false,
      users: whitelist !== undefined,
      cards: whitelist?.fields.card !== undefined,
      fingerprints: false,
      faces: false,
      clock: profile?.clock !== undefined,
      enrolment: [],
      // PINs are u32 numbers on the wire: at most 10 decimal digits.
      maxPinLength: 10,
      ...(whitelist ? { maxUsers: whitelist.capacity } : {}),
    };
  }

  async connect(): Promise<void> {
    if (this.link) return;
    const profile = await loadProfile(this.config.profile);
    this.profile = profile;
    const link = await this.openLink();
    link.onClose((reason) => {
      if (this.link !== link) return;
      this.link = null;
      this.online = false;
      this.noteError(reason.message);
      for (const listener of this.disconnectListeners) listener(reason);
    });
    this.link = link;
    try {
      await this.readHeader();
    } catch (err) {
      this.link = null;
      await link.close();
      throw err;
    }
    this.online = true;
    this.logger.info(
      { profile: profile.name, transport: this.config.transport },
      'modbus terminal connected',
    );
  }

  async disconnect(): Promise<void> {
    const link = this.link;
    this.link = null;
    this.online = false;
    if (link) await link.close();
  }

  onDisconnect(listener: (reason: Error) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  /** Modbus cannot push: the supervisor's polling is the only way events arrive. */
  subscribe(_listener: PunchListener): () => void {
    return () => undefined;
  }

  async readPunchesSince(cursor: PunchCursor | null): Promise<PunchBatch> {
    const profile = this.requireProfile();
    const header = await this.readHeader();
    const counter = header.counter;
    const capacity = header.capacity;
    const oldest = oldestSeq(counter, capacity);
    let previous = parseCursor(cursor);
    if (cursor !== null && previous === null) {
      this.logger.warn(
        { cursor },
        'unreadable modbus cursor: reading the whole ring (the pipeline de-duplicates)',
      );
    }
    let cursorReset = false;
    let start = oldest;

    if (previous) {
      const delta = seqDelta(previous.next, counter);
      if (delta >= RESET_THRESHOLD) {
        this.noteReset(`counter went down from ${previous.next} to ${counter}`);
        cursorReset = true;
        previous = null;
      } else if (delta > capacity) {
        this.noteOverflow(delta - capacity, counter, previous.next, capacity);
        start = oldest;
      } else {
        start = previous.next;
      }
    }
    const newCount = seqDelta(start, counter);
    if (newCount === 0) {
      const last = cursorReset ? null : (previous?.last ?? null);
      return {
        punches: [],
        cursor: cursorOf({ next: start, last }),
        ...(cursorReset ? { cursorReset } : {}),
      };
    }

    // The last event we read is re-read with the new ones (same requests, a few more registers) to
    // catch a reset that the counter alone hides: cleared ring, then as many events as before.
    const check = previous && start === previous.next && previous.last ? previous.last : null;
    let read = await this.readRing(
      check && newCount < capacity ? seqAdd(start, -1) : start,
      check && newCount < capacity ? newCount + 1 : newCount,
      counter,
      capacity,
      profile,
    );
    if (check && read.from !== start) {
      // The check event was journaled by an earlier poll: it is neither new nor, if its slot was
      // reused during this poll (then it cannot reveal a reset either), lost.
      const dropCheck = { from: start, count: read.count - 1 };
      if (read.resetMeanwhile) read = { ...read, ...dropCheck };
      else if (read.overwritten > 0) read = { ...read, ...dropCheck, overwritten: read.overwritten - 1 };
      else if (sameEvent(read.records[0], check))
        read = { ...read, ...dropCheck, records: read.records.slice(1) };
      else {
        this.noteReset(`the last event read (seq ${check.seq}) is no longer on the device`);
        cursorReset = true;
        read = await this.readRing(oldest, seqDelta(oldest, counter), counter, capacity, profile);
      }
    }

    if (read.resetMeanwhile) {
      // Any slot may have been wiped or rewritten while it was read: nothing of this read is trusted.
      this.noteResetDuringRead(read.count, counter, read.counterAfter);
      const next = oldestSeq(read.counterAfter, capacity);
      return { punches: [], cursor: cursorOf({ next, last: null }), cursorReset: true };
    }
    if (read.overwritten > 0) this.noteOverwritten(read.overwritten, counter, read.counterAfter, capacity);
    if (read.mismatch) {
      const { expected, found } = read.mismatch;
      const text = `ring slot of event ${expected} holds event ${found} although the counter says it was not overwritten; reading it again at the next poll`;
      this.logger.warn({ expected, found }, text);
      this.noteError(text);
    }

    const punches = read.records.map((record) => this.toPunch(record, profile));
    const next = seqAdd(read.from, read.overwritten + read.records.length);
    const last =
      read.records.at(-1) ?? (read.overwritten > 0 || cursorReset ? null : (previous?.last ?? null));
    return {
      punches,
      cursor: cursorOf({ next, last }),
      ...(cursorReset ? { cursorReset: true } : {}),
    };
  }

  async getTime(): Promise<PunchTime> {
    const profile = this.requireProfile();
    if (!profile.clock) throw this.notSupported('clock');
    const regs = await this.read(profile.clock.address, 2);
    const seconds = readU32(regs, 0, profile.wordOrder);
    this.clockOffsetSeconds = seconds - this.deps.clock.now() / 1000;
    return { utcMs: seconds * 1000 };
  }

  async setTime(time: PunchTime): Promise<void> {
    const profile = this.requireProfile();
    if (!profile.clock) throw this.notSupported('clock');
    if (!('utcMs' in time)) throw new Error('Modbus terminals keep UTC: setTime needs { utcMs }');
    const regs: number[] = [];
    const seconds = Math.round(time.utcMs / 1000);
    writeU32(regs, 0, seconds, profile.wordOrder);
    await this.write(profile.clock.address, regs);
    this.clockOffsetSeconds = seconds - this.deps.clock.now() / 1000;
  }

  async listUsers(): Promise<readonly TerminalUser[]> {
    const { whitelist, order } = this.requireWhitelist();
    const slots = await this.readWhitelist();
    return slots
      .map((regs) => decodeWhitelistSlot(regs, 0, whitelist, order))
      .filter((entry) => entry.pin !== 0)
      .map((entry) => ({ pin: String(entry.pin), name: '', ...(entry.card ? { card: entry.card } : {}) }));
  }

  async upsertUser(user: TerminalUser): Promise<void> {
    const { whitelist, order } = this.requireWhitelist();
    const pin = pinNumber(user.pin);
    const entries = (await this.readWhitelist()).map((regs) =>
      decodeWhitelistSlot(regs, 0, whitelist, order),
    );
    let slot = entries.findIndex((e) => e.pin === pin);
    if (slot < 0) slot = entries.findIndex((e) => e.pin === 0);
    if (slot < 0)
      throw new TerminalFullError(
        `the whitelist of terminal ${this.id} is full (${whitelist.capacity} users)`,
        this.id,
        whitelist.capacity,
      );
    const regs = encodeWhitelistSlot({ pin, card: user.card ?? 0 }, whitelist, order);
    await this.write(whitelist.base + slot * whitelist.recordRegisters, regs);
  }

  async deleteUser(pin: string): Promise<void> {
    const { whitelist, order } = this.requireWhitelist();
    const wanted = pinNumber(pin);
    const entries = (await this.readWhitelist()).map((regs) =>
      decodeWhitelistSlot(regs, 0, whitelist, order),
    );
    for (const [slot, entry] of entries.entries()) {
      if (entry.pin !== wanted) continue;
      const empty: number[] = new Array(whitelist.recordRegisters).fill(0);
      await this.write(whitelist.base + slot * whitelist.recordRegisters, empty);
    }
  }

  async readTemplates(_pin: string): Promise<readonly BiometricTemplate[]> {
    throw new NotSupportedError('Modbus terminals hold no biometric templates');
  }

  async writeTemplate(_template: BiometricTemplate): Promise<void> {
    throw new NotSupportedError('Modbus terminals hold no biometric templates');
  }

  async startEnrolment(): Promise<EnrolmentResult> {
    throw new NotSupportedError('Modbus terminals cannot enrol');
  }

  health(): TerminalHealth {
    const alerts = this.alerts();
    return {
      online: this.online,
      ...(alerts.length > 0 ? { alerts } : {}),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError, lastErrorAt: this.lastErrorAt }),
      ...(this.clockOffsetSeconds === undefined ? {} : { clockOffsetSeconds: this.clockOffsetSeconds }),
      details: {
        profile: this.profile?.name ?? this.config.profile,
        transport: this.config.transport,
        unitId: this.config.unitId,
        ...this.stats,
      },
    };
  }

  // ───────────── internals ─────────────

  private async openLink(): Promise<ModbusLink> {
    const { config } = this;
    if (config.transport === 'tcp') {
      if (!config.host) throw new Error(`terminal ${config.id}: transport "tcp" needs a host`);
      return TcpLink.open({
        host: config.host,
        port: config.port,
        unitId: config.unitId,
        timeoutMs: config.timeoutMs,
      });
    }
    if (!config.path) throw new Error(`terminal ${config.id}: transport "rtu" needs a path`);
    if (!this.deps.serialLines) {
      this.logger.warn(
        {},
        'no shared serial line registry injected: this terminal opens its serial port alone',
      );
    }
    const registry = this.deps.serialLines ?? new SerialLineRegistry();
    const line = await registry.acquire({
      path: config.path,
      baudRate: config.baudRate,
      parity: config.parity,
    });
    return line.link(config.unitId, config.timeoutMs);
  }

  private async readHeader(): Promise<RingHeader> {
    const profile = this.requireProfile();
    const span = headerSpan(profile.header);
    const header = decodeHeader(await this.read(span.address, span.count), span.address, profile);
    const expected = profile.header.version?.expect;
    if (expected !== undefined && header.version !== expected) {
      throw this.fail(
        `profile ${profile.name} expects version ${expected}, the device reports ${header.version}`,
      );
    }
    if (header.capacity < 1 || header.capacity > profile.ring.maxCapacity) {
      throw this.fail(
        `the device reports ring capacity ${header.capacity}; profile ${profile.name} allows 1–${profile.ring.maxCapacity}`,
      );
    }
    return header;
  }

  /**
   * Reads `count` records from `firstSeq` on, whole records per request, then the counter again. A
   * record is trusted only if the counter shows its slot was not reused before the reads were over
   * (the device may write while it answers, tearing a slot inside one request) and its seq is the
   * expected one; slots reused meanwhile are counted, not guessed at.
   */
  private async readRing(
    firstSeq: number,
    count: number,
    counterBefore: number,
    capacity: number,
    profile: ModbusProfile,
  ): Promise<RingRead> {
    const raw = await this.readRecords(firstSeq, count, capacity, profile);
    const counterAfter = readU32(await this.read(profile.header.counter.address, 2), 0, profile.wordOrder);
    const base = { from: firstSeq, count, counterAfter };
    if (seqDelta(counterBefore, counterAfter) >= RESET_THRESHOLD) {
      return { ...base, resetMeanwhile: true, overwritten: count, records: [] };
    }
    // Event e is written over slot e mod N, which held event e − N: by counterAfter every event
    // before counterAfter − N is gone, perhaps in the middle of our read of it.
    const overwritten = Math.min(count, Math.max(0, seqDelta(firstSeq, counterAfter) - capacity));
    const records: EventRecord[] = [];
    for (let i = overwritten; i < raw.length; i++) {
      const record = raw[i];
      const expected = seqAdd(firstSeq, i);
      if (!record || record.seq !== expected) {
        // The counter says this slot still holds `expected`: the device disagrees with itself (a reset
        // under way?). Stop here; the next poll reads it again and its checks decide.
        return {
          ...base,
          resetMeanwhile: false,
          overwritten,
          records,
          mismatch: { expected, found: record?.seq },
        };
      }
      records.push(record);
    }
    return { ...base, resetMeanwhile: false, overwritten, records };
  }

  /** Reads `count` records from `firstSeq` on, in requests of whole records (see chunkRun). */
  private async readRecords(
    firstSeq: number,
    count: number,
    capacity: number,
    profile: ModbusProfile,
  ): Promise<EventRecord[]> {
    const records: EventRecord[] = [];
    for (const run of planRingRuns(firstSeq, count, capacity, profile.ring)) {
      const regs: number[] = [];
      for (const chunk of chunkRun(run, profile.maxRegistersPerRead, profile.ring.recordRegisters)) {
        regs.push(...(await this.read(chunk.address, chunk.count)));
      }
      for (let i = 0; i < run.records; i++) {
        records.push(decodeEventRecord(regs, i * profile.ring.recordRegisters, profile));
      }
    }
    return records;
  }

  private async readWhitelist(): Promise<number[][]> {
    const { whitelist } = this.requireWhitelist();
    const profile = this.requireProfile();
    // Whole slots per request, so a slot never straddles two reads.
    const perRead = Math.floor(profile.maxRegistersPerRead / whitelist.recordRegisters);
    const slots: number[][] = [];
    for (let slot = 0; slot < whitelist.capacity; slot += perRead) {
      const n = Math.min(perRead, whitelist.capacity - slot);
      const regs = await this.read(
        whitelist.base + slot * whitelist.recordRegisters,
        n * whitelist.recordRegisters,
      );
      for (let i = 0; i < n; i++) {
        slots.push(regs.slice(i * whitelist.recordRegisters, (i + 1) * whitelist.recordRegisters));
      }
    }
    return slots;
  }

  private async read(address: number, count: number): Promise<number[]> {
    return this.request(() => this.requireLink().readHolding(address, count));
  }

  private async write(address: number, values: readonly number[]): Promise<void> {
    await this.request(() => this.requireLink().writeHolding(address, values));
  }

  private async request<T>(op: () => Promise<T>): Promise<T> {
    this.stats.requests++;
    try {
      const result = await op();
      this.online = true;
      return result;
    } catch (err) {
      if (err instanceof ModbusRequestError) {
        if (err.failure === 'timeout') this.stats.timeouts++;
        if (err.failure === 'exception') this.stats.exceptions++;
        if (err.failure === 'crc') this.stats.crcErrors++;
        if (err.failure === 'timeout' || err.failure === 'closed') this.online = false;
      }
      this.noteError((err as Error).message);
      throw err;
    }
  }

  private toPunch(record: EventRecord, profile: ModbusProfile): RawPunch {
    const direction = directionOf(profile, record.direction);
    return {
      terminalId: this.id,
      pin: String(record.pin),
      time: { utcMs: record.timeSec * 1000 },
      verifyCode: verifyCodeOf(profile, record.method),
      ...(direction ? { direction } : {}),
      source: 'poll',
    };
  }

  private noteOverflow(lost: number, counter: number, cursor: number, capacity: number): void {
    this.stats.overflowLost += lost;
    const text = `ring overflow: ${lost} events lost on the device (counter ${counter}, cursor ${cursor}, ring ${capacity})`;
    this.logger.warn({ lost, counter, cursor, capacity }, text);
    this.noteError(text);
  }

  private noteOverwritten(lost: number, before: number, after: number, capacity: number): void {
    this.stats.overflowLost += lost;
    const text = `ring overflow during the read: ${lost} events overwritten before the read was over, counted lost (counter ${before} → ${after}, ring ${capacity})`;
    this.logger.warn({ lost, counterBefore: before, counterAfter: after, capacity }, text);
    this.noteError(text);
  }

  private noteResetDuringRead(lost: number, before: number, after: number): void {
    this.stats.resets++;
    this.stats.resetLost += lost;
    const text = `device reset during the read (counter ${before} → ${after}): ${lost} events read from the old ring discarded and counted lost; reading the new ring from its start`;
    this.logger.warn({ lost, counterBefore: before, counterAfter: after }, text);
    this.noteError(text);
  }

  /** What outlasts lastError (which the next message overwrites): losses and resets, with counts. */
  private alerts(): string[] {
    const { overflowLost, resets, resetLost } = this.stats;
    const alerts: string[] = [];
    if (overflowLost > 0)
      alerts.push(`ring overflow: ${overflowLost} event(s) lost on the device since start`);
    if (resets > 0) {
      const lost = resetLost > 0 ? `; ${resetLost} event(s) lost in a reset during a read` : '';
      alerts.push(`device reset ${resets} time(s) since start${lost}`);
    }
    return alerts;
  }

  private noteReset(why: string): void {
    this.stats.resets++;
    const text = `device reset: ${why}; reading again from the start of the ring`;
    this.logger.warn({}, text);
    this.noteError(text);
  }

  private noteError(text: string): void {
    this.lastError = text;
    this.lastErrorAt = this.deps.clock.now();
  }

  private fail(text: string): Error {
    this.noteError(text);
    return new Error(`terminal ${this.id}: ${text}`);
  }

  private notSupported(what: string): NotSupportedError {
    return new NotSupportedError(
      `${what} not supported by profile ${this.profile?.name ?? this.config.profile}`,
    );
  }

  private requireProfile(): ModbusProfile {
    if (!this.profile) throw new Error(`terminal ${this.id} is not connected`);
    return this.profile;
  }

  private requireLink(): ModbusLink {
    if (!this.link) throw new ModbusRequestError(`terminal ${this.id} is not connected`, 'closed');
    return this.link;
  }

  private requireWhitelist() {
    const profile = this.requireProfile();
    if (!profile.whitelist) throw this.notSupported('users (whitelist)');
    return { whitelist: profile.whitelist, order: profile.wordOrder };
  }
}

/** The outcome of one ring read (readRing), counted from `from`. */
interface RingRead {
  readonly from: number;
  readonly count: number;
  readonly counterAfter: number;
  /** The counter went down during the read: the device reset while we read. */
  readonly resetMeanwhile: boolean;
  /** Leading events whose slots were reused before the reads were over: lost, not trusted. */
  readonly overwritten: number;
  /** The trusted records after those, in seq order. */
  readonly records: readonly EventRecord[];
  /** Where the records stop early: a slot not overwritten by the counter, yet holding another event. */
  readonly mismatch?: { readonly expected: number; readonly found: number | undefined };
}

/** The oldest event still in a ring of `capacity` slots when the counter is `counter`. */
function oldestSeq(counter: number, capacity: number): number {
  return seqAdd(counter, -Math.min(counter, capacity));
}

function sameEvent(record: EventRecord | undefined, last: { pin: number; timeSec: number }): boolean {
  return record !== undefined && record.pin === last.pin && record.timeSec === last.timeSec;
}

function pinNumber(pin: string): number {
  if (!/^\d{1,10}$/.test(pin) || Number(pin) < 1 || Number(pin) > 0xffff_ffff) {
    throw new Error(`Modbus PINs are numbers 1–4294967295, got "${pin}"`);
  }
  return Number(pin);
}

export type { ModbusCursor };

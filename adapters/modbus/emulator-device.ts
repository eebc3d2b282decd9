import type { ClockSource } from '../../gateway/model';
import { type EventRecord, encodeEventRecord, readU32, seqAdd, writeU32 } from './codec';
import type { ModbusProfile } from './profile';
import { EXCEPTION, exceptionPdu, readRegistersResponse } from './wire';

/** What a test or the lab adds; the device fills in the sequence number and, by default, its clock's time. */
export interface EmulatedEvent {
  readonly pin: number;
  readonly timeSec?: number;
  readonly method?: number;
  readonly direction?: number;
}

const READ_LOG_LENGTH = 256;

/** Faults a test arms on one unit; each counts down as requests arrive. */
export interface UnitFaults {
  /** Requests to leave unanswered (the master times out). */
  noAnswer: number;
  /** Requests to answer with this exception code. */
  exception: { code: number; count: number } | null;
  /** RTU only: responses sent with a corrupted CRC. */
  badCrc: number;
  /**
   * A device that keeps writing while it answers: the next read that covers `register` takes the
   * registers before it, then (optionally) resets and appends `events` (each overwriting the oldest
   * slot once the ring is full), then takes the rest. Inside a record this tears it between the two
   * halves of one read; at the first register of a request it is a write between two reads.
   */
  writeDuringRead: {
    readonly register: number;
    readonly reset?: boolean;
    readonly events: readonly EmulatedEvent[];
  } | null;
}

/**
 * One Modbus unit implementing a profile's register map: header, event ring, clock and whitelist.
 * Ring and header are read-only; clock and whitelist accept function 16 (and 6).
 */
export class EmulatedDevice {
  private counterValue = 0;
  private readonly ring: number[];
  private readonly whitelist: number[];
  private clockOffsetMs = 0;
  readonly faults: UnitFaults = { noAnswer: 0, exception: null, badCrc: 0, writeDuringRead: null };
  /** Requests this unit received (answered or not). */
  requests = 0;
  /** The latest function 3 reads, oldest first (bounded: a lab emulator runs for days). */
  readonly reads: { readonly address: number; readonly count: number }[] = [];

  constructor(
    readonly unitId: number,
    readonly profile: ModbusProfile,
    readonly capacity: number,
    private readonly clock: ClockSource,
  ) {
    if (capacity < 1 || capacity > profile.ring.maxCapacity) {
      throw new RangeError(`ring capacity must be 1–${profile.ring.maxCapacity}, got ${capacity}`);
    }
    this.ring = new Array(capacity * profile.ring.recordRegisters).fill(0);
    this.whitelist = new Array(
      (profile.whitelist?.capacity ?? 0) * (profile.whitelist?.recordRegisters ?? 0),
    ).fill(0);
  }

  get counter(): number {
    return this.counterValue;
  }

  /** Appends one event at slot `seq mod N`, overwriting the oldest once the ring is full. */
  addEvent(event: EmulatedEvent): EventRecord {
    const record: EventRecord = {
      seq: this.counterValue,
      pin: event.pin,
      timeSec: event.timeSec ?? this.clockSeconds(),
      method: event.method ?? 1,
      direction: event.direction ?? 0,
    };
    const slot = record.seq % this.capacity;
    const regs = encodeEventRecord(record, this.profile);
    regs.forEach((v, i) => {
      this.ring[slot * this.profile.ring.recordRegisters + i] = v;
    });
    this.counterValue = seqAdd(this.counterValue, 1);
    return record;
  }

  addEvents(count: number, make: (i: number) => EmulatedEvent = (i) => ({ pin: 1000 + i })): EventRecord[] {
    return Array.from({ length: count }, (_, i) => this.addEvent(make(i)));
  }

  /** A power cycle or factory reset: counter back to 0 and the ring wiped. */
  reset(): void {
    this.counterValue = 0;
    this.ring.fill(0);
  }

  /** Jumps the counter (e.g. to just below 2^32) so tests reach the wrap without 4 billion events. */
  setCounter(value: number): void {
    this.counterValue = value >>> 0;
  }

  clockSeconds(): number {
    return Math.floor((this.clock.now() + this.clockOffsetMs) / 1000);
  }

  setClock(unixSeconds: number): void {
    this.clockOffsetMs = unixSeconds * 1000 - this.clock.now();
  }

  whitelistPins(): number[] {
    const w = this.profile.whitelist;
    if (!w) return [];
    const pins: number[] = [];
    for (let slot = 0; slot < w.capacity; slot++) {
      const at = slot * w.recordRegisters + w.fields.pin.offset;
      const pin =
        w.fields.pin.type === 'u32'
          ? readU32(this.whitelist, at, this.profile.wordOrder)
          : this.whitelist[at];
      if (pin) pins.push(pin);
    }
    return pins;
  }

  /** Answers one request PDU; null means stay silent (armed no-answer fault). */
  handle(pdu: Buffer): Buffer | null {
    this.requests++;
    const fc = pdu[0] ?? 0;
    if (this.faults.noAnswer > 0) {
      this.faults.noAnswer--;
      return null;
    }
    if (this.faults.exception && this.faults.exception.count > 0) {
      this.faults.exception.count--;
      return exceptionPdu(fc, this.faults.exception.code);
    }
    if (fc === 3) return this.readHolding(pdu);
    if (fc === 6) return this.writeSingle(pdu);
    if (fc === 16) return this.writeMultiple(pdu);
    return exceptionPdu(fc, EXCEPTION.illegalFunction);
  }

  private readHolding(pdu: Buffer): Buffer {
    if (pdu.length !== 5) return exceptionPdu(3, EXCEPTION.illegalDataValue);
    const address = pdu.readUInt16BE(1);
    const count = pdu.readUInt16BE(3);
    this.reads.push({ address, count });
    if (this.reads.length > READ_LOG_LENGTH) this.reads.shift();
    if (count < 1 || count > 125) return exceptionPdu(3, EXCEPTION.illegalDataValue);
    const values: number[] = [];
    for (let a = address; a < address + count; a++) {
      const write = this.faults.writeDuringRead;
      if (write && write.register === a) {
        this.faults.writeDuringRead = null;
        if (write.reset) this.reset();
        for (const event of write.events) this.addEvent(event);
      }
      const v = this.register(a);
      if (v === null) return exceptionPdu(3, EXCEPTION.illegalDataAddress);
      values.push(v);
    }
    return readRegistersResponse(3, values);
  }

  private writeSingle(pdu: Buffer): Buffer {
    if (pdu.length !== 5) return exceptionPdu(6, EXCEPTION.illegalDataValue);
    const address = pdu.readUInt16BE(1);
    if (!this.write(address, [pdu.readUInt16BE(3)])) return exceptionPdu(6, EXCEPTION.illegalDataAddress);
    return Buffer.from(pdu);
  }

  private writeMultiple(pdu: Buffer): Buffer {
    const address = pdu.readUInt16BE(1);
    const count = pdu.readUInt16BE(3);
    const bytes = pdu[5] ?? 0;
    if (count < 1 || count > 123 || bytes !== count * 2 || pdu.length !== 6 + bytes) {
      return exceptionPdu(16, EXCEPTION.illegalDataValue);
    }
    const values = Array.from({ length: count }, (_, i) => pdu.readUInt16BE(6 + i * 2));
    if (!this.write(address, values)) return exceptionPdu(16, EXCEPTION.illegalDataAddress);
    return Buffer.from(pdu.subarray(0, 5));
  }

  /** The value at one address, 0 for unmapped gaps below the map's end, null past it. */
  private register(address: number): number | null {
    const { header, ring, clock, whitelist, wordOrder } = this.profile;
    if (header.version && address === header.version.address) return header.version.expect;
    if (address === header.counter.address || address === header.counter.address + 1) {
      const regs: number[] = [];
      writeU32(regs, 0, this.counterValue, wordOrder);
      return regs[address - header.counter.address] ?? 0;
    }
    if (address === header.capacity.address) return this.capacity;
    if (clock && (address === clock.address || address === clock.address + 1)) {
      const regs: number[] = [];
      writeU32(regs, 0, this.clockSeconds(), wordOrder);
      return regs[address - clock.address] ?? 0;
    }
    const ringAt = address - ring.base;
    if (ringAt >= 0 && ringAt < this.ring.length) return this.ring[ringAt] ?? 0;
    if (whitelist) {
      const at = address - whitelist.base;
      if (at >= 0 && at < this.whitelist.length) return this.whitelist[at] ?? 0;
    }
    return address < this.mapEnd() ? 0 : null;
  }

  private mapEnd(): number {
    const { ring, whitelist } = this.profile;
    const ringEnd = ring.base + this.ring.length;
    return Math.max(ringEnd, whitelist ? whitelist.base + this.whitelist.length : 0);
  }

  /** Applies a write to the clock or whitelist; false when any register is read-only or unmapped. */
  private write(address: number, values: readonly number[]): boolean {
    const { clock, whitelist, wordOrder } = this.profile;
    const end = address + values.length;
    const inClock = clock !== undefined && address >= clock.address && end <= clock.address + 2;
    const wlAt = whitelist ? address - whitelist.base : -1;
    const inWhitelist = whitelist !== undefined && wlAt >= 0 && wlAt + values.length <= this.whitelist.length;
    if (inClock && clock) {
      const regs: number[] = [];
      writeU32(regs, 0, this.clockSeconds(), wordOrder);
      values.forEach((v, i) => {
        regs[address - clock.address + i] = v;
      });
      this.setClock(readU32(regs, 0, wordOrder));
      return true;
    }
    if (inWhitelist) {
      values.forEach((v, i) => {
        this.whitelist[wlAt + i] = v;
      });
      return true;
    }
    return false;
  }
}

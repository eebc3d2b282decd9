import type { Direction } from '../../gateway/model';
import { METHOD_CODES, type ModbusProfile } from './profile';

/**
 * The register codec for profile-described devices, shared by the driver and the emulator:
 * 32-bit values as two registers in the profile's word order, event records, header and whitelist slots.
 * The layout: docs/protocols/modbus.md#the-event-ring-profile.
 */

export type WordOrder = ModbusProfile['wordOrder'];
type FieldSpec = { readonly offset: number; readonly type: 'u16' | 'u32' };

export function readU32(regs: ArrayLike<number>, at: number, order: WordOrder): number {
  const first = regs[at] ?? 0;
  const second = regs[at + 1] ?? 0;
  const [high, low] = order === 'high-first' ? [first, second] : [second, first];
  return (high * 0x10000 + low) >>> 0;
}

export function writeU32(regs: number[], at: number, value: number, order: WordOrder): void {
  const high = (value >>> 16) & 0xffff;
  const low = value & 0xffff;
  regs[at] = order === 'high-first' ? high : low;
  regs[at + 1] = order === 'high-first' ? low : high;
}

function readField(regs: ArrayLike<number>, base: number, f: FieldSpec, order: WordOrder): number {
  return f.type === 'u32' ? readU32(regs, base + f.offset, order) : (regs[base + f.offset] ?? 0) & 0xffff;
}

function writeField(regs: number[], base: number, f: FieldSpec, value: number, order: WordOrder): void {
  if (f.type === 'u32') writeU32(regs, base + f.offset, value, order);
  else regs[base + f.offset] = value & 0xffff;
}

/** One event record as the device stores it (codes not yet interpreted). */
export interface EventRecord {
  readonly seq: number;
  readonly pin: number;
  /** Unix seconds, UTC. */
  readonly timeSec: number;
  readonly method: number;
  /** Device direction code (0 when the profile has no direction field). */
  readonly direction: number;
}

export function decodeEventRecord(regs: ArrayLike<number>, at: number, profile: ModbusProfile): EventRecord {
  const { fields } = profile.ring;
  const order = profile.wordOrder;
  return {
    seq: readField(regs, at, fields.seq, order),
    pin: readField(regs, at, fields.pin, order),
    timeSec: readField(regs, at, fields.time, order),
    method: readField(regs, at, fields.method, order),
    direction: fields.direction ? readField(regs, at, fields.direction, order) : 0,
  };
}

export function encodeEventRecord(record: EventRecord, profile: ModbusProfile): number[] {
  const regs: number[] = new Array(profile.ring.recordRegisters).fill(0);
  const { fields } = profile.ring;
  const order = profile.wordOrder;
  writeField(regs, 0, fields.seq, record.seq, order);
  writeField(regs, 0, fields.pin, record.pin, order);
  writeField(regs, 0, fields.time, record.timeSec, order);
  writeField(regs, 0, fields.method, record.method, order);
  if (fields.direction) writeField(regs, 0, fields.direction, record.direction, order);
  return regs;
}

export interface RingHeader {
  readonly version?: number;
  readonly counter: number;
  readonly capacity: number;
}

/** Decodes the header from registers read starting at `start`. */
export function decodeHeader(regs: ArrayLike<number>, start: number, profile: ModbusProfile): RingHeader {
  const { header, wordOrder } = profile;
  const at = (address: number) => address - start;
  const version = header.version ? (regs[at(header.version.address)] ?? 0) : undefined;
  return {
    ...(version === undefined ? {} : { version }),
    counter: readU32(regs, at(header.counter.address), wordOrder),
    capacity: (regs[at(header.capacity.address)] ?? 0) & 0xffff,
  };
}

/** Codes outside the profile's method table keep their raw value, shifted out of the known range. */
export const UNKNOWN_METHOD_BASE = 1000;

/** The Modbus family's verify code (0 card, 1 fp, 2 face, 3 password) for a device method code. */
export function verifyCodeOf(profile: ModbusProfile, deviceCode: number): number {
  const method = profile.methods[String(deviceCode)];
  return method === undefined ? UNKNOWN_METHOD_BASE + deviceCode : METHOD_CODES[method];
}

/** The direction a device code states, or undefined for "use the terminal's" and unknown codes. */
export function directionOf(profile: ModbusProfile, deviceCode: number): Direction | undefined {
  return profile.directions[String(deviceCode)] ?? undefined;
}

export interface WhitelistEntry {
  readonly pin: number;
  readonly card: number;
}

type Whitelist = NonNullable<ModbusProfile['whitelist']>;

export function decodeWhitelistSlot(regs: ArrayLike<number>, at: number, w: Whitelist, order: WordOrder) {
  return {
    pin: readField(regs, at, w.fields.pin, order),
    card: w.fields.card ? readField(regs, at, w.fields.card, order) : 0,
  } satisfies WhitelistEntry;
}

export function encodeWhitelistSlot(entry: WhitelistEntry, w: Whitelist, order: WordOrder): number[] {
  const regs: number[] = new Array(w.recordRegisters).fill(0);
  writeField(regs, 0, w.fields.pin, entry.pin, order);
  if (w.fields.card) writeField(regs, 0, w.fields.card, entry.card, order);
  return regs;
}

/** Sequence numbers are u32 and wrap; these keep arithmetic modulo 2^32. */
export const seqAdd = (seq: number, n: number): number => (seq + n) >>> 0;
export const seqDelta = (from: number, to: number): number => (to - from) >>> 0;

import { decodeZkTime, encodeZkTime } from '../../lib/zk-time';
import { decodeText, writeText, type ZkEncoding } from './text';

/** One attendance log entry as the terminal keeps it. */
export interface ZkAttendance {
  /** The terminal's internal record/user index (0 when the layout has none). */
  readonly uid: number;
  readonly pin: string;
  /** Zone-less wall time `YYYY-MM-DDTHH:mm:ss`. */
  readonly time: string;
  /** 0 password, 1 fingerprint, 2 card, 15 face, … (raw). */
  readonly verify: number;
  /** 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 OT-in, 5 OT-out. */
  readonly state: number;
}

export interface ZkUser {
  readonly uid: number;
  readonly pin: string;
  readonly name: string;
  readonly privilege: number;
  readonly password: string;
  readonly card: number;
  readonly group?: string;
}

export interface ZkTemplate {
  readonly uid: number;
  readonly fingerIndex: number;
  readonly valid: number;
  readonly data: Buffer;
}

export const ATT_SIZE_TCP = 40;
export const ATT_SIZE_OLD = 16;
export const USER_SIZE_TCP = 72;
export const USER_SIZE_OLD = 28;

// ── attendance ──

/**
 * 40 bytes: `<H24sB4sB8s>` uid, user id, verify, ZK time, state, spare
 * (docs/protocols/zk.md#attendance-records).
 */
export function encodeAttendance40(a: ZkAttendance, out = Buffer.alloc(ATT_SIZE_TCP), at = 0): Buffer {
  out.fill(0, at, at + ATT_SIZE_TCP);
  out.writeUInt16LE(a.uid & 0xffff, at);
  out.write(a.pin.slice(0, 24), at + 2, 'latin1');
  out.writeUInt8(a.verify & 0xff, at + 26);
  out.writeUInt32LE(encodeZkTime(a.time), at + 27);
  out.writeUInt8(a.state & 0xff, at + 31);
  return out;
}

export function decodeAttendance40(b: Buffer, at = 0): ZkAttendance {
  return {
    uid: b.readUInt16LE(at),
    pin: pinField(b, at + 2, 24),
    verify: b.readUInt8(at + 26),
    time: decodeZkTime(b.readUInt32LE(at + 27)),
    state: b.readUInt8(at + 31),
  };
}

/** 16 bytes (old firmware over UDP): `<I4sBB2sI>` numeric user id, ZK time, verify, state, reserved, work code. */
export function encodeAttendance16(a: ZkAttendance, out = Buffer.alloc(ATT_SIZE_OLD), at = 0): Buffer {
  out.fill(0, at, at + ATT_SIZE_OLD);
  out.writeUInt32LE(numericPin(a.pin), at);
  out.writeUInt32LE(encodeZkTime(a.time), at + 4);
  out.writeUInt8(a.verify & 0xff, at + 8);
  out.writeUInt8(a.state & 0xff, at + 9);
  return out;
}

export function decodeAttendance16(b: Buffer, at = 0): ZkAttendance {
  return {
    uid: 0,
    pin: String(b.readUInt32LE(at)),
    time: decodeZkTime(b.readUInt32LE(at + 4)),
    verify: b.readUInt8(at + 8),
    state: b.readUInt8(at + 9),
  };
}

// ── users ──

/**
 * 72 bytes: `<HB8s24sIx7sx24s>` uid, privilege, password, name, card, group, user id
 * (docs/protocols/zk.md#user-records).
 */
export function encodeUser72(
  u: ZkUser,
  encoding: ZkEncoding,
  out = Buffer.alloc(USER_SIZE_TCP),
  at = 0,
): Buffer {
  out.fill(0, at, at + USER_SIZE_TCP);
  out.writeUInt16LE(u.uid & 0xffff, at);
  out.writeUInt8(u.privilege & 0xff, at + 2);
  writeText(u.password, 8, encoding, out, at + 3);
  writeText(u.name, 24, encoding, out, at + 11);
  out.writeUInt32LE(u.card >>> 0, at + 35);
  writeText(u.group ?? '', 7, encoding, out, at + 40);
  writeText(u.pin, 24, encoding, out, at + 48);
  return out;
}

export function decodeUser72(b: Buffer, encoding: ZkEncoding, at = 0): ZkUser {
  return {
    uid: b.readUInt16LE(at),
    privilege: b.readUInt8(at + 2),
    password: decodeText(b.subarray(at + 3, at + 11), encoding),
    name: decodeText(b.subarray(at + 11, at + 35), encoding),
    card: b.readUInt32LE(at + 35),
    group: decodeText(b.subarray(at + 40, at + 47), encoding),
    pin: decodeText(b.subarray(at + 48, at + 72), encoding),
  };
}

/** 28 bytes (old firmware): `<HB5s8sIxBhI>` uid, privilege, password, name, card, group, zone, numeric user id. */
export function encodeUser28(
  u: ZkUser,
  encoding: ZkEncoding,
  out = Buffer.alloc(USER_SIZE_OLD),
  at = 0,
): Buffer {
  out.fill(0, at, at + USER_SIZE_OLD);
  out.writeUInt16LE(u.uid & 0xffff, at);
  out.writeUInt8(u.privilege & 0xff, at + 2);
  writeText(u.password, 5, encoding, out, at + 3);
  writeText(u.name, 8, encoding, out, at + 8);
  out.writeUInt32LE(u.card >>> 0, at + 16);
  out.writeUInt8(Number(u.group ?? 0) & 0xff, at + 21);
  out.writeUInt32LE(numericPin(u.pin), at + 24);
  return out;
}

export function decodeUser28(b: Buffer, encoding: ZkEncoding, at = 0): ZkUser {
  return {
    uid: b.readUInt16LE(at),
    privilege: b.readUInt8(at + 2),
    password: decodeText(b.subarray(at + 3, at + 8), encoding),
    name: decodeText(b.subarray(at + 8, at + 16), encoding),
    card: b.readUInt32LE(at + 16),
    group: String(b.readUInt8(at + 21)),
    pin: String(b.readUInt32LE(at + 24)),
  };
}

// ── templates (CMD_DB_RRQ / FCT_FINGERTMP) ──

/**
 * `<HHbb>` record size (with this 6-byte head), uid, finger index, valid flag; then the template
 * (docs/protocols/zk.md#template-records).
 */
export function encodeTemplateRecord(t: ZkTemplate): Buffer {
  const b = Buffer.alloc(6 + t.data.length);
  b.writeUInt16LE(b.length, 0);
  b.writeUInt16LE(t.uid, 2);
  b.writeInt8(t.fingerIndex, 4);
  b.writeInt8(t.valid, 5);
  t.data.copy(b, 6);
  return b;
}

export function decodeTemplateRecords(b: Buffer): ZkTemplate[] {
  const out: ZkTemplate[] = [];
  let at = 0;
  while (at + 6 <= b.length) {
    const size = b.readUInt16LE(at);
    if (size < 6 || at + size > b.length)
      throw new Error(`template record at ${at} claims ${size} bytes, ${b.length - at} left`);
    out.push({
      uid: b.readUInt16LE(at + 2),
      fingerIndex: b.readInt8(at + 4),
      valid: b.readInt8(at + 5),
      data: Buffer.from(b.subarray(at + 6, at + size)),
    });
    at += size;
  }
  return out;
}

// ── table framing ──

/** A bulk table starts with its byte length (u32), then fixed-size records. */
export function splitTable(buffer: Buffer, what: string): { body: Buffer; declared: number } {
  if (buffer.length < 4) return { body: Buffer.alloc(0), declared: 0 };
  const declared = buffer.readUInt32LE(0);
  const body = buffer.subarray(4);
  if (body.length < declared)
    throw new Error(`${what}: ${body.length} bytes received, ${declared} announced`);
  return { body: body.subarray(0, declared), declared };
}

/** User ids are ASCII digits (or letters): a native decode, hot in 100,000-record downloads. */
/**
 * The PIN of an attendance record. A log holds the same few hundred PINs over and over, and they
 * are digits almost always: those come from a cache, one string per PIN, so a 100,000-record read
 * makes no string per record, and every map keyed by PIN downstream (de-duplication, the index)
 * looks up a string whose hash is already known. Anything else is read as UTF-8.
 */
function pinField(b: Buffer, start: number, width: number): string {
  let value = 0;
  let length = 0;
  for (; length < width; length++) {
    const c = b[start + length] as number;
    if (c === 0) break;
    if (c < 0x30 || c > 0x39 || length === 9) return textField(b, start, width);
    value = value * 10 + (c - 0x30);
  }
  // "7" and "007" are different PINs: the length is part of the key.
  const key = value * 16 + length;
  let pin = digitPins.get(key);
  if (pin === undefined) {
    if (digitPins.size >= DIGIT_PIN_CACHE) digitPins.clear();
    pin = b.toString('latin1', start, start + length);
    digitPins.set(key, pin);
  }
  return pin;
}

const DIGIT_PIN_CACHE = 100_000;
const digitPins = new Map<number, string>();

function textField(b: Buffer, start: number, width: number): string {
  const nul = b.indexOf(0, start);
  const end = nul < 0 || nul > start + width ? start + width : nul;
  return b.toString('utf8', start, end);
}

export function numericPin(pin: string): number {
  if (!/^\d{1,10}$/.test(pin) || Number(pin) > 0xffffffff)
    throw new Error(`old ZK firmware keeps numeric user ids only (u32): ${JSON.stringify(pin)}`);
  return Number(pin);
}

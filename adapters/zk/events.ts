import { decodeTimeHex, encodeTimeHex } from '../../lib/zk-time';

/** A decoded EF_ATTLOG real-time event. */
export interface ZkAttEvent {
  readonly pin: string;
  readonly verify: number;
  readonly state: number;
  readonly time: string;
}

/**
 * Layout lengths seen in firmware: 12 (numeric id), 32, 36, 37 and 52 (24-byte id)
 * (docs/protocols/zk.md#real-time-events).
 */
export type AttEventSize = 12 | 32 | 36 | 37 | 52;

export function encodeAttEvent(e: ZkAttEvent, size: AttEventSize = 52): Buffer {
  const b = Buffer.alloc(size);
  if (size === 12) {
    b.writeUInt32LE(Number(e.pin) >>> 0, 0);
    b.writeUInt8(e.verify, 4);
    b.writeUInt8(e.state, 5);
    encodeTimeHex(e.time).copy(b, 6);
    return b;
  }
  b.write(e.pin.slice(0, 24), 0, 'latin1');
  b.writeUInt8(e.verify, 24);
  b.writeUInt8(e.state, 25);
  encodeTimeHex(e.time).copy(b, 26);
  return b;
}

export function decodeAttEvent(data: Buffer): ZkAttEvent {
  if (data.length === 12) {
    return {
      pin: String(data.readUInt32LE(0)),
      verify: data.readUInt8(4),
      state: data.readUInt8(5),
      time: decodeTimeHex(data.subarray(6, 12)),
    };
  }
  if (data.length < 32) throw new Error(`EF_ATTLOG event of ${data.length} bytes: expected 12 or 32–52`);
  const idField = data.subarray(0, 24);
  const end = idField.indexOf(0);
  return {
    pin: idField.subarray(0, end < 0 ? 24 : end).toString('utf8'),
    verify: data.readUInt8(24),
    state: data.readUInt8(25),
    time: decodeTimeHex(data.subarray(26, 32)),
  };
}

/** EF_ENROLLFINGER result: 0 done, 4 mismatch, 5 duplicate, 6 timeout. */
export interface ZkEnrolEvent {
  readonly result: number;
  /** Template size in bytes (0 when a failed enrolment left it out). */
  readonly size: number;
  /** 0–9; -1 when a failed enrolment left it out. */
  readonly fingerIndex: number;
  /** The enrolled worker's PIN ('' when a failed enrolment left it out). */
  readonly pin: string;
}

/**
 * The "Enrolled Finger" layout published in adrobinoga/zk-protocol (docs/protocols/zk.md#real-time-events):
 * result u16 at 0, template size u16 at 2, PIN as a 9-byte string at 4, finger index u8 at 13.
 * On a failed enrolment the terminal may send the result alone.
 */
export const ENROL_EVENT_SIZE = 14;
const ENROL_PIN_BYTES = 9;

export function encodeEnrolEvent(e: ZkEnrolEvent): Buffer {
  const pin = Buffer.from(e.pin, 'latin1');
  if (pin.length > ENROL_PIN_BYTES)
    throw new Error(`EF_ENROLLFINGER carries a PIN of at most ${ENROL_PIN_BYTES} bytes: ${e.pin}`);
  const b = Buffer.alloc(ENROL_EVENT_SIZE);
  b.writeUInt16LE(e.result, 0);
  b.writeUInt16LE(e.size, 2);
  pin.copy(b, 4);
  b.writeUInt8(e.fingerIndex & 0xff, 13);
  return b;
}

export function decodeEnrolEvent(data: Buffer): ZkEnrolEvent {
  if (data.length < 2) throw new Error(`EF_ENROLLFINGER event of ${data.length} bytes: no result code`);
  const result = data.readUInt16LE(0);
  if (data.length < ENROL_EVENT_SIZE) {
    if (result !== 0) return { result, size: 0, fingerIndex: -1, pin: '' };
    throw new Error(
      `EF_ENROLLFINGER event of ${data.length} bytes reports success: ${ENROL_EVENT_SIZE} expected`,
    );
  }
  const pinField = data.subarray(4, 4 + ENROL_PIN_BYTES);
  const end = pinField.indexOf(0);
  return {
    result,
    size: data.readUInt16LE(2),
    fingerIndex: data.readUInt8(13),
    pin: pinField.subarray(0, end < 0 ? ENROL_PIN_BYTES : end).toString('latin1'),
  };
}

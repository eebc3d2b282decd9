import { decodeTimeHex, encodeTimeHex } from './time';

/** A decoded EF_ATTLOG real-time event. */
export interface ZkAttEvent {
  readonly pin: string;
  readonly verify: number;
  readonly state: number;
  readonly time: string;
}

/** Layout lengths seen in firmware: 12 (numeric id), 32, 36, 37 and 52 (24-byte id). */
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
  readonly size: number;
  readonly fingerIndex: number;
  readonly pin: string;
}

export function encodeEnrolEvent(e: ZkEnrolEvent): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt16LE(e.result, 0);
  b.writeUInt16LE(e.size, 2);
  b.writeUInt16LE(e.fingerIndex, 4);
  b.write(e.pin.slice(0, 24), 6, 'latin1');
  return b;
}

export function decodeEnrolEvent(data: Buffer): ZkEnrolEvent {
  const padded = data.length >= 30 ? data : Buffer.concat([data, Buffer.alloc(30 - data.length)]);
  const idField = padded.subarray(6, 30);
  const end = idField.indexOf(0);
  return {
    result: padded.readUInt16LE(0),
    size: padded.readUInt16LE(2),
    fingerIndex: padded.readUInt16LE(4),
    pin: idField.subarray(0, end < 0 ? 24 : end).toString('utf8'),
  };
}

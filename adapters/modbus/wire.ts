/**
 * Modbus framing for the emulator's side of the wire (the driver uses modbus-serial's client, so the
 * emulator's framing is written independently and each checks the other).
 * A PDU is the function code followed by its data; TCP wraps it in an MBAP header, RTU in unit + CRC
 * (docs/protocols/modbus.md#modbus-tcp and #modbus-rtu, with the specifications they follow).
 */

/**
 * CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); sent low byte first
 * (docs/protocols/modbus.md#modbus-rtu).
 */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export function rtuFrame(unitId: number, pdu: Buffer): Buffer {
  const frame = Buffer.alloc(pdu.length + 3);
  frame[0] = unitId;
  pdu.copy(frame, 1);
  frame.writeUInt16LE(crc16(frame.subarray(0, frame.length - 2)), frame.length - 2);
  return frame;
}

export function mbapFrame(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const frame = Buffer.alloc(7 + pdu.length);
  frame.writeUInt16BE(transactionId, 0);
  frame.writeUInt16BE(0, 2);
  frame.writeUInt16BE(pdu.length + 1, 4);
  frame[6] = unitId;
  pdu.copy(frame, 7);
  return frame;
}

export interface TcpRequest {
  readonly transactionId: number;
  readonly unitId: number;
  readonly pdu: Buffer;
}

/** Splits a TCP byte stream into requests; keeps a partial frame for the next chunk. */
export class MbapDeframer {
  private pending = Buffer.alloc(0);

  push(chunk: Buffer): TcpRequest[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    const out: TcpRequest[] = [];
    while (this.pending.length >= 7) {
      const length = this.pending.readUInt16BE(4);
      if (length < 2 || length > 254 || this.pending.readUInt16BE(2) !== 0) {
        // Not Modbus: no way to resynchronize a stream, so the caller drops the connection.
        throw new Error(`bad MBAP header (protocol ${this.pending.readUInt16BE(2)}, length ${length})`);
      }
      if (this.pending.length < 6 + length) break;
      out.push({
        transactionId: this.pending.readUInt16BE(0),
        unitId: this.pending[6] ?? 0,
        pdu: Buffer.from(this.pending.subarray(7, 6 + length)),
      });
      this.pending = this.pending.subarray(6 + length);
    }
    return out;
  }
}

export type RtuRequest =
  | { readonly ok: true; readonly unitId: number; readonly pdu: Buffer }
  | { readonly ok: false; readonly reason: string };

/**
 * Splits an RTU byte stream into request frames by the function code's length rule.
 * A frame with a bad CRC is reported (a slave stays silent on it); bytes that fit no known
 * function are dropped, and the caller clears the buffer after a line-silence gap.
 */
export class RtuRequestDeframer {
  private pending = Buffer.alloc(0);

  push(chunk: Buffer): RtuRequest[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    const out: RtuRequest[] = [];
    for (;;) {
      const length = requestLength(this.pending);
      if (length === null) break;
      if (length === 0) {
        out.push({ ok: false, reason: `unsupported function ${this.pending[1]}` });
        this.pending = Buffer.alloc(0);
        break;
      }
      const frame = this.pending.subarray(0, length);
      this.pending = this.pending.subarray(length);
      const crc = frame.readUInt16LE(length - 2);
      if (crc !== crc16(frame.subarray(0, length - 2))) {
        out.push({ ok: false, reason: 'bad CRC' });
        continue;
      }
      out.push({ ok: true, unitId: frame[0] ?? 0, pdu: Buffer.from(frame.subarray(1, length - 2)) });
    }
    return out;
  }

  /** Called after an inter-frame gap: a partial frame can never complete. */
  clear(): void {
    this.pending = Buffer.alloc(0);
  }

  get buffered(): number {
    return this.pending.length;
  }
}

/** Whole frame length for the request at the start of `buf`; null = need more bytes, 0 = unknown function. */
function requestLength(buf: Buffer): number | null {
  if (buf.length < 2) return null;
  const fc = buf[1];
  if (fc === 3 || fc === 4 || fc === 6) return buf.length >= 8 ? 8 : null;
  if (fc === 16) {
    if (buf.length < 7) return null;
    const total = 9 + (buf[6] ?? 0);
    return buf.length >= total ? total : null;
  }
  return 0;
}

export const EXCEPTION = {
  illegalFunction: 1,
  illegalDataAddress: 2,
  illegalDataValue: 3,
  deviceFailure: 4,
  busy: 6,
} as const;

export function exceptionPdu(functionCode: number, code: number): Buffer {
  return Buffer.from([functionCode | 0x80, code]);
}

export function readRegistersResponse(functionCode: number, values: readonly number[]): Buffer {
  const pdu = Buffer.alloc(2 + values.length * 2);
  pdu[0] = functionCode;
  pdu[1] = values.length * 2;
  values.forEach((v, i) => {
    pdu.writeUInt16BE(v & 0xffff, 2 + i * 2);
  });
  return pdu;
}

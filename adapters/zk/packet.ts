import { zkChecksum } from './checksum';

/** The 4 magic bytes that open every TCP frame: `50 50 82 7D` (docs/protocols/zk.md#framing). */
export const TCP_MAGIC = Buffer.from([0x50, 0x50, 0x82, 0x7d]);
export const HEADER_SIZE = 8;
export const TCP_PREFIX_SIZE = 8;

export interface ZkPacket {
  readonly command: number;
  readonly sessionId: number;
  readonly replyId: number;
  readonly data: Buffer;
  /** Whether the received checksum matched; always true for packets we build. */
  readonly checksumOk: boolean;
}

/** Header + data, as carried alone in a UDP datagram (docs/protocols/zk.md#header). */
export function encodeBody(
  command: number,
  sessionId: number,
  replyId: number,
  data: Uint8Array = Buffer.alloc(0),
): Buffer {
  const body = Buffer.alloc(HEADER_SIZE + data.length);
  body.writeUInt16LE(command, 0);
  body.writeUInt16LE(sessionId & 0xffff, 4);
  body.writeUInt16LE(replyId & 0xffff, 6);
  body.set(data, HEADER_SIZE);
  body.writeUInt16LE(zkChecksum(body), 2);
  return body;
}

/** A body wrapped in the TCP frame: magic + u32 LE body length + body. */
export function frameTcp(body: Uint8Array): Buffer {
  const frame = Buffer.alloc(TCP_PREFIX_SIZE + body.length);
  TCP_MAGIC.copy(frame, 0);
  frame.writeUInt32LE(body.length, 4);
  frame.set(body, TCP_PREFIX_SIZE);
  return frame;
}

export function encodeTcp(command: number, sessionId: number, replyId: number, data?: Uint8Array): Buffer {
  return frameTcp(encodeBody(command, sessionId, replyId, data));
}

export function decodeBody(body: Buffer): ZkPacket {
  if (body.length < HEADER_SIZE) throw new Error(`ZK packet too short: ${body.length} bytes (header is 8)`);
  return {
    command: body.readUInt16LE(0),
    sessionId: body.readUInt16LE(4),
    replyId: body.readUInt16LE(6),
    data: body.subarray(HEADER_SIZE),
    checksumOk: body.readUInt16LE(2) === zkChecksum(body),
  };
}

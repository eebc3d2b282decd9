import { Cmd, commandName, MAX_CHUNK, USHRT_MAX } from './constants';
import type { ZkLink } from './link';
import { decodeBody, encodeBody, type ZkPacket } from './packet';

export class ZkTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`no answer to ${what} within ${ms} ms`);
    this.name = 'ZkTimeoutError';
  }
}

export class ZkReplyError extends Error {
  constructor(
    what: string,
    readonly reply: number,
  ) {
    super(`${what} answered ${commandName(reply)}`);
    this.name = 'ZkReplyError';
  }
}

/**
 * Whether a reply means the command was carried out. Firmware answers with ACK_OK or, on some
 * models, ACK_DATA (with or without data) for the very same commands; only the other codes
 * (ACK_ERROR, ACK_UNAUTH, ACK_UNKNOWN…) are refusals (docs/protocols/zk.md#replies).
 */
export function isAccepted(p: ZkPacket): boolean {
  return p.command === Cmd.ACK_OK || p.command === Cmd.ACK_DATA;
}

/**
 * Whether an ACK_DATA answer to DATA_WRRQ announces a size (`<bI…>`, size at offset 1) rather than
 * carrying the whole table inline. Every table read here starts with its own byte count (u32 =
 * length − 4); an announcement is a few bytes whose first u32 is not that.
 */
function announcesSize(data: Buffer): boolean {
  return data.length >= 5 && data.length <= 16 && data.readUInt32LE(0) !== data.length - 4;
}

/** Replies we are waiting for: matched on the reply number, or any data packet once a chunk has started. */
class InFlight {
  readonly queue: ZkPacket[] = [];
  waiter: ((p: ZkPacket | Error) => void) | null = null;
  acceptAnyData = false;
  failure: Error | null = null;
  constructor(
    readonly replyId: number,
    readonly what: string,
  ) {}

  accepts(p: ZkPacket): boolean {
    if (p.replyId === this.replyId) return true;
    return this.acceptAnyData && (p.command === Cmd.DATA || p.command === Cmd.ACK_DATA);
  }

  deliver(p: ZkPacket | Error): void {
    if (p instanceof Error) this.failure = p;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      waiter(p);
    } else if (!(p instanceof Error)) this.queue.push(p);
  }
}

export interface SessionOptions {
  readonly timeoutMs: number;
  /** Called for every CMD_REG_EVENT packet; the caller acknowledges with `ackEvent`. */
  readonly onEvent: (event: ZkPacket) => void;
  /** Called when a peer's packet matches nothing in flight (late reply, stray ACK). */
  readonly onStray?: (p: ZkPacket) => void;
}

/**
 * One connection's command state: a single command (or one bulk transfer) in flight at a time,
 * replies matched by reply number, events routed aside, so a reply is never mistaken for an event
 * or for the answer to another command.
 */
export class ZkSession {
  sessionId = 0;
  private replyCounter = 0;
  private inFlight: InFlight | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  private closedWith: Error | null = null;

  constructor(
    private readonly link: ZkLink,
    private readonly options: SessionOptions,
  ) {}

  /** Feed a received body (from the link). */
  receive(body: Buffer): void {
    let p: ZkPacket;
    try {
      p = decodeBody(body);
    } catch {
      return;
    }
    if (p.command === Cmd.REG_EVENT) {
      this.options.onEvent(p);
      return;
    }
    if (this.inFlight?.accepts(p)) this.inFlight.deliver(p);
    else this.options.onStray?.(p);
  }

  /** The link went away: fail whatever waits. */
  fail(reason: Error): void {
    this.closedWith = reason;
    this.inFlight?.deliver(reason);
  }

  /** Acknowledges a real-time event: ACK_OK, this session, the event's own reply number. */
  ackEvent(event: ZkPacket): void {
    this.link.send(encodeEventAck(this.sessionId, event));
  }

  /** Runs `work` with the connection to itself: nothing else is sent (but event acks) meanwhile. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  request(command: number, data?: Uint8Array, timeoutMs?: number): Promise<ZkPacket> {
    return this.exclusive(() => this.roundTrip(command, data, timeoutMs));
  }

  /** CONNECT restarts the reply numbering (clients differ: 0 or 1; terminals echo either). */
  async open(): Promise<ZkPacket> {
    return this.exclusive(async () => {
      this.replyCounter = 0;
      const reply = await this.roundTrip(Cmd.CONNECT);
      this.sessionId = reply.sessionId;
      return reply;
    });
  }

  /**
   * Reads a table with CMD_DATA_WRRQ, whichever way the firmware answers: inline CMD_DATA (or
   * ACK_DATA), or a size (in ACK_OK, PREPARE_DATA or ACK_DATA) followed by chunks fetched with
   * CMD_DATA_RDY, each answered inline or as PREPARE_DATA + DATA packets. Fewer bytes than announced is an error, never a short success.
   * `onProgress` sees the buffer filled up to `got` after every chunk, so a caller can decode
   * records while the rest is still on the wire (an inline answer reports nothing).
   */
  readBuffer(
    request: Uint8Array,
    what: string,
    onProgress?: (got: number, total: number, filled: Buffer) => void,
  ): Promise<Buffer> {
    return this.exclusive(async () => {
      const first = await this.roundTrip(Cmd.DATA_WRRQ, request);
      if (first.command === Cmd.DATA) return first.data;
      if (first.command === Cmd.ACK_DATA && !announcesSize(first.data)) return first.data;
      if (!(isAccepted(first) || first.command === Cmd.PREPARE_DATA) || first.data.length < 5)
        throw new ZkReplyError(`${what} (DATA_WRRQ)`, first.command);
      const size = first.data.readUInt32LE(1);
      const out = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const want = Math.min(MAX_CHUNK, size - got);
        // The next chunk is asked for before the last one is handed on: the terminal sends while
        // the caller decodes and journals, instead of waiting for it (it only reads `out` below `got`).
        const chunk = this.readChunk(out, got, want, what);
        await settledIfThrows(chunk, () => got > 0 && onProgress?.(got, size, out));
        got += await chunk;
      }
      const freeing = this.roundTrip(Cmd.FREE_DATA);
      await settledIfThrows(freeing, () => onProgress?.(got, size, out));
      const freed = await freeing;
      if (!isAccepted(freed)) throw new ZkReplyError(`${what} (FREE_DATA)`, freed.command);
      return out;
    });
  }

  /**
   * Uploads a buffer with PREPARE_DATA + DATA (as pyzk does before SAVE_USERTEMPS), then runs `command`
   * (docs/protocols/zk.md#uploads).
   */
  writeBuffer(buffer: Buffer, command: number, commandData: Uint8Array, what: string): Promise<ZkPacket> {
    return this.exclusive(async () => {
      await this.expectOk(Cmd.FREE_DATA, undefined, what);
      const size = Buffer.alloc(4);
      size.writeUInt32LE(buffer.length, 0);
      await this.expectOk(Cmd.PREPARE_DATA, size, what);
      for (let at = 0; at < buffer.length; at += 1024)
        await this.expectOk(Cmd.DATA, buffer.subarray(at, Math.min(buffer.length, at + 1024)), what);
      return this.roundTrip(command, commandData);
    });
  }

  private async expectOk(command: number, data: Uint8Array | undefined, what: string): Promise<void> {
    const reply = await this.roundTrip(command, data);
    if (!isAccepted(reply)) throw new ZkReplyError(`${what} (${commandName(command)})`, reply.command);
  }

  private async readChunk(out: Buffer, start: number, want: number, what: string): Promise<number> {
    const ask = Buffer.alloc(8);
    ask.writeUInt32LE(start, 0);
    ask.writeUInt32LE(want, 4);
    const flight = this.begin(`${what} chunk at ${start}`);
    this.link.send(encodeBody(Cmd.DATA_RDY, this.sessionId, flight.replyId, ask));
    try {
      const first = await this.next(flight);
      if (first.command === Cmd.DATA || first.command === Cmd.ACK_DATA) {
        if (first.data.length !== want)
          throw new Error(`${what}: chunk at ${start} carried ${first.data.length} bytes, ${want} asked`);
        first.data.copy(out, start);
        return want;
      }
      if (first.command !== Cmd.PREPARE_DATA) throw new ZkReplyError(`${what} (DATA_RDY)`, first.command);
      const announced = first.data.length >= 4 ? first.data.readUInt32LE(0) : want;
      if (announced !== want)
        throw new Error(`${what}: chunk at ${start} announced ${announced} bytes, ${want} asked`);
      flight.acceptAnyData = true;
      let got = 0;
      while (got < want) {
        const p = await this.next(flight);
        if (p.command !== Cmd.DATA && p.command !== Cmd.ACK_DATA)
          throw new Error(
            `${what}: chunk at ${start} ended after ${got} of ${want} bytes (${commandName(p.command)})`,
          );
        if (got + p.data.length > want) throw new Error(`${what}: chunk at ${start} overflowed`);
        p.data.copy(out, start + got);
        got += p.data.length;
      }
      // The closing ACK_OK is optional across firmware; a late one no longer matches and is dropped.
      return got;
    } finally {
      this.end(flight);
    }
  }

  private async roundTrip(command: number, data?: Uint8Array, timeoutMs?: number): Promise<ZkPacket> {
    const flight = this.begin(commandName(command));
    this.link.send(encodeBody(command, this.sessionId, flight.replyId, data));
    try {
      return await this.next(flight, timeoutMs);
    } finally {
      this.end(flight);
    }
  }

  private begin(what: string): InFlight {
    if (this.closedWith) throw this.closedWith;
    const replyId = this.replyCounter;
    // 0…65,534, wrapping as pyzk's __create_header does.
    this.replyCounter = (this.replyCounter + 1) % USHRT_MAX;
    this.inFlight = new InFlight(replyId, what);
    return this.inFlight;
  }

  private end(flight: InFlight): void {
    if (this.inFlight === flight) this.inFlight = null;
  }

  private next(flight: InFlight, timeoutMs = this.options.timeoutMs): Promise<ZkPacket> {
    const queued = flight.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (flight.failure) return Promise.reject(flight.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        flight.waiter = null;
        reject(new ZkTimeoutError(flight.what, timeoutMs));
      }, timeoutMs);
      flight.waiter = (p) => {
        clearTimeout(timer);
        if (p instanceof Error) reject(p);
        else resolve(p);
      };
    });
  }
}

/**
 * What a client answers a real-time event with: ACK_OK, its session, and the reply number of the
 * event (zk-protocol realtime, "the same of the incoming packet", which is 0 for events; pyzk sends
 * 0 too): docs/protocols/zk.md#session-and-reply-numbers.
 */
export function encodeEventAck(sessionId: number, event: ZkPacket): Buffer {
  return encodeBody(Cmd.ACK_OK, sessionId, event.replyId);
}

/**
 * Runs `report` (handing on the table read so far) while `inFlight`, the next request, is on the
 * wire. If it throws, the request is waited for before the error goes on: the session's one
 * command in flight must be over before the next may start.
 */
async function settledIfThrows(inFlight: Promise<unknown>, report: () => unknown): Promise<void> {
  try {
    report();
  } catch (error) {
    await inFlight.catch(() => undefined);
    throw error;
  }
}

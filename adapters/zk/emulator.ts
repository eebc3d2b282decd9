import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { type ClockSource, systemClock } from '../../gateway/model';
import { makeCommKey } from './commkey';
import { Cmd, EVENT_ACK_REPLY, Ev, Fct, MAX_CHUNK } from './constants';
import { TcpDeframer } from './deframer';
import { TcpOutput, type ZkFaults } from './emulator-output';
import {
  type EmulatedPunchInput,
  type EmulatedUserInput,
  LOG_CAPACITY,
  TerminalState,
} from './emulator-state';
import { type AttEventSize, encodeAttEvent, encodeEnrolEvent } from './events';
import { decodeBody, encodeBody, frameTcp, type ZkPacket } from './packet';
import {
  decodeUser28,
  decodeUser72,
  encodeTemplateRecord,
  encodeUser28,
  encodeUser72,
  USER_SIZE_OLD,
  USER_SIZE_TCP,
  type ZkAttendance,
  type ZkUser,
} from './records';
import type { ZkEncoding } from './text';
import { decodeZkTime, encodeZkTime } from './time';
import { decodeUserTemplates } from './user-templates';

export type { ZkFaults } from './emulator-output';
export type { EmulatedPunchInput, EmulatedUserInput } from './emulator-state';

export type BulkMode = 'single' | 'chunked' | 'ackdata';

/** Largest upload the emulated terminal takes (a few thousand users with templates). */
const MAX_UPLOAD = 16 * 1024 * 1024;

export interface ZkEmulatorOptions {
  readonly port?: number;
  readonly host?: string;
  /** A count of generated users (PIN 1…N, names 工人N) or the users themselves. */
  readonly users?: number | readonly EmulatedUserInput[];
  /** A count of generated past punches, or the punches themselves. */
  readonly records?: number | readonly EmulatedPunchInput[];
  readonly encoding?: ZkEncoding;
  /** Communication key; 0 = none. */
  readonly commKey?: number;
  /**
   * How bulk reads are answered: `single` inline CMD_DATA; `chunked` ACK_OK + size, then
   * PREPARE_DATA/DATA/ACK_OK per CMD_DATA_RDY; `ackdata` ACK_OK + size, then one ACK_DATA per chunk.
   */
  readonly mode?: BulkMode;
  /**
   * Firmware that answers with CMD_ACK_DATA: `data` wherever data comes back (command replies such
   * as OPTIONS_RRQ, GET_FREE_SIZES, GET_TIME, GET_VERSION; the bulk size announcement; inline
   * tables; chunk data), `all` also in place of every empty ACK_OK. Unset: ACK_OK and DATA.
   */
  readonly ackData?: 'data' | 'all';
  /** Send all packets of one answer in a single write (what stalls node-zklib). */
  readonly coalesce?: boolean;
  /** Pause between packets when not coalescing (default 1 ms). */
  readonly packetGapMs?: number;
  readonly clockDriftSeconds?: number;
  /** Zone of the emulated wall clock (default UTC). */
  readonly timeZone?: string;
  /** Old firmware: UDP only, 16-byte attendance records and 28-byte users. */
  readonly udp?: boolean;
  /** How long a started enrolment takes before its completion event (default 300 ms). */
  readonly enrolDelayMs?: number;
  /** How many users the terminal holds at most (reported in GET_FREE_SIZES; writes beyond it fail). */
  readonly userCapacity?: number;
  /** The `~ZKFPVersion` the terminal reports (default 10; ZKFinger 9 terminals say 9). */
  readonly fingerprintVersion?: number;
  /** EF_ATTLOG event length (default 52). */
  readonly eventSize?: AttEventSize;
  readonly faults?: ZkFaults;
  readonly clock?: ClockSource;
  readonly serialNumber?: string;
}

export interface ZkEmulatorStats {
  connections: number;
  commands: number;
  eventsSent: number;
  eventAcks: number;
  badChecksums: number;
}

/** One client's view: a TCP connection or a UDP peer. */
interface Peer {
  readonly id: string;
  sessionId: number;
  authed: boolean;
  eventFlags: number;
  /** The table prepared by the last DATA_WRRQ, served by DATA_RDY. */
  bulk: Buffer | null;
  /** What the client uploads with PREPARE_DATA/DATA, sized as PREPARE_DATA announced (null: none prepared). */
  upload: Buffer | null;
  uploadReceived: number;
  enrolTimer: NodeJS.Timeout | null;
  send(group: readonly Buffer[], isReply?: boolean): void;
  close(): void;
}

/**
 * A ZK terminal on the real wire protocol, over TCP (and UDP for old firmware), for tests and
 * lab mode. Unmodified node-zklib reads it; our driver reads it in every firmware variant.
 */
export class ZkEmulator {
  readonly faults: ZkFaults;
  readonly stats: ZkEmulatorStats = {
    connections: 0,
    commands: 0,
    eventsSent: 0,
    eventAcks: 0,
    badChecksums: 0,
  };
  private readonly state: TerminalState;
  private readonly peers = new Set<Peer>();
  private tcpServer: Server | null = null;
  private udpSocket: UdpSocket | null = null;
  private readonly udpPeers = new Map<string, Peer>();
  private nextSession = 0x3a00;
  private boundPort = 0;

  constructor(private readonly options: ZkEmulatorOptions = {}) {
    this.faults = options.faults ?? {};
    this.state = new TerminalState(
      options.clock ?? systemClock,
      options.timeZone ?? 'UTC',
      options.clockDriftSeconds ?? 0,
    );
  }

  get port(): number {
    return this.boundPort;
  }

  private get encoding(): ZkEncoding {
    return this.options.encoding ?? 'gb18030';
  }

  private get oldFirmware(): boolean {
    return this.options.udp === true;
  }

  async start(): Promise<number> {
    this.state.seedUsers(this.options.users ?? 0);
    this.state.seedRecords(this.options.records ?? 0);
    const host = this.options.host ?? '127.0.0.1';
    if (this.oldFirmware) {
      const socket = createSocket('udp4');
      this.udpSocket = socket;
      socket.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
      socket.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.options.port ?? 0, host, () => resolve());
      });
      this.boundPort = socket.address().port;
      return this.boundPort;
    }
    const server = createServer((socket) => this.onTcp(socket));
    this.tcpServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, host, () => resolve());
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : 0;
    return this.boundPort;
  }

  async stop(): Promise<void> {
    for (const peer of this.peers) peer.close();
    this.peers.clear();
    this.udpPeers.clear();
    if (this.tcpServer) {
      const server = this.tcpServer;
      this.tcpServer = null;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.udpSocket) {
      const socket = this.udpSocket;
      this.udpSocket = null;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  }

  // ── what tests and lab mode do to the terminal ──

  /** A worker punches: the record is logged and every registered session gets an EF_ATTLOG event. */
  addPunch(punch: EmulatedPunchInput): ZkAttendance {
    const record = this.state.appendPunch(punch);
    const data = encodeAttEvent(
      { pin: record.pin, verify: record.verify, state: record.state, time: record.time },
      this.options.eventSize ?? (this.oldFirmware ? 12 : 52),
    );
    for (const peer of this.peers) {
      if (peer.eventFlags & Ev.ATTLOG) {
        peer.send([this.packet(Cmd.REG_EVENT, Ev.ATTLOG, 0, data)], false);
        this.stats.eventsSent++;
      }
    }
    return record;
  }

  /** Power cycle: connections drop and, as on firmware that keeps the log in RAM, the log is empty. */
  reboot(): void {
    this.state.clearLog();
    for (const peer of this.peers) peer.close();
    this.peers.clear();
    this.udpPeers.clear();
  }

  clearLog(): void {
    this.state.clearLog();
  }

  /** Drop every open connection (the terminal's network flaps). */
  dropConnections(): void {
    for (const peer of this.peers) peer.close();
    this.peers.clear();
    this.udpPeers.clear();
  }

  users(): ZkUser[] {
    return [...this.state.users.values()];
  }

  templates(pin: string): { index: number; data: Buffer }[] {
    const user = this.state.userByPin(pin);
    if (!user) return [];
    const out: { index: number; data: Buffer }[] = [];
    for (const [key, data] of this.state.templates) {
      const [uid, index] = key.split(':').map(Number);
      if (uid === user.uid) out.push({ index: index ?? 0, data });
    }
    return out.sort((a, b) => a.index - b.index);
  }

  attendance(): ZkAttendance[] {
    return this.state.attendance();
  }

  recordCount(): number {
    return this.state.recordCount();
  }

  clock(): string {
    return this.state.wallNow();
  }

  clockOffsetSeconds(): number {
    return this.state.clockOffsetSeconds();
  }

  sessionCount(): number {
    return this.peers.size;
  }

  // ── network ──

  private packet(command: number, sessionId: number, replyId: number, data?: Uint8Array): Buffer {
    const body = encodeBody(command, sessionId, replyId, data);
    return this.oldFirmware ? body : frameTcp(body);
  }

  private newPeer(id: string, send: Peer['send'], close: () => void): Peer {
    this.nextSession = this.nextSession >= 0xfff0 ? 0x3a00 : this.nextSession + 7;
    const peer: Peer = {
      id,
      sessionId: this.nextSession,
      authed: !this.options.commKey,
      eventFlags: 0,
      bulk: null,
      upload: null,
      uploadReceived: 0,
      enrolTimer: null,
      send,
      close: () => {
        if (peer.enrolTimer) clearTimeout(peer.enrolTimer);
        close();
      },
    };
    this.stats.connections++;
    this.peers.add(peer);
    return peer;
  }

  private onTcp(socket: Socket): void {
    socket.setNoDelay(true);
    const output = new TcpOutput(socket, {
      coalesce: this.options.coalesce ?? false,
      packetGapMs: this.options.packetGapMs ?? 1,
      faults: this.faults,
    });
    const deframer = new TcpDeframer();
    const peer = this.newPeer(
      `${socket.remoteAddress}:${socket.remotePort}`,
      (group, isReply) => output.send(group, isReply),
      () => socket.destroy(),
    );
    socket.on('data', (chunk: Buffer) => {
      for (const body of deframer.push(chunk)) this.onBody(peer, body);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (peer.enrolTimer) clearTimeout(peer.enrolTimer);
      this.peers.delete(peer);
    });
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let peer = this.udpPeers.get(key);
    if (!peer) {
      const socket = this.udpSocket;
      peer = this.newPeer(
        key,
        (group) => {
          for (const body of group) socket?.send(body, rinfo.port, rinfo.address);
        },
        () => undefined,
      );
      this.udpPeers.set(key, peer);
    }
    this.onBody(peer, msg);
  }

  private onBody(peer: Peer, body: Buffer): void {
    let p: ZkPacket;
    try {
      p = decodeBody(body);
    } catch {
      return;
    }
    // Counted, not refused: a terminal that drops a packet only makes the client time out, which
    // tests nothing useful. (node-zklib and pyzk compute it off by one over the reply number before
    // they increment it; the two slips cancel out.)
    if (!p.checksumOk) this.stats.badChecksums++;
    this.stats.commands++;
    try {
      this.handle(peer, p);
    } catch (err) {
      peer.send([this.packet(Cmd.ACK_ERROR, peer.sessionId, p.replyId, Buffer.from(String(err)))]);
    }
  }

  private handle(peer: Peer, p: ZkPacket): void {
    const reply = (command: number, data?: Uint8Array) =>
      this.packet(command, peer.sessionId, p.replyId, data);
    const ok = (data?: Uint8Array) => peer.send([reply(this.positiveReply(Cmd.ACK_OK, data), data)]);

    if (p.command === Cmd.ACK_OK) {
      // A client acknowledging an event: nothing to answer.
      if (p.replyId === EVENT_ACK_REPLY || p.sessionId === peer.sessionId) this.stats.eventAcks++;
      return;
    }
    if (p.command === Cmd.CONNECT) {
      peer.authed = !this.options.commKey;
      peer.send([reply(peer.authed ? this.positiveReply(Cmd.ACK_OK) : Cmd.ACK_UNAUTH)]);
      return;
    }
    if (p.command === Cmd.AUTH) {
      const ticks = p.data.length >= 3 ? (p.data[2] ?? 0) : 50;
      const expected = makeCommKey(this.options.commKey ?? 0, peer.sessionId, ticks);
      peer.authed = p.data.length >= 4 && expected.equals(p.data.subarray(0, 4));
      peer.send([reply(peer.authed ? this.positiveReply(Cmd.ACK_OK) : Cmd.ACK_UNAUTH)]);
      return;
    }
    if (p.command === Cmd.EXIT) {
      // The client closes; closing first makes node-zklib's disconnect() throw.
      ok();
      return;
    }
    if (!peer.authed) {
      peer.send([reply(Cmd.ACK_UNAUTH)]);
      return;
    }
    switch (p.command) {
      case Cmd.ENABLEDEVICE:
      case Cmd.DISABLEDEVICE:
      case Cmd.REFRESHDATA:
      case Cmd.STARTVERIFY: {
        ok();
        return;
      }
      case Cmd.CANCELCAPTURE:
        if (peer.enrolTimer) clearTimeout(peer.enrolTimer);
        peer.enrolTimer = null;
        {
          ok();
          return;
        }
      case Cmd.GET_VERSION: {
        ok(Buffer.from('Ver 6.60 Emulated\0', 'latin1'));
        return;
      }
      case Cmd.OPTIONS_RRQ: {
        ok(this.option(p.data));
        return;
      }
      case Cmd.GET_FREE_SIZES: {
        ok(this.freeSizes());
        return;
      }
      case Cmd.GET_TIME: {
        const data = Buffer.alloc(4);
        data.writeUInt32LE(encodeZkTime(this.state.wallNow()), 0);
        ok(data);
        return;
      }
      case Cmd.SET_TIME:
        // 4 bytes from pyzk; zkteco-js sends 32 with the value first.
        if (p.data.length < 4) {
          peer.send([reply(Cmd.ACK_ERROR)]);
          return;
        }
        this.state.setWall(decodeZkTime(p.data.readUInt32LE(0)));
        {
          ok();
          return;
        }
      case Cmd.REG_EVENT:
        peer.eventFlags =
          p.data.length >= 4 ? p.data.readUInt32LE(0) : p.data.length >= 2 ? p.data.readUInt16LE(0) : 0;
        {
          ok();
          return;
        }
      case Cmd.CLEAR_ATTLOG:
        this.state.clearLog();
        {
          ok();
          return;
        }
      case Cmd.FREE_DATA:
        peer.bulk = null;
        this.resetUpload(peer, null);
        {
          ok();
          return;
        }
      case Cmd.DATA_WRRQ: {
        this.onDataRequest(peer, p);
        return;
      }
      case Cmd.DATA_RDY: {
        this.onChunkRequest(peer, p);
        return;
      }
      case Cmd.PREPARE_DATA: {
        const size = p.data.length >= 4 ? p.data.readUInt32LE(0) : -1;
        if (size < 0 || size > MAX_UPLOAD) {
          this.resetUpload(peer, null);
          peer.send([reply(Cmd.ACK_ERROR)]);
          return;
        }
        this.resetUpload(peer, size);
        ok();
        return;
      }
      case Cmd.DATA: {
        // Data past what PREPARE_DATA announced (or with none prepared) has nowhere to go.
        const upload = peer.upload;
        if (!upload || peer.uploadReceived + p.data.length > upload.length) {
          this.resetUpload(peer, null);
          peer.send([reply(Cmd.ACK_ERROR)]);
          return;
        }
        p.data.copy(upload, peer.uploadReceived);
        peer.uploadReceived += p.data.length;
        ok();
        return;
      }
      case Cmd.USER_WRQ: {
        const user = this.decodeUser(p.data);
        if (!this.hasRoomFor([user])) {
          peer.send([reply(Cmd.ACK_ERROR)]);
          return;
        }
        this.state.upsertUser(user);
        ok();
        return;
      }
      case Cmd.DELETE_USER:
        if (p.data.length < 2) {
          peer.send([reply(Cmd.ACK_ERROR)]);
          return;
        }
        this.state.deleteUser(p.data.readUInt16LE(0));
        {
          ok();
          return;
        }
      case Cmd.DELETE_USERTEMP:
        if (p.data.length < 3) {
          peer.send([reply(Cmd.ACK_ERROR)]);
          return;
        }
        this.state.templates.delete(`${p.data.readUInt16LE(0)}:${p.data.readInt8(2)}`);
        {
          ok();
          return;
        }
      case Cmd.SAVE_USERTEMPS: {
        const { upload, uploadReceived } = peer;
        this.resetUpload(peer, null);
        if (!upload || uploadReceived !== upload.length)
          throw new Error(`SAVE_USERTEMPS after ${uploadReceived} of ${upload?.length ?? 0} announced bytes`);
        this.saveUserTemplates(upload);
        ok();
        return;
      }
      case Cmd.STARTENROLL: {
        this.startEnrol(peer, p, ok, () => peer.send([reply(Cmd.ACK_ERROR)]));
        return;
      }
      default: {
        peer.send([reply(Cmd.ACK_UNKNOWN)]);
        return;
      }
    }
  }

  /** What a positive reply carrying `data` is sent as: `usual`, or ACK_DATA on firmware that does so. */
  private positiveReply(usual: number, data?: Uint8Array): number {
    const { ackData } = this.options;
    if (ackData === 'all' || (ackData === 'data' && data && data.length > 0)) return Cmd.ACK_DATA;
    return usual;
  }

  private decodeUser(data: Buffer): ZkUser {
    if (this.oldFirmware) {
      if (data.length < 28) throw new Error(`user record of ${data.length} bytes, 28 expected`);
      return decodeUser28(data, this.encoding);
    }
    if (data.length < 72) throw new Error(`user record of ${data.length} bytes, 72 expected`);
    return decodeUser72(data, this.encoding);
  }

  private option(request: Buffer): Buffer {
    const key = request.toString('latin1').replace(/\0.*$/s, '');
    const values: Record<string, string> = {
      '~ZKFPVersion': String(this.options.fingerprintVersion ?? 10),
      '~SerialNumber': this.options.serialNumber ?? `EMU${this.boundPort}`,
      '~DeviceName': 'ZK Emulator',
      '~Platform': 'ZEM560_TFT',
      '~ExtendFmt': this.oldFirmware ? '0' : '1',
      '~PIN2Width': this.oldFirmware ? '5' : '9',
    };
    return Buffer.from(`${key}=${values[key] ?? ''}\0`, 'latin1');
  }

  /** 20 i32 counters (users at 4, templates at 6, records at 8, capacities from 14) and 3 for faces. */
  private freeSizes(): Buffer {
    const b = Buffer.alloc(92);
    const users = this.state.users.size;
    const records = this.state.recordCount();
    const templates = this.state.templates.size;
    b.writeInt32LE(users, 4 * 4);
    b.writeInt32LE(templates, 6 * 4);
    b.writeInt32LE(records, 8 * 4);
    b.writeInt32LE(users, 12 * 4);
    b.writeInt32LE(10_000, 14 * 4);
    b.writeInt32LE(this.userCapacity, 15 * 4);
    b.writeInt32LE(LOG_CAPACITY, 16 * 4);
    b.writeInt32LE(10_000 - templates, 17 * 4);
    b.writeInt32LE(this.userCapacity - users, 18 * 4);
    b.writeInt32LE(LOG_CAPACITY - records, 19 * 4);
    return b;
  }

  /** `<bhii>`: 1, the table's read command, its FCT selector, 0. */
  private onDataRequest(peer: Peer, p: ZkPacket): void {
    const reply = (command: number, data?: Uint8Array) =>
      this.packet(command, peer.sessionId, p.replyId, data);
    if (p.data.length < 7) {
      peer.send([reply(Cmd.ACK_ERROR)]);
      return;
    }
    const command = p.data.readUInt16LE(1);
    const fct = p.data.readInt32LE(3);
    let table: Buffer;
    if (command === Cmd.ATTLOG_RRQ) table = this.state.encodeLogTable(this.oldFirmware ? 16 : 40);
    else if (command === Cmd.USERTEMP_RRQ && fct === Fct.USER) table = this.userTable();
    else if (command === Cmd.DB_RRQ && fct === Fct.FINGERTMP) table = this.templateTable();
    else {
      peer.send([reply(Cmd.ACK_ERROR)]);
      return;
    }
    const mode = this.options.mode ?? 'chunked';
    // A datagram cannot carry a large table inline: old firmware chunks whatever the mode.
    if (mode === 'single' && !(this.oldFirmware && table.length > 60_000)) {
      peer.send([reply(this.positiveReply(Cmd.DATA, table), table)]);
      return;
    }
    peer.bulk = table;
    const head = Buffer.alloc(9);
    head.writeUInt32LE(table.length, 1);
    peer.send([reply(this.positiveReply(Cmd.ACK_OK, head), head)]);
  }

  private onChunkRequest(peer: Peer, p: ZkPacket): void {
    const reply = (command: number, data?: Uint8Array) =>
      this.packet(command, peer.sessionId, p.replyId, data);
    if (p.data.length < 8) {
      peer.send([reply(Cmd.ACK_ERROR)]);
      return;
    }
    const start = p.data.readUInt32LE(0);
    const size = p.data.readUInt32LE(4);
    // node-zklib asks for a zero-length tail when the size is a multiple of 65,472: firmware stays silent.
    if (size === 0) return;
    const bulk = peer.bulk;
    if (!bulk || start + size > bulk.length || size > MAX_CHUNK) {
      peer.send([reply(Cmd.ACK_ERROR)]);
      return;
    }
    const chunk = bulk.subarray(start, start + size);
    if ((this.options.mode ?? 'chunked') === 'ackdata') {
      peer.send([reply(Cmd.ACK_DATA, chunk)]);
      return;
    }
    const prepare = Buffer.alloc(8);
    prepare.writeUInt32LE(size, 0);
    const group = [reply(Cmd.PREPARE_DATA, prepare)];
    // Over UDP firmware sends 1 KB data packets; over TCP one packet per chunk.
    const step = this.oldFirmware ? 1024 : size;
    for (let at = 0; at < size; at += step) {
      const data = chunk.subarray(at, Math.min(size, at + step));
      group.push(reply(this.positiveReply(Cmd.DATA, data), data));
    }
    group.push(reply(Cmd.ACK_OK));
    peer.send(group);
  }

  private userTable(): Buffer {
    const records = [...this.state.users.values()]
      .sort((a, b) => a.uid - b.uid)
      .map((u) => (this.oldFirmware ? encodeUser28(u, this.encoding) : encodeUser72(u, this.encoding)));
    return withLength(Buffer.concat(records));
  }

  private templateTable(): Buffer {
    const records: Buffer[] = [];
    for (const [key, data] of this.state.templates) {
      const [uid, index] = key.split(':').map(Number);
      records.push(encodeTemplateRecord({ uid: uid ?? 0, fingerIndex: index ?? 0, valid: 1, data }));
    }
    return withLength(Buffer.concat(records));
  }

  private resetUpload(peer: Peer, size: number | null): void {
    peer.upload = size === null ? null : Buffer.alloc(size);
    peer.uploadReceived = 0;
  }

  /**
   * Many users with their fingers in one buffer (see user-templates.ts). Checked whole before any of
   * it is stored: a finger must belong to a user in the buffer or already on the terminal.
   */
  private saveUserTemplates(upload: Buffer): void {
    const { users, fingers } = decodeUserTemplates(
      upload,
      this.encoding,
      this.oldFirmware ? USER_SIZE_OLD : USER_SIZE_TCP,
    );
    const uids = new Set(users.map((u) => u.uid));
    for (const f of fingers)
      if (!uids.has(f.uid) && !this.state.users.has(f.uid))
        throw new Error(
          `finger ${f.index} for uid ${f.uid}, who is neither in the upload nor on the terminal`,
        );
    if (!this.hasRoomFor(users)) throw new Error(`terminal full: ${this.userCapacity} users`);
    for (const user of users) this.state.upsertUser(user);
    for (const f of fingers) this.state.templates.set(`${f.uid}:${f.index}`, f.data);
  }

  private get userCapacity(): number {
    return this.options.userCapacity ?? 10_000;
  }

  /** Whether writing these users keeps the terminal within its capacity (updates need no room). */
  private hasRoomFor(users: readonly ZkUser[]): boolean {
    const pins = new Set([...this.state.users.values()].map((u) => u.pin));
    const added = new Set(users.map((u) => u.pin).filter((pin) => !pins.has(pin)));
    return pins.size + added.size <= this.userCapacity;
  }

  private startEnrol(peer: Peer, p: ZkPacket, ok: () => void, refuse: () => void): void {
    // TCP: `<24sbb>` user id, finger, 1; UDP: `<Ib>` numeric user id, finger.
    const pin = this.oldFirmware
      ? String(p.data.readUInt32LE(0))
      : p.data.subarray(0, 24).toString('latin1').replace(/\0.*$/s, '');
    const finger = this.oldFirmware ? p.data.readInt8(4) : p.data.readInt8(24);
    const user = this.state.userByPin(pin);
    if (!user || finger < 0 || finger > 9) {
      refuse();
      return;
    }
    ok();
    if (peer.enrolTimer) clearTimeout(peer.enrolTimer);
    peer.enrolTimer = setTimeout(() => {
      peer.enrolTimer = null;
      const template = syntheticTemplate(pin, finger);
      this.state.templates.set(`${user.uid}:${finger}`, template);
      const event = encodeEnrolEvent({
        result: 0,
        size: template.length,
        fingerIndex: finger,
        pin: this.faults.enrolEventPin ?? pin,
      });
      peer.send([this.packet(Cmd.REG_EVENT, Ev.ENROLLFINGER, 0, event)], false);
      this.stats.eventsSent++;
    }, this.options.enrolDelayMs ?? 300);
  }
}

function withLength(records: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(records.length, 0);
  return Buffer.concat([head, records]);
}

/** Stand-in template bytes, stable per worker and finger so tests can compare them. */
function syntheticTemplate(pin: string, finger: number): Buffer {
  const b = Buffer.alloc(512);
  let seed = finger + 1;
  for (const ch of pin) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  for (let i = 0; i < b.length; i++) {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    b[i] = seed >>> 24;
  }
  b.write('SS21', 0, 'latin1');
  return b;
}

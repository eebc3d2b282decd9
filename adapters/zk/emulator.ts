import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { ClockSource } from '../../gateway/model';
import { systemClock } from '../../lib/clock';
import { Cmd, EVENT_REPLY_ID, Ev } from './constants';
import { TcpDeframer } from './deframer';
import { BULK_COMMANDS } from './emulator-bulk';
import {
  type BulkMode,
  type CommandTable,
  commandCall,
  type EmulatedTerminal,
  type Peer,
  type ZkEmulatorStats,
} from './emulator-call';
import { DEVICE_COMMANDS } from './emulator-device';
import { ENROL_COMMANDS } from './emulator-enrol';
import { TcpOutput, type ZkFaults } from './emulator-output';
import { PRE_AUTH_COMMANDS } from './emulator-session';
import { type EmulatedPunchInput, type EmulatedUserInput, TerminalState } from './emulator-state';
import { USER_COMMANDS } from './emulator-users';
import { type AttEventSize, encodeAttEvent } from './events';
import { decodeBody, encodeBody, frameTcp, type ZkPacket } from './packet';
import type { ZkAttendance, ZkUser } from './records';
import type { ZkEncoding } from './text';

export type { BulkMode, ZkEmulatorStats } from './emulator-call';
export type { ZkFaults } from './emulator-output';
export type { EmulatedPunchInput, EmulatedUserInput } from './emulator-state';

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

/**
 * Every command an authenticated session may send, by code (docs/protocols/zk.md#commands).
 * A code missing here is answered ACK_UNKNOWN, as firmware does.
 */
const COMMANDS: CommandTable = {
  ...DEVICE_COMMANDS,
  ...BULK_COMMANDS,
  ...USER_COMMANDS,
  ...ENROL_COMMANDS,
};

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
    strayAcks: 0,
    badChecksums: 0,
  };
  private readonly state: TerminalState;
  /** What the command handlers work on. */
  private readonly terminal: EmulatedTerminal;
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
    this.terminal = {
      state: this.state,
      firmware: {
        old: options.udp === true,
        encoding: options.encoding ?? 'gb18030',
        commKey: options.commKey ?? 0,
        mode: options.mode ?? 'chunked',
        ackData: options.ackData,
        userCapacity: options.userCapacity ?? 10_000,
        fingerprintVersion: options.fingerprintVersion ?? 10,
        enrolDelayMs: options.enrolDelayMs ?? 300,
      },
      faults: this.faults,
      stats: this.stats,
      packet: (command, sessionId, replyId, data) => this.packet(command, sessionId, replyId, data),
      serialNumber: () => options.serialNumber ?? `EMU${this.boundPort}`,
    };
  }

  get port(): number {
    return this.boundPort;
  }

  private get oldFirmware(): boolean {
    return this.terminal.firmware.old;
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

  /**
   * A worker punches: the record is logged and every registered session gets an EF_ATTLOG event
   * (docs/protocols/zk.md#real-time-events).
   */
  addPunch(punch: EmulatedPunchInput): ZkAttendance {
    const record = this.state.appendPunch(punch);
    const data = encodeAttEvent(
      { pin: record.pin, verify: record.verify, state: record.state, time: record.time },
      this.options.eventSize ?? (this.oldFirmware ? 12 : 52),
    );
    for (const peer of this.peers) {
      if (peer.eventFlags & Ev.ATTLOG) {
        peer.send([this.packet(Cmd.REG_EVENT, Ev.ATTLOG, EVENT_REPLY_ID, data)], false);
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

  /** docs/protocols/zk.md#framing */
  private packet(command: number, sessionId: number, replyId: number, data?: Uint8Array): Buffer {
    const body = encodeBody(command, sessionId, replyId, data);
    return this.oldFirmware ? body : frameTcp(body);
  }

  private newPeer(id: string, send: Peer['send'], close: () => void): Peer {
    this.nextSession = this.nextSession >= 0xfff0 ? 0x3a00 : this.nextSession + 7;
    const peer: Peer = {
      id,
      sessionId: this.nextSession,
      authed: !this.terminal.firmware.commKey,
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
    // they increment it; the two slips cancel out: docs/protocols/zk.md#checksum.)
    if (!p.checksumOk) this.stats.badChecksums++;
    this.stats.commands++;
    try {
      this.dispatch(peer, p);
    } catch (err) {
      peer.send([this.packet(Cmd.ACK_ERROR, peer.sessionId, p.replyId, Buffer.from(String(err)))]);
    }
  }

  /** A handler that throws is answered ACK_ERROR with the message (see onBody). */
  private dispatch(peer: Peer, p: ZkPacket): void {
    const call = commandCall(this.terminal, peer, p);
    const open = PRE_AUTH_COMMANDS[p.command];
    if (open) {
      open(call);
      return;
    }
    if (!peer.authed) {
      peer.send([call.reply(Cmd.ACK_UNAUTH)]);
      return;
    }
    const handler = COMMANDS[p.command];
    if (handler) handler(call);
    else peer.send([call.reply(Cmd.ACK_UNKNOWN)]);
  }
}

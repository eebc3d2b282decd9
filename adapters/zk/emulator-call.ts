// What a command handler of the emulated terminal sees, and the shape every handler has.
import { Cmd } from './constants';
import type { ZkFaults } from './emulator-output';
import type { TerminalState } from './emulator-state';
import type { ZkPacket } from './packet';
import type { ZkEncoding } from './text';

/** How bulk reads are answered (docs/protocols/zk.md#bulk-reads). */
export type BulkMode = 'single' | 'chunked' | 'ackdata';

export interface ZkEmulatorStats {
  connections: number;
  commands: number;
  eventsSent: number;
  /** Event acknowledgements with the client's session and the events' reply number. */
  eventAcks: number;
  /** ACK_OKs from a client that acknowledge no event (another reply number or session). */
  strayAcks: number;
  badChecksums: number;
}

/** The firmware being emulated: the options with their defaults filled in. */
export interface Firmware {
  /** UDP only, 16-byte attendance, 28-byte users, numeric PINs. */
  readonly old: boolean;
  readonly encoding: ZkEncoding;
  /** 0 = none. */
  readonly commKey: number;
  readonly mode: BulkMode;
  readonly ackData: 'data' | 'all' | undefined;
  readonly userCapacity: number;
  readonly fingerprintVersion: number;
  readonly enrolDelayMs: number;
}

/** The terminal as its command handlers see it. */
export interface EmulatedTerminal {
  readonly state: TerminalState;
  readonly firmware: Firmware;
  readonly faults: ZkFaults;
  readonly stats: ZkEmulatorStats;
  /** A packet as this terminal's transport carries it: a bare body over UDP, framed over TCP. */
  packet(command: number, sessionId: number, replyId: number, data?: Uint8Array): Buffer;
  serialNumber(): string;
}

/** One client's view: a TCP connection or a UDP peer. */
export interface Peer {
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

/** One incoming command, with the ways to answer it. */
export interface CommandCall {
  readonly terminal: EmulatedTerminal;
  readonly peer: Peer;
  readonly packet: ZkPacket;
  /** A packet answering this command: the peer's session, the command's reply number. */
  reply(command: number, data?: Uint8Array): Buffer;
  /** Success: ACK_OK, or ACK_DATA on firmware that answers so. */
  ok(data?: Uint8Array): void;
  /** ACK_ERROR, the terminal's plain refusal. */
  refuse(): void;
}

export type CommandHandler = (call: CommandCall) => void;
/** Command code → handler (docs/protocols/zk.md#commands). */
export type CommandTable = Readonly<Record<number, CommandHandler>>;

export function commandCall(terminal: EmulatedTerminal, peer: Peer, packet: ZkPacket): CommandCall {
  const reply = (command: number, data?: Uint8Array) =>
    terminal.packet(command, peer.sessionId, packet.replyId, data);
  return {
    terminal,
    peer,
    packet,
    reply,
    ok: (data) => peer.send([reply(positiveReply(terminal.firmware, Cmd.ACK_OK, data), data)]),
    refuse: () => peer.send([reply(Cmd.ACK_ERROR)]),
  };
}

/**
 * What a positive reply carrying `data` is sent as: `usual`, or ACK_DATA on firmware that does so
 * (docs/protocols/zk.md#replies).
 */
export function positiveReply(firmware: Firmware, usual: number, data?: Uint8Array): number {
  const { ackData } = firmware;
  if (ackData === 'all' || (ackData === 'data' && data && data.length > 0)) return Cmd.ACK_DATA;
  return usual;
}

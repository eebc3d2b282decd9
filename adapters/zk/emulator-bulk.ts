// Table reads: CMD_DATA_WRRQ prepares a table, CMD_DATA_RDY serves it chunk by chunk, CMD_FREE_DATA ends it.
import { Cmd, Fct, MAX_CHUNK } from './constants';
import { type CommandCall, type CommandTable, type EmulatedTerminal, positiveReply } from './emulator-call';
import type { TerminalState } from './emulator-state';
import { resetUpload } from './emulator-users';
import { encodeTemplateRecord, encodeUser28, encodeUser72 } from './records';

/** Over UDP a table this large cannot go inline in one datagram: old firmware chunks it whatever the mode. */
const UDP_INLINE_LIMIT = 60_000;

/**
 * `<bhii>`: 1, the table's read command, its FCT selector, 0 (docs/protocols/zk.md#bulk-reads).
 * Answered with the whole table inline (`single`), or with its size for DATA_RDY to fetch.
 */
function prepareTable(call: CommandCall): void {
  const { terminal, peer, packet } = call;
  if (packet.data.length < 7) {
    call.refuse();
    return;
  }
  const table = selectTable(terminal, packet.data.readUInt16LE(1), packet.data.readInt32LE(3));
  if (!table) {
    call.refuse();
    return;
  }
  const { firmware } = terminal;
  if (firmware.mode === 'single' && !(firmware.old && table.length > UDP_INLINE_LIMIT)) {
    peer.send([call.reply(positiveReply(firmware, Cmd.DATA, table), table)]);
    return;
  }
  peer.bulk = table;
  const head = Buffer.alloc(9);
  head.writeUInt32LE(table.length, 1);
  peer.send([call.reply(positiveReply(firmware, Cmd.ACK_OK, head), head)]);
}

function selectTable(terminal: EmulatedTerminal, command: number, fct: number): Buffer | null {
  if (command === Cmd.ATTLOG_RRQ) return terminal.state.encodeLogTable(terminal.firmware.old ? 16 : 40);
  if (command === Cmd.USERTEMP_RRQ && fct === Fct.USER) return userTable(terminal);
  if (command === Cmd.DB_RRQ && fct === Fct.FINGERTMP) return templateTable(terminal.state);
  return null;
}

/**
 * `<ii>` start and size of one chunk of the prepared table. `ackdata` firmware answers one
 * ACK_DATA; the others PREPARE_DATA, the data, then ACK_OK, all under the request's reply number.
 */
function serveChunk(call: CommandCall): void {
  const { terminal, peer, packet } = call;
  if (packet.data.length < 8) {
    call.refuse();
    return;
  }
  const start = packet.data.readUInt32LE(0);
  const size = packet.data.readUInt32LE(4);
  // node-zklib asks for a zero-length tail when the size is a multiple of 65,472: firmware stays silent.
  if (size === 0) return;
  const bulk = peer.bulk;
  if (!bulk || start + size > bulk.length || size > MAX_CHUNK) {
    call.refuse();
    return;
  }
  const chunk = bulk.subarray(start, start + size);
  const { firmware } = terminal;
  if (firmware.mode === 'ackdata') {
    peer.send([call.reply(Cmd.ACK_DATA, chunk)]);
    return;
  }
  const prepare = Buffer.alloc(8);
  prepare.writeUInt32LE(size, 0);
  const group = [call.reply(Cmd.PREPARE_DATA, prepare)];
  // Over UDP firmware sends 1 KB data packets; over TCP one packet per chunk.
  const step = firmware.old ? 1024 : size;
  for (let at = 0; at < size; at += step) {
    const data = chunk.subarray(at, Math.min(size, at + step));
    group.push(call.reply(positiveReply(firmware, Cmd.DATA, data), data));
  }
  group.push(call.reply(Cmd.ACK_OK));
  peer.send(group);
}

/** Drops the prepared table and any half-done upload. */
function freeData(call: CommandCall): void {
  call.peer.bulk = null;
  resetUpload(call.peer, null);
  call.ok();
}

/** 72-byte users, or 28-byte ones on old firmware (docs/protocols/zk.md#user-records). */
function userTable({ state, firmware }: EmulatedTerminal): Buffer {
  const records = [...state.users.values()]
    .sort((a, b) => a.uid - b.uid)
    .map((u) => (firmware.old ? encodeUser28(u, firmware.encoding) : encodeUser72(u, firmware.encoding)));
  return withLength(Buffer.concat(records));
}

/** docs/protocols/zk.md#template-records */
function templateTable(state: TerminalState): Buffer {
  const records: Buffer[] = [];
  for (const [key, data] of state.templates) {
    const [uid, index] = key.split(':').map(Number);
    records.push(encodeTemplateRecord({ uid: uid ?? 0, fingerIndex: index ?? 0, valid: 1, data }));
  }
  return withLength(Buffer.concat(records));
}

/** Every table starts with its byte length, u32. */
function withLength(records: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(records.length, 0);
  return Buffer.concat([head, records]);
}

export const BULK_COMMANDS: CommandTable = {
  [Cmd.DATA_WRRQ]: prepareTable,
  [Cmd.DATA_RDY]: serveChunk,
  [Cmd.FREE_DATA]: freeData,
};

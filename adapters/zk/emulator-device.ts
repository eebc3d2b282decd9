// The commands about the terminal itself: its state, settings, counters, clock and log.

import { decodeZkTime, encodeZkTime } from '../../lib/zk-time';
import { Cmd } from './constants';
import type { CommandCall, CommandTable, EmulatedTerminal } from './emulator-call';
import { LOG_CAPACITY } from './emulator-state';

/** Commands that only switch the terminal's mode: nothing in the emulation depends on them. */
function accept(call: CommandCall): void {
  call.ok();
}

function version(call: CommandCall): void {
  call.ok(Buffer.from('Ver 6.60 Emulated\0', 'latin1'));
}

/** `key\0` → `key=value\0` (docs/protocols/zk.md#device-information). */
function readOption(call: CommandCall): void {
  const { terminal, packet } = call;
  const key = packet.data.toString('latin1').replace(/\0.*$/s, '');
  const old = terminal.firmware.old;
  const values: Record<string, string> = {
    '~ZKFPVersion': String(terminal.firmware.fingerprintVersion),
    '~SerialNumber': terminal.serialNumber(),
    '~DeviceName': 'ZK Emulator',
    '~Platform': 'ZEM560_TFT',
    '~ExtendFmt': old ? '0' : '1',
    '~PIN2Width': old ? '5' : '9',
  };
  call.ok(Buffer.from(`${key}=${values[key] ?? ''}\0`, 'latin1'));
}

function freeSizes(call: CommandCall): void {
  call.ok(encodeFreeSizes(call.terminal));
}

/**
 * 20 i32 counters (users at 4, templates at 6, records at 8, capacities from 14) and 3 for faces
 * (docs/protocols/zk.md#device-information). Clients work the record size out from these counts.
 */
function encodeFreeSizes({ state, firmware }: EmulatedTerminal): Buffer {
  const b = Buffer.alloc(92);
  const users = state.users.size;
  const records = state.recordCount();
  const templates = state.templates.size;
  b.writeInt32LE(users, 4 * 4);
  b.writeInt32LE(templates, 6 * 4);
  b.writeInt32LE(records, 8 * 4);
  b.writeInt32LE(users, 12 * 4);
  b.writeInt32LE(10_000, 14 * 4);
  b.writeInt32LE(firmware.userCapacity, 15 * 4);
  b.writeInt32LE(LOG_CAPACITY, 16 * 4);
  b.writeInt32LE(10_000 - templates, 17 * 4);
  b.writeInt32LE(firmware.userCapacity - users, 18 * 4);
  b.writeInt32LE(LOG_CAPACITY - records, 19 * 4);
  return b;
}

/** A u32 ZK time (docs/protocols/zk.md#zk-time). */
function getTime(call: CommandCall): void {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(encodeZkTime(call.terminal.state.wallNow()), 0);
  call.ok(data);
}

/** 4 bytes from pyzk; zkteco-js sends 32 with the value first. */
function setTime(call: CommandCall): void {
  const { data } = call.packet;
  if (data.length < 4) {
    call.refuse();
    return;
  }
  call.terminal.state.setWall(decodeZkTime(data.readUInt32LE(0)));
  call.ok();
}

/** The event flags a session wants, u32 (pyzk) or u16 (docs/protocols/zk.md#real-time-events). */
function registerEvents(call: CommandCall): void {
  const { data } = call.packet;
  call.peer.eventFlags =
    data.length >= 4 ? data.readUInt32LE(0) : data.length >= 2 ? data.readUInt16LE(0) : 0;
  call.ok();
}

function clearLog(call: CommandCall): void {
  call.terminal.state.clearLog();
  call.ok();
}

export const DEVICE_COMMANDS: CommandTable = {
  [Cmd.ENABLEDEVICE]: accept,
  [Cmd.DISABLEDEVICE]: accept,
  [Cmd.REFRESHDATA]: accept,
  [Cmd.STARTVERIFY]: accept,
  [Cmd.GET_VERSION]: version,
  [Cmd.OPTIONS_RRQ]: readOption,
  [Cmd.GET_FREE_SIZES]: freeSizes,
  [Cmd.GET_TIME]: getTime,
  [Cmd.SET_TIME]: setTime,
  [Cmd.REG_EVENT]: registerEvents,
  [Cmd.CLEAR_ATTLOG]: clearLog,
};

// Writes to the terminal's users and templates: one at a time, or many in one uploaded buffer.
import { Cmd } from './constants';
import type { CommandCall, CommandTable, EmulatedTerminal, Peer } from './emulator-call';
import { decodeUser28, decodeUser72, USER_SIZE_OLD, USER_SIZE_TCP, type ZkUser } from './records';
import { decodeUserTemplates } from './user-templates';

/** Largest upload the emulated terminal takes (a few thousand users with templates). */
const MAX_UPLOAD = 16 * 1024 * 1024;

/** One user record, 72 bytes or 28 on old firmware (docs/protocols/zk.md#user-records). */
function writeUser(call: CommandCall): void {
  const { terminal } = call;
  const user = decodeUser(terminal, call.packet.data);
  if (!hasRoomFor(terminal, [user])) {
    call.refuse();
    return;
  }
  terminal.state.upsertUser(user);
  call.ok();
}

/** `<H>` uid; the user's templates go with it. */
function deleteUser(call: CommandCall): void {
  const { data } = call.packet;
  if (data.length < 2) {
    call.refuse();
    return;
  }
  call.terminal.state.deleteUser(data.readUInt16LE(0));
  call.ok();
}

/** `<hb>` uid and finger. */
function deleteTemplate(call: CommandCall): void {
  const { data } = call.packet;
  if (data.length < 3) {
    call.refuse();
    return;
  }
  call.terminal.state.templates.delete(`${data.readUInt16LE(0)}:${data.readInt8(2)}`);
  call.ok();
}

/** `<I>` size of the upload to come (docs/protocols/zk.md#uploads). */
function prepareUpload(call: CommandCall): void {
  const { data } = call.packet;
  const size = data.length >= 4 ? data.readUInt32LE(0) : -1;
  if (size < 0 || size > MAX_UPLOAD) {
    resetUpload(call.peer, null);
    call.refuse();
    return;
  }
  resetUpload(call.peer, size);
  call.ok();
}

/**
 * The next piece of the upload. Data past what PREPARE_DATA announced (or with none prepared) has
 * nowhere to go.
 */
function receiveUpload(call: CommandCall): void {
  const { peer } = call;
  const { data } = call.packet;
  const upload = peer.upload;
  if (!upload || peer.uploadReceived + data.length > upload.length) {
    resetUpload(peer, null);
    call.refuse();
    return;
  }
  data.copy(upload, peer.uploadReceived);
  peer.uploadReceived += data.length;
  call.ok();
}

/** Stores the whole upload as users and fingers (docs/protocols/zk.md#uploads). */
function saveUserTemplates(call: CommandCall): void {
  const { peer } = call;
  const { upload, uploadReceived } = peer;
  resetUpload(peer, null);
  if (!upload || uploadReceived !== upload.length)
    throw new Error(`SAVE_USERTEMPS after ${uploadReceived} of ${upload?.length ?? 0} announced bytes`);
  storeUserTemplates(call.terminal, upload);
  call.ok();
}

/**
 * Many users with their fingers in one buffer (see user-templates.ts). Checked whole before any of
 * it is stored: a finger must belong to a user in the buffer or already on the terminal.
 */
function storeUserTemplates(terminal: EmulatedTerminal, upload: Buffer): void {
  const { state, firmware } = terminal;
  const { users, fingers } = decodeUserTemplates(
    upload,
    firmware.encoding,
    firmware.old ? USER_SIZE_OLD : USER_SIZE_TCP,
  );
  const uids = new Set(users.map((u) => u.uid));
  for (const f of fingers)
    if (!uids.has(f.uid) && !state.users.has(f.uid))
      throw new Error(`finger ${f.index} for uid ${f.uid}, who is neither in the upload nor on the terminal`);
  if (!hasRoomFor(terminal, users)) throw new Error(`terminal full: ${firmware.userCapacity} users`);
  for (const user of users) state.upsertUser(user);
  for (const f of fingers) state.templates.set(`${f.uid}:${f.index}`, f.data);
}

function decodeUser({ firmware }: EmulatedTerminal, data: Buffer): ZkUser {
  if (firmware.old) {
    if (data.length < 28) throw new Error(`user record of ${data.length} bytes, 28 expected`);
    return decodeUser28(data, firmware.encoding);
  }
  if (data.length < 72) throw new Error(`user record of ${data.length} bytes, 72 expected`);
  return decodeUser72(data, firmware.encoding);
}

/** Whether writing these users keeps the terminal within its capacity (updates need no room). */
function hasRoomFor({ state, firmware }: EmulatedTerminal, users: readonly ZkUser[]): boolean {
  const pins = new Set([...state.users.values()].map((u) => u.pin));
  const added = new Set(users.map((u) => u.pin).filter((pin) => !pins.has(pin)));
  return pins.size + added.size <= firmware.userCapacity;
}

/** Starts an upload of `size` bytes, or drops the one in progress (null). */
export function resetUpload(peer: Peer, size: number | null): void {
  peer.upload = size === null ? null : Buffer.alloc(size);
  peer.uploadReceived = 0;
}

export const USER_COMMANDS: CommandTable = {
  [Cmd.USER_WRQ]: writeUser,
  [Cmd.DELETE_USER]: deleteUser,
  [Cmd.DELETE_USERTEMP]: deleteTemplate,
  [Cmd.PREPARE_DATA]: prepareUpload,
  [Cmd.DATA]: receiveUpload,
  [Cmd.SAVE_USERTEMPS]: saveUserTemplates,
};

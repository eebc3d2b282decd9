import {
  decodeUser28,
  decodeUser72,
  encodeUser28,
  encodeUser72,
  USER_SIZE_TCP,
  type ZkUser,
} from './records';
import type { ZkEncoding } from './text';

/**
 * The CMD_SAVE_USERTEMPS upload (pyzk's `HR_save_usertemplates`): `<III>` byte lengths of the three
 * sections, then the users (a tag byte 2 + the 72-byte layout, or + the 28-byte one on old firmware),
 * the finger table (8-byte `<bHbI>` entries: tag 2, uid, 0x10 + finger, offset into the template
 * section) and the templates (`<H>` length + bytes). Many users go in one buffer; a user may have no
 * template. docs/protocols/zk.md#uploads
 */
export interface ZkUserTemplates {
  readonly user: ZkUser;
  readonly fingers: readonly ZkFinger[];
}

export interface ZkFinger {
  readonly index: number;
  readonly data: Uint8Array;
}

/** Tag byte before each user record and finger table entry. */
const TAG = 2;
const FINGER_BASE = 0x10;
const HEAD_SIZE = 12;
const ENTRY_SIZE = 8;
/** Longest template the `<H>` length prefix can carry. */
export const MAX_TEMPLATE_BYTES = 0xffff;

/** The `<IHH>` argument of CMD_SAVE_USERTEMPS: head size, 0, finger table entry size. */
export const SAVE_USERTEMPS_ARGS: Buffer = (() => {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(HEAD_SIZE, 0);
  b.writeUInt16LE(0, 4);
  b.writeUInt16LE(ENTRY_SIZE, 6);
  return b;
})();

export type UserRecordSize = 72 | 28;

export function encodeUserTemplates(
  entries: readonly ZkUserTemplates[],
  encoding: ZkEncoding,
  recordSize: UserRecordSize = USER_SIZE_TCP,
): Buffer {
  let fingerCount = 0;
  let fpLen = 0;
  for (const { user, fingers } of entries)
    for (const finger of fingers) {
      if (!Number.isInteger(finger.index) || finger.index < 0 || finger.index > 9)
        throw new Error(`finger index must be 0–9: ${finger.index} (user ${user.pin})`);
      if (finger.data.length === 0 || finger.data.length > MAX_TEMPLATE_BYTES)
        throw new Error(`template of ${finger.data.length} bytes for user ${user.pin}: 1–65,535 allowed`);
      fingerCount++;
      fpLen += 2 + finger.data.length;
    }
  const userLen = entries.length * (1 + recordSize);
  const tableLen = fingerCount * ENTRY_SIZE;
  // One allocation for the whole upload: a slice of 200 workers is ~120 KB.
  const out = Buffer.alloc(HEAD_SIZE + userLen + tableLen + fpLen);
  out.writeUInt32LE(userLen, 0);
  out.writeUInt32LE(tableLen, 4);
  out.writeUInt32LE(fpLen, 8);
  let userAt = HEAD_SIZE;
  let entryAt = HEAD_SIZE + userLen;
  const fpStart = entryAt + tableLen;
  let fpAt = fpStart;
  for (const { user, fingers } of entries) {
    out.writeUInt8(TAG, userAt);
    if (recordSize === USER_SIZE_TCP) {
      encodeUser72(user, encoding, out, userAt + 1);
      // pyzk's repack73 puts 1 in the byte after the card (a pad in the USER_WRQ layout).
      out.writeUInt8(1, userAt + 40);
    } else encodeUser28(user, encoding, out, userAt + 1);
    userAt += 1 + recordSize;
    for (const finger of fingers) {
      out.writeUInt8(TAG, entryAt);
      out.writeUInt16LE(user.uid, entryAt + 1);
      out.writeUInt8(FINGER_BASE + finger.index, entryAt + 3);
      out.writeUInt32LE(fpAt - fpStart, entryAt + 4);
      entryAt += ENTRY_SIZE;
      out.writeUInt16LE(finger.data.length, fpAt);
      out.set(finger.data, fpAt + 2);
      fpAt += 2 + finger.data.length;
    }
  }
  return out;
}

export interface DecodedUserTemplates {
  readonly users: ZkUser[];
  readonly fingers: { readonly uid: number; readonly index: number; readonly data: Buffer }[];
}

/**
 * Reads an upload as firmware must: every length, tag, offset and finger checked before anything
 * is applied, so a malformed buffer is refused whole with a message saying where it is wrong.
 */
export function decodeUserTemplates(
  upload: Buffer,
  encoding: ZkEncoding,
  recordSize: UserRecordSize = USER_SIZE_TCP,
): DecodedUserTemplates {
  if (upload.length < HEAD_SIZE) throw new Error(`upload of ${upload.length} bytes has no 12-byte head`);
  const userLen = upload.readUInt32LE(0);
  const tableLen = upload.readUInt32LE(4);
  const fpLen = upload.readUInt32LE(8);
  const total = HEAD_SIZE + userLen + tableLen + fpLen;
  if (total !== upload.length)
    throw new Error(`upload sections add up to ${total} bytes, ${upload.length} received`);
  const size = 1 + recordSize;
  if (userLen % size !== 0) throw new Error(`user section of ${userLen} bytes is not a multiple of ${size}`);
  if (tableLen % ENTRY_SIZE !== 0)
    throw new Error(`finger table of ${tableLen} bytes is not a multiple of ${ENTRY_SIZE}`);
  const users: ZkUser[] = [];
  for (let at = HEAD_SIZE; at < HEAD_SIZE + userLen; at += size) {
    const tag = upload.readUInt8(at);
    if (tag !== TAG) throw new Error(`user record at ${at} has tag ${tag}, ${TAG} expected`);
    const record = upload.subarray(at + 1, at + size);
    users.push(
      recordSize === USER_SIZE_TCP ? decodeUser72(record, encoding) : decodeUser28(record, encoding),
    );
  }
  const tableStart = HEAD_SIZE + userLen;
  const fps = upload.subarray(tableStart + tableLen);
  const fingers: DecodedUserTemplates['fingers'] = [];
  for (let at = tableStart; at < tableStart + tableLen; at += ENTRY_SIZE) {
    const tag = upload.readUInt8(at);
    if (tag !== TAG) throw new Error(`finger entry at ${at} has tag ${tag}, ${TAG} expected`);
    const uid = upload.readUInt16LE(at + 1);
    const index = upload.readUInt8(at + 3) - FINGER_BASE;
    const offset = upload.readUInt32LE(at + 4);
    if (index < 0 || index > 9) throw new Error(`finger entry at ${at} names finger ${index}`);
    if (offset + 2 > fps.length)
      throw new Error(`finger entry at ${at} points at ${offset}, past the ${fps.length}-byte templates`);
    const length = fps.readUInt16LE(offset);
    if (length === 0 || offset + 2 + length > fps.length)
      throw new Error(`template at ${offset} claims ${length} bytes, ${fps.length - offset - 2} left`);
    fingers.push({ uid, index, data: Buffer.from(fps.subarray(offset + 2, offset + 2 + length)) });
  }
  return { users, fingers };
}

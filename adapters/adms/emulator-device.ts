import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { utcMsToWall } from '../../lib/wall-clock';
import type { AdmsCommand } from './commands';
import type { AdmsPhoto, AdmsTemplate, AdmsUser, AttlogRecord } from './records';
import { decodeZkTime } from './zk-time';

/** What running one command produced: its Return code, and any records to upload before the result. */
export interface Execution {
  readonly returnCode: number;
  readonly upload?: { readonly table: string; readonly records: UploadRecord[] };
}

export type UploadRecord =
  | { readonly kind: 'user'; readonly user: AdmsUser }
  | { readonly kind: 'template'; readonly template: AdmsTemplate }
  | { readonly kind: 'photo'; readonly photo: AdmsPhoto };

export const RETURN_USER_UNKNOWN = -10;
export const RETURN_BAD_DATA = -11;
export const RETURN_UNSUPPORTED = -1002;
/** The visible-light face algorithm version the emulated face terminal reports. */
export const EMULATED_FACE_VERSION = 39;

/** A ZKTeco face terminal's memory: users, templates, photos, its attendance log and its clock. */
export class EmulatedAdmsDevice {
  readonly users = new Map<string, AdmsUser>();
  /** pin → finger index → base64 template. */
  readonly fingerprints = new Map<string, Map<number, string>>();
  readonly faces = new Map<string, AdmsTemplate>();
  /** pin → base64 JPEG. */
  readonly photos = new Map<string, string>();
  readonly log: Array<{ readonly stamp: number; readonly record: AttlogRecord }> = [];
  /** With a camera, each punch also leaves a photo here, under the punch's stamp. */
  readonly attendancePhotos: Array<{
    readonly stamp: number;
    readonly pin: string;
    readonly wall: string;
    readonly jpeg: Buffer;
  }> = [];
  camera = false;
  /** Device clock minus real time. */
  clockOffsetMs = 0;
  private nextStamp = 1;

  constructor(
    readonly timezone: string,
    private readonly now: () => number,
  ) {}

  wallClock(): string {
    return utcMsToWall(this.now() + this.clockOffsetMs, this.timezone);
  }

  punch(pin: string, options: { status?: number; verify?: number; wall?: string } = {}): AttlogRecord {
    const record: AttlogRecord = {
      pin,
      wall: options.wall ?? this.wallClock(),
      status: options.status ?? 0,
      verify: options.verify ?? 15,
      workcode: '0',
    };
    const stamp = this.nextStamp++;
    this.log.push({ stamp, record });
    if (this.camera)
      this.attendancePhotos.push({ stamp, pin, wall: record.wall, jpeg: fakeJpeg(`punch:${stamp}:${pin}`) });
    return record;
  }

  execute(command: AdmsCommand): Execution {
    switch (command.type) {
      case 'user-update':
        this.users.set(command.user.pin, command.user);
        return { returnCode: 0 };
      case 'user-delete':
        this.users.delete(command.pin);
        this.fingerprints.delete(command.pin);
        this.faces.delete(command.pin);
        this.photos.delete(command.pin);
        return { returnCode: 0 };
      case 'fp-update': {
        if (!this.users.has(command.pin)) return { returnCode: RETURN_USER_UNKNOWN };
        if (!isBase64(command.base64)) return { returnCode: RETURN_BAD_DATA };
        const fingers = this.fingerprints.get(command.pin) ?? new Map<number, string>();
        fingers.set(command.fid, command.base64);
        this.fingerprints.set(command.pin, fingers);
        return { returnCode: 0 };
      }
      case 'biodata-update': {
        if (!this.users.has(command.pin)) return { returnCode: RETURN_USER_UNKNOWN };
        if (!isBase64(command.base64)) return { returnCode: RETURN_BAD_DATA };
        if (command.bioType === 1) {
          const fingers = this.fingerprints.get(command.pin) ?? new Map<number, string>();
          fingers.set(command.index, command.base64);
          this.fingerprints.set(command.pin, fingers);
        } else {
          this.faces.set(command.pin, {
            pin: command.pin,
            type: command.bioType,
            index: 0,
            majorVer: command.majorVer,
            valid: true,
            base64: command.base64,
          });
        }
        return { returnCode: 0 };
      }
      case 'photo-update':
        if (!this.users.has(command.pin)) return { returnCode: RETURN_USER_UNKNOWN };
        if (!isBase64(command.base64)) return { returnCode: RETURN_BAD_DATA };
        this.photos.set(command.pin, command.base64);
        return { returnCode: 0 };
      case 'enroll-fp': {
        if (!this.users.has(command.pin)) return { returnCode: RETURN_USER_UNKNOWN };
        const base64 = synthetic(`fp:${command.pin}:${command.fid}`, 512);
        const fingers = this.fingerprints.get(command.pin) ?? new Map<number, string>();
        fingers.set(command.fid, base64);
        this.fingerprints.set(command.pin, fingers);
        return {
          returnCode: 0,
          upload: {
            table: 'OPERLOG',
            records: [
              {
                kind: 'template',
                template: {
                  pin: command.pin,
                  type: 1,
                  index: command.fid,
                  majorVer: 10,
                  valid: true,
                  base64,
                },
              },
            ],
          },
        };
      }
      case 'enroll-bio': {
        if (!this.users.has(command.pin)) return { returnCode: RETURN_USER_UNKNOWN };
        const face: AdmsTemplate = {
          pin: command.pin,
          type: command.bioType,
          index: 0,
          majorVer: EMULATED_FACE_VERSION,
          valid: true,
          base64: synthetic(`face:${command.pin}`, 1024),
        };
        const photo = fakeJpeg(command.pin).toString('base64');
        this.faces.set(command.pin, face);
        this.photos.set(command.pin, photo);
        return {
          returnCode: 0,
          upload: {
            table: 'OPERLOG',
            records: [
              { kind: 'photo', photo: { pin: command.pin, type: command.bioType, base64: photo } },
              { kind: 'template', template: face },
            ],
          },
        };
      }
      case 'set-time': {
        const wall = decodeZkTime(command.zkTime);
        const target = DateTime.fromISO(wall, { zone: this.timezone });
        if (!target.isValid) return { returnCode: RETURN_BAD_DATA };
        this.clockOffsetMs = target.toMillis() - this.now();
        return { returnCode: 0 };
      }
      case 'query':
        return this.query(command.table, command.pin);
      case 'check':
        return { returnCode: 0 };
      case 'raw':
        return { returnCode: RETURN_UNSUPPORTED };
    }
  }

  private query(table: 'USERINFO' | 'FINGERTMP' | 'BIOPHOTO', pin?: string): Execution {
    const records: UploadRecord[] = [];
    if (table === 'USERINFO') {
      for (const user of this.users.values())
        if (pin === undefined || user.pin === pin) records.push({ kind: 'user', user });
    } else if (table === 'FINGERTMP') {
      for (const [owner, fingers] of this.fingerprints) {
        if (pin !== undefined && owner !== pin) continue;
        for (const [index, base64] of fingers)
          records.push({
            kind: 'template',
            template: { pin: owner, type: 1, index, majorVer: 10, valid: true, base64 },
          });
      }
    } else {
      for (const [owner, base64] of this.photos)
        if (pin === undefined || owner === pin)
          records.push({ kind: 'photo', photo: { pin: owner, type: 9, base64 } });
    }
    return { returnCode: records.length, upload: { table, records } };
  }
}

function isBase64(text: string): boolean {
  return text.length > 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

/** Deterministic template bytes, so a test can tell one enrolment from another. */
function synthetic(seed: string, size: number): string {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out.toString('base64');
}

/** A JPEG's start-of-image and JFIF marker, then filler: enough for anything that sniffs the type. */
function fakeJpeg(pin: string): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]),
    Buffer.from(synthetic(`photo:${pin}`, 2048), 'base64'),
    Buffer.from([0xff, 0xd9]),
  ]);
}

import { DateTime } from 'luxon';
import type { ClockSource } from '../../gateway/model';
import { decodeZkTime, encodeZkTime, parseWall } from '../../lib/zk-time';
import type { ZkAttendance, ZkUser } from './records';

/** What an emulated terminal holds: users, templates, the attendance log and its clock. */
export interface EmulatedUserInput {
  readonly pin: string;
  readonly name: string;
  readonly card?: number;
  readonly password?: string;
  readonly privilege?: number;
}

export interface EmulatedPunchInput {
  readonly pin: string;
  /** Wall time; default: the emulated clock now. */
  readonly time?: string;
  readonly verify?: number;
  readonly state?: number;
}

export const LOG_CAPACITY = 200_000;

/** One log entry, with the time kept as ZK seconds so 200,000 of them stay cheap. */
interface LogEntry {
  readonly uid: number;
  readonly pin: string;
  readonly zkTime: number;
  readonly verify: number;
  readonly state: number;
}

const VERIFY_CYCLE = [1, 15, 2, 0, 1, 1, 15];

/** Wall-clock arithmetic without a zone: a wall time read as if it were UTC. */
function wallToFakeMs(wall: string): number {
  const p = parseWall(wall);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}
function fakeMsToWall(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export class TerminalState {
  readonly users = new Map<number, ZkUser>();
  /** key `${uid}:${finger}` */
  readonly templates = new Map<string, Buffer>();
  private log: LogEntry[] = [];
  /** Offset of the emulated wall clock from true wall time in the zone, ms (drift and SET_TIME). */
  private clockOffsetMs: number;

  constructor(
    private readonly clock: ClockSource,
    private readonly timeZone: string,
    clockDriftSeconds: number,
  ) {
    this.clockOffsetMs = clockDriftSeconds * 1000;
  }

  seedUsers(users: number | readonly EmulatedUserInput[]): void {
    const list: EmulatedUserInput[] =
      typeof users === 'number'
        ? Array.from({ length: users }, (_, i) => ({
            pin: String(i + 1),
            name: `工人${i + 1}`,
            card: 100_000 + i,
          }))
        : [...users];
    list.forEach((u, i) => {
      this.users.set(i + 1, {
        uid: i + 1,
        pin: u.pin,
        name: u.name,
        card: u.card ?? 0,
        password: u.password ?? '',
        privilege: u.privilege ?? 0,
      });
    });
  }

  /** `count` punches spread over the past, one every 30 s, by the seeded users in turn. */
  seedRecords(records: number | readonly EmulatedPunchInput[]): void {
    if (typeof records !== 'number') {
      for (const r of records) this.appendPunch(r);
      return;
    }
    const count = Math.min(records, LOG_CAPACITY);
    const pins = [...this.users.values()].map((u) => [u.uid, u.pin] as const);
    if (pins.length === 0) pins.push([1, '1']);
    const end = wallToFakeMs(this.wallNow()) - 60_000;
    for (let i = 0; i < count; i++) {
      const [uid, pin] = pins[i % pins.length]!;
      this.log.push({
        uid,
        pin,
        zkTime: encodeZkTime(fakeMsToWall(end - (count - i) * 30_000)),
        verify: VERIFY_CYCLE[i % VERIFY_CYCLE.length]!,
        state: i % 2,
      });
    }
  }

  appendPunch(input: EmulatedPunchInput): ZkAttendance {
    if (this.log.length >= LOG_CAPACITY) throw new Error(`attendance log full (${LOG_CAPACITY} records)`);
    const user = this.userByPin(input.pin);
    const entry: LogEntry = {
      uid: user?.uid ?? 0,
      pin: input.pin,
      zkTime: encodeZkTime(input.time ?? this.wallNow()),
      verify: input.verify ?? 1,
      state: input.state ?? 0,
    };
    this.log.push(entry);
    return toAttendance(entry);
  }

  recordCount(): number {
    return this.log.length;
  }

  attendance(): ZkAttendance[] {
    return this.log.map(toAttendance);
  }

  /**
   * The log as a bulk table (u32 byte length + records), written straight from the entries
   * (docs/protocols/zk.md#attendance-records).
   */
  encodeLogTable(recordSize: 40 | 16): Buffer {
    const table = Buffer.alloc(4 + this.log.length * recordSize);
    table.writeUInt32LE(this.log.length * recordSize, 0);
    let at = 4;
    for (const e of this.log) {
      if (recordSize === 40) {
        table.writeUInt16LE(e.uid & 0xffff, at);
        table.write(e.pin.slice(0, 24), at + 2, 'latin1');
        table.writeUInt8(e.verify, at + 26);
        table.writeUInt32LE(e.zkTime, at + 27);
        table.writeUInt8(e.state, at + 31);
      } else {
        table.writeUInt32LE(Number(e.pin) >>> 0, at);
        table.writeUInt32LE(e.zkTime, at + 4);
        table.writeUInt8(e.verify, at + 8);
        table.writeUInt8(e.state, at + 9);
      }
      at += recordSize;
    }
    return table;
  }

  clearLog(): void {
    this.log = [];
  }

  userByPin(pin: string): ZkUser | undefined {
    for (const u of this.users.values()) if (u.pin === pin) return u;
    return undefined;
  }

  upsertUser(user: ZkUser): void {
    for (const [uid, u] of this.users) if (u.pin === user.pin && uid !== user.uid) this.users.delete(uid);
    this.users.set(user.uid, user);
  }

  deleteUser(uid: number): void {
    this.users.delete(uid);
    for (const key of [...this.templates.keys()]) if (key.startsWith(`${uid}:`)) this.templates.delete(key);
  }

  /** The emulated terminal's wall clock now. */
  wallNow(): string {
    const now = this.clock.now();
    const zoneOffsetMin = DateTime.fromMillis(now, { zone: this.timeZone }).offset;
    return fakeMsToWall(now + zoneOffsetMin * 60_000 + this.clockOffsetMs);
  }

  setWall(wall: string): void {
    const now = this.clock.now();
    const zoneOffsetMin = DateTime.fromMillis(now, { zone: this.timeZone }).offset;
    this.clockOffsetMs = wallToFakeMs(wall) - (now + zoneOffsetMin * 60_000);
  }

  /** Seconds the emulated clock is ahead of true time (for assertions). */
  clockOffsetSeconds(): number {
    return Math.round(this.clockOffsetMs / 1000);
  }
}

function toAttendance(e: LogEntry): ZkAttendance {
  return { uid: e.uid, pin: e.pin, time: decodeZkTime(e.zkTime), verify: e.verify, state: e.state };
}

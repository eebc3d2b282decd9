import type { PunchBatch, PunchCursor, RawPunch } from '../../gateway/model';
import { AttendanceStream } from './attendance-stream';
import type { ZkConnection } from './connection';
import { Cmd } from './constants';
import { type CatchUpPlan, catchUpPlan, parseZkCursor, type ZkCursor } from './cursor';
import { type PunchActivity, toRawPunch } from './punches';
import { splitTable, type ZkAttendance } from './records';
import { READ_ATTENDANCE } from './requests';

type HandOverTarget = (punches: readonly RawPunch[]) => Promise<void>;

/**
 * Reading the terminal's attendance log from a cursor, and clearing a log already journaled.
 * ZK has no "read since" for the log: a read downloads the whole table, but only when
 * GET_FREE_SIZES shows a record count other than the cursor's.
 */
export class ZkCatchUp {
  constructor(
    private readonly connection: ZkConnection,
    private readonly activity: PunchActivity,
  ) {}

  /**
   * With `onPunches`, punches go to it chunk by chunk while the rest of the log is still being
   * downloaded, called in log order without waiting for the previous call (the journal keeps call
   * order, so its fsync overlaps the next chunk); the batch returned holds only what was not handed
   * over. Every call is settled before this returns; the first failure is thrown then, and no call
   * is made after it.
   */
  async readPunchesSince(cursor: PunchCursor | null, onPunches?: HandOverTarget): Promise<PunchBatch> {
    const connection = this.connection;
    await connection.flushRefresh();
    const previous = parseZkCursor(cursor);
    const sizes = await connection.readSizes();
    if (previous && sizes.records === previous.records) {
      // Same count: nothing new. (A clear and refill to exactly the same count is caught by the anchor on the next change.)
      return { punches: [], cursor: previous };
    }
    const stream = this.attendanceStream(sizes.records);
    const handOver = onPunches ? new ChunkHandOver(stream, previous, connection.config.id, onPunches) : null;
    /** What the last feed decoded: the whole log, or only what was not streamed. */
    let rest: ZkAttendance[];
    try {
      rest = await this.readAttendanceInto(stream, handOver?.onChunk);
    } finally {
      // Never leave a hand-over running behind a failed read.
      await handOver?.settled();
    }
    handOver?.throwFirstFailure();
    const count = stream.decoded;
    const restStart = count - rest.length;
    const { from, reset, anchor } = handOver?.plan ?? catchUpPlan(previous, count, stream.first);
    if (reset)
      connection.log.warn(
        { before: previous?.records, now: count },
        'zk log shrank or changed: reading from the start',
      );
    const punches = toRawPunches(connection.config.id, rest, Math.max(0, from - restStart));
    if (count > from && stream.last) this.activity.lastPunch = stream.last.time;
    const next: ZkCursor = { records: count, anchor };
    return { punches, cursor: next, ...(reset ? { cursorReset: true } : {}) };
  }

  /**
   * Clears the terminal's log, only when `clearLogAfterJournal` is on and the log still holds
   * exactly the records up to `cursor` (all journaled). The device is disabled meanwhile, so no
   * punch can land between the count check and the clear. Returns the cursor to store next, or
   * null when nothing was cleared.
   */
  async clearJournaledLog(cursor: PunchCursor): Promise<PunchCursor | null> {
    const connection = this.connection;
    if (!connection.config.clearLogAfterJournal) return null;
    const journaled = parseZkCursor(cursor);
    if (!journaled || journaled.records === 0) return null;
    await connection.expectOk(Cmd.DISABLEDEVICE, Buffer.alloc(4));
    try {
      const sizes = await connection.readSizes();
      if (sizes.records !== journaled.records) return null;
      await connection.expectOk(Cmd.CLEAR_ATTLOG);
      await connection.expectOk(Cmd.REFRESHDATA);
      connection.log.info({ cleared: journaled.records }, 'cleared journaled punches from the terminal log');
      const empty: ZkCursor = { records: 0, anchor: null };
      return empty;
    } finally {
      await connection
        .expectOk(Cmd.ENABLEDEVICE)
        .catch((err: Error) =>
          connection.log.error(
            { err: err.message },
            'could not re-enable the terminal after clearing its log',
          ),
        );
    }
  }

  private attendanceStream(expectedCount: number): AttendanceStream {
    return new AttendanceStream(expectedCount, this.connection.oldFirmware ? [16, 40] : [40, 16]);
  }

  /** Reads the table into `stream`; returns what the final feed decoded (all of it, when nothing was fed before). */
  private async readAttendanceInto(
    stream: AttendanceStream,
    onChunk?: (got: number, total: number, filled: Buffer) => void,
  ): Promise<ZkAttendance[]> {
    const buffer = await this.connection.run('read attendance', (s) =>
      s.readBuffer(READ_ATTENDANCE, 'attendance log', onChunk),
    );
    // Checks the byte count announced against what arrived (a short table throws).
    splitTable(buffer, 'attendance log');
    return stream.feed(buffer, buffer.length);
  }
}

/**
 * Hands a download's records over chunk by chunk (readPunchesSince with `onPunches`): each call
 * starts without waiting for the previous one, the first failure is kept, and no call is made
 * after it. Works once per chunk; the per-record work is `toRawPunches`.
 */
class ChunkHandOver {
  /** Known from the first chunk that holds record 0. */
  plan: CatchUpPlan | null = null;
  private readonly deliveries: Promise<void>[] = [];
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly stream: AttendanceStream,
    private readonly previous: ZkCursor | null,
    private readonly terminalId: string,
    private readonly target: HandOverTarget,
  ) {}

  /** The session's progress callback: `filled` holds the table up to `got` bytes. */
  readonly onChunk = (got: number, _total: number, filled: Buffer): void => {
    const stream = this.stream;
    const start = stream.decoded;
    const fresh = stream.feed(filled, got);
    if (!stream.first) return;
    this.plan ??= catchUpPlan(this.previous, stream.total, stream.first);
    const punches = toRawPunches(this.terminalId, fresh, Math.max(0, this.plan.from - start));
    if (punches.length === 0 || this.failure) return;
    try {
      this.deliveries.push(this.target(punches).catch(this.noteFailure));
    } catch (error) {
      this.noteFailure(error);
    }
  };

  private readonly noteFailure = (error: unknown): void => {
    this.failure ??= { error };
  };

  /** Resolves once every call has settled, failed or not. */
  async settled(): Promise<void> {
    await Promise.all(this.deliveries);
  }

  throwFirstFailure(): void {
    if (this.failure) throw this.failure.error;
  }
}

/** Runs for every record of a download: one object each, no closure, no await. */
function toRawPunches(terminalId: string, records: readonly ZkAttendance[], from: number): RawPunch[] {
  const out: RawPunch[] = new Array(Math.max(0, records.length - from));
  for (let i = from; i < records.length; i++)
    out[i - from] = toRawPunch(terminalId, records[i] as ZkAttendance, 'poll');
  return out;
}

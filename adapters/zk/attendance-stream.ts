import { decodeAttendance16, decodeAttendance40, type ZkAttendance } from './records';

/**
 * Decodes the attendance table (a u32 byte count, then 40- or 16-byte records) while it is still
 * arriving: each feed decodes the whole records within the bytes received so far and returns only
 * those, and a record cut by a chunk boundary waits for the next feed. Only the first and the newest
 * record are kept, so a streamed 100,000-record log is not held in memory twice.
 */
export class AttendanceStream {
  /** Record 0, once decoded. */
  first: ZkAttendance | undefined;
  /** The newest record decoded so far. */
  last: ZkAttendance | undefined;
  /** Records decoded so far. */
  decoded = 0;
  private size = 0;
  private count = 0;

  constructor(
    private readonly expectedCount: number,
    private readonly candidates: readonly number[],
  ) {}

  /** Records in the table, once its header has arrived (0 before). */
  get total(): number {
    return this.count;
  }

  /** The records the first `got` bytes of `table` newly complete, from index `decoded` (before the call) on. */
  feed(table: Buffer, got: number): ZkAttendance[] {
    if (got < 4) return [];
    if (this.size === 0) {
      const declared = table.readUInt32LE(0);
      this.size = recordSize(declared, this.expectedCount, this.candidates);
      this.count = Math.floor(declared / this.size);
    }
    const size = this.size;
    const start = this.decoded;
    const complete = Math.max(start, Math.min(this.count, Math.floor((got - 4) / size)));
    const decode = size === 40 ? decodeAttendance40 : decodeAttendance16;
    const out: ZkAttendance[] = new Array(complete - start);
    for (let i = start; i < complete; i++) out[i - start] = decode(table, 4 + i * size);
    if (start === 0 && out.length > 0) this.first = out[0];
    if (out.length > 0) this.last = out[out.length - 1];
    this.decoded = complete;
    return out;
  }
}

/**
 * Works out the record size as pyzk does: table bytes / count, else the first size that divides it
 * (docs/protocols/zk.md#attendance-records).
 */
export function recordSize(declared: number, count: number, candidates: readonly number[]): number {
  if (count > 0 && candidates.includes(declared / count)) return declared / count;
  return candidates.find((size) => declared % size === 0) ?? (candidates[0] as number);
}

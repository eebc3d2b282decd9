import { open } from 'node:fs/promises';
import type { Punch } from '../model';
import type { PunchJournal, Segment } from './journal';
import { parseJournalLine } from './journal-line';

const CHUNK_BYTES = 256 * 1024;

/**
 * Reads the journal forward from a position without holding it in memory: a window of parsed
 * punches plus a byte offset into the current segment. Each outbox owns one, so re-reading after a
 * failed delivery costs nothing and moving on costs one sequential read per megabyte.
 */
export class JournalReader {
  private buffer: Punch[] = [];
  private segmentFirstSeq: number | undefined;
  private offset = 0;

  /** @param afterSeq the last sequence number already consumed (a committed cursor). */
  constructor(
    private readonly journal: PunchJournal,
    private afterSeq: number,
  ) {}

  /** Up to `max` durable punches after the position, without consuming them. */
  async peek(max: number): Promise<Punch[]> {
    if (this.buffer.length < max) await this.fill(Math.max(max, 512));
    return this.buffer.slice(0, max);
  }

  /** Consumes every punch up to and including `seq`. */
  advance(seq: number): void {
    if (seq <= this.afterSeq) return;
    this.afterSeq = seq;
    let drop = 0;
    while (drop < this.buffer.length && this.buffer[drop]!.seq <= seq) drop++;
    this.buffer.splice(0, drop);
  }

  get position(): number {
    return this.afterSeq;
  }

  private async fill(want: number): Promise<void> {
    const lastBuffered = this.buffer.at(-1)?.seq ?? this.afterSeq;
    if (lastBuffered >= this.journal.lastSeq) return;
    let segment = this.currentSegment(lastBuffered);
    while (segment && this.buffer.length < want) {
      if (this.offset >= segment.durableBytes) {
        const next = this.journal.segmentList.find((s) => s.firstSeq > segment!.firstSeq);
        if (!next) return;
        segment = next;
        this.segmentFirstSeq = next.firstSeq;
        this.offset = 0;
        continue;
      }
      const read = await readLines(segment, this.offset);
      if (read === null) {
        // Retired under us (retention): nothing in it was still needed by this reader.
        this.offset = segment.durableBytes;
        continue;
      }
      this.offset += read.consumed;
      for (const line of read.lines) {
        const punch = parseJournalLine(line);
        if (!punch) {
          this.journal.noteCorrupt(segment.file, line);
          continue;
        }
        if (punch.seq > lastBuffered && punch.seq > this.afterSeq) this.buffer.push(punch);
      }
    }
  }

  /** Finds the segment and offset to continue from, seeking from the start of a segment if needed. */
  private currentSegment(afterSeq: number): Segment | undefined {
    const segments = this.journal.segmentList;
    if (this.segmentFirstSeq !== undefined) {
      const same = segments.find((s) => s.firstSeq === this.segmentFirstSeq);
      if (same) return same;
    }
    let chosen: Segment | undefined;
    for (const s of segments) if (s.firstSeq <= afterSeq + 1) chosen = s;
    chosen ??= segments[0];
    this.segmentFirstSeq = chosen?.firstSeq;
    this.offset = 0;
    return chosen;
  }
}

/** Reads whole lines from `offset` up to the segment's durable end. */
export async function readLines(
  segment: Segment,
  offset: number,
  chunkBytes = CHUNK_BYTES,
): Promise<{ lines: string[]; consumed: number } | null> {
  const length = Math.min(chunkBytes, segment.durableBytes - offset);
  if (length <= 0) return { lines: [], consumed: 0 };
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(segment.file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const chunk = Buffer.alloc(length);
    const { bytesRead } = await handle.read(chunk, 0, length, offset);
    const end = chunk.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
    if (end === 0) {
      // A single line longer than the chunk cannot be a punch; step over it rather than stall.
      const skip = bytesRead;
      return { lines: [chunk.subarray(0, Math.min(skip, 200)).toString('utf8')], consumed: skip };
    }
    const text = chunk.subarray(0, end).toString('utf8');
    const lines = text.split('\n');
    lines.pop();
    return { lines, consumed: end };
  } finally {
    await handle.close();
  }
}

/** Visits every durable punch in segments accepted by `include`, oldest first (start-up scans, queries). */
export async function scanJournal(
  journal: PunchJournal,
  visit: (punch: Punch) => void,
  include: (segment: Segment) => boolean | Promise<boolean> = () => true,
): Promise<void> {
  for (const segment of [...journal.segmentList]) {
    if (!(await include(segment))) continue;
    let offset = 0;
    while (offset < segment.durableBytes) {
      const read = await readLines(segment, offset);
      if (!read || read.consumed === 0) break;
      offset += read.consumed;
      for (const line of read.lines) {
        const punch = parseJournalLine(line);
        if (punch) visit(punch);
        else journal.noteCorrupt(segment.file, line);
      }
    }
  }
}

import type { Punch } from '../model';
import type { PunchJournal } from './journal';
import { parseJournalLine, peekSeqAndTime, type SeqAndTime } from './journal-line';
import { forEachLine, readLines, type Segment } from './journal-segment';

export { readLines } from './journal-segment';

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
      this.journal.noteRead(segment.file, read.consumed);
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
      journal.noteRead(segment.file, read.consumed);
      for (const line of read.lines) {
        const punch = parseJournalLine(line);
        if (punch) visit(punch);
        else journal.noteCorrupt(segment.file, line);
      }
    }
  }
}

/**
 * Visits every durable punch whose punch time is at or after `sinceMs`, oldest segment first. Reads
 * only the segments whose index says they hold one, and parses only those lines: the others are
 * passed over by the time read from their bytes (start-up's de-duplication load).
 */
export async function scanPunchesSince(
  journal: PunchJournal,
  sinceMs: number,
  visit: (punch: Punch) => void,
): Promise<void> {
  const seen: SeqAndTime = { seq: 0, atMs: 0 };
  for (const segment of [...journal.segmentList]) {
    if (!(segment.maxAtMs >= sinceMs)) continue;
    const bytes = await forEachLine(segment, (buffer, start, end) => {
      if (peekSeqAndTime(buffer, start, end, seen) && seen.atMs < sinceMs) return;
      const line = buffer.toString('utf8', start, end);
      const punch = parseJournalLine(line);
      if (!punch) journal.noteCorrupt(segment.file, line);
      else if (punch.atMs >= sinceMs) visit(punch);
    });
    journal.noteRead(segment.file, bytes);
  }
}

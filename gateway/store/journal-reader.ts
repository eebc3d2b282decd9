import type { Punch } from '../model';
import type { PunchJournal } from './journal';
import { JournalLineDecoder, parseJournalLine, peekSeqAndTime, type SeqAndTime } from './journal-line';
import { forEachLine, readLineBytes, type Segment } from './journal-segment';

/** Bytes read from a segment at once (about 1,300 punches). */
const CHUNK_BYTES = 256 * 1024;

/** Lines read from a segment and not decoded yet: `bytes[at, end)`, each line ending with its newline. */
interface PendingLines {
  readonly file: string;
  readonly bytes: Buffer;
  readonly end: number;
  at: number;
}

/**
 * Reads the journal forward from a position without holding it in memory: a window of parsed
 * punches plus a byte offset into the current segment. Each outbox owns one, so re-reading after a
 * failed delivery costs nothing and moving on costs one sequential read per 256 KiB.
 *
 * Lines are decoded from the bytes (`JournalLineDecoder`) only as punches are asked for, not a whole
 * read at once: an outbox's read-ahead then decodes about one batch while each batch is out, in the
 * wait for the platform, and its next batch never waits for a file read while punches are at hand.
 */
export class JournalReader {
  /** Punches decoded; those before `head` are consumed (dropped in bulk, not one batch at a time). */
  private buffer: Punch[] = [];
  private head = 0;
  private segmentFirstSeq: number | undefined;
  /** Where the next read starts in the current segment (past the bytes of `pending`). */
  private offset = 0;
  private pending: PendingLines | undefined;
  /** The read buffer while a backlog is read; a reader that has caught up keeps none. */
  private chunk: Buffer | undefined;
  private readonly decoder = new JournalLineDecoder();
  /** The file read in progress; resolves false at the journal's durable end. One at a time: it fills `chunk`. */
  private reading: Promise<boolean> | undefined;

  /** @param afterSeq the last sequence number already consumed (a committed cursor). */
  constructor(
    private readonly journal: PunchJournal,
    private afterSeq: number,
  ) {}

  /** Up to `max` durable punches after the position, without consuming them. */
  async peek(max: number): Promise<Punch[]> {
    await this.prefetch(max);
    return this.buffer.slice(this.head, this.head + max);
  }

  /**
   * Resolves once `max` punches after the position are decoded (or the journal's durable end is
   * reached). What is already read is decoded before this returns its promise; a file read, when one
   * is needed, runs on after it. An outbox calls it while a batch is out, so the next peek finds the
   * punches ready.
   */
  async prefetch(max: number): Promise<void> {
    for (;;) {
      this.decodePending(max);
      if (this.buffer.length - this.head >= max) return;
      this.reading ??= this.readNext().finally(() => {
        this.reading = undefined;
      });
      if (!(await this.reading)) return;
    }
  }

  /** Consumes every punch up to and including `seq`. */
  advance(seq: number): void {
    if (seq <= this.afterSeq) return;
    this.afterSeq = seq;
    const buffer = this.buffer;
    while (this.head < buffer.length && buffer[this.head]!.seq <= seq) this.head++;
    if (this.head === buffer.length) {
      buffer.length = 0;
      this.head = 0;
    } else if (this.head >= 1024) {
      buffer.splice(0, this.head);
      this.head = 0;
    }
  }

  get position(): number {
    return this.afterSeq;
  }

  /** Decodes read lines until `max` punches after the position are at hand or the lines run out. */
  private decodePending(max: number): void {
    const pending = this.pending;
    if (!pending) return;
    const { bytes, end, file } = pending;
    const buffer = this.buffer;
    let last = buffer.length > this.head ? buffer.at(-1)!.seq : this.afterSeq;
    let at = pending.at;
    while (at < end && buffer.length - this.head < max) {
      const newline = bytes.indexOf(0x0a, at);
      const punch = this.decoder.decode(bytes, at, newline);
      if (!punch) this.journal.noteCorrupt(file, bytes.toString('utf8', at, newline));
      else if (punch.seq > last) {
        buffer.push(punch);
        last = punch.seq;
      }
      at = newline + 1;
    }
    pending.at = at;
    if (at >= end) this.pending = undefined;
  }

  /**
   * Reads the next whole lines into `pending` (called only once every read line is decoded, so the
   * one chunk buffer can be read into again). False when there is nothing durable left to read.
   */
  private async readNext(): Promise<boolean> {
    const last = this.buffer.length > this.head ? this.buffer.at(-1)!.seq : this.afterSeq;
    if (last >= this.journal.lastSeq) return false;
    let segment = this.currentSegment(last);
    while (segment) {
      if (this.offset >= segment.durableBytes) {
        const next = this.journal.segmentList.find((s) => s.firstSeq > segment!.firstSeq);
        if (!next) return false;
        segment = next;
        this.segmentFirstSeq = next.firstSeq;
        this.offset = 0;
        continue;
      }
      // A backlog keeps one full-sized buffer; a reader that has caught up reads the few new lines
      // into a small one and lets the big one go (an idle box keeps no read buffers).
      const remaining = segment.durableBytes - this.offset;
      if (remaining < CHUNK_BYTES) this.chunk = undefined;
      else this.chunk ??= Buffer.allocUnsafe(CHUNK_BYTES);
      const chunk = this.chunk ?? Buffer.allocUnsafe(remaining);
      const read = await readLineBytes(segment, this.offset, chunk);
      if (read === null) {
        // Retired under us (retention): nothing in it was still needed by this reader.
        this.offset = segment.durableBytes;
        continue;
      }
      if (read.consumed === 0) return false;
      this.offset += read.consumed;
      this.journal.noteRead(segment.file, read.consumed);
      if (read.lines === 0) {
        // A single line longer than the chunk cannot be a punch; stepped over rather than stall.
        this.journal.noteCorrupt(segment.file, chunk.toString('utf8', 0, Math.min(read.consumed, 200)));
        continue;
      }
      this.pending = { file: segment.file, bytes: chunk, end: read.lines, at: 0 };
      return true;
    }
    return false;
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

import { type FileHandle, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClockSource, Logger, Punch, PunchDraft } from '../model';
import { DATA_DIR_MODE, DATA_FILE_MODE, syncDirectory } from './durable-file';
import { JournalLineEncoder, parseJournalLine, peekSeqAndTime, type SeqAndTime } from './journal-line';
import {
  emptySegment,
  forEachLine,
  INDEX_SUFFIX,
  indexFileOf,
  notePunch,
  readSegmentIndex,
  SEGMENT_NAME,
  type Segment,
  segmentFileName,
  writeSegmentIndex,
} from './journal-segment';

export type { Segment } from './journal-segment';

export interface JournalOptions {
  readonly dir: string;
  readonly segmentMaxBytes: number;
  readonly retentionDays: number;
  readonly clock: ClockSource;
  readonly logger: Logger;
  /**
   * Awaited after a group's bytes are written and before their fdatasync. Tests hold it to keep a
   * write in the window where it is neither durable nor failed, where a crash would lose it.
   */
  readonly beforeSync?: () => Promise<void>;
  /**
   * Told of every read of a segment's content (file, bytes), by the journal and by its readers.
   * Start-up must read only the segments it needs; tests count them through this.
   */
  readonly onSegmentRead?: (file: string, bytes: number) => void;
}

interface PendingAppend {
  readonly drafts: readonly PunchDraft[];
  readonly resolve: (punches: Punch[]) => void;
  readonly reject: (error: Error) => void;
}

const DAY_MS = 86_400_000;
/** How much of the active segment's end is read to check its index against its last line. */
const TAIL_CHECK_BYTES = 64 * 1024;

/**
 * The only place a punch is stored: append-only JSON-lines segment files.
 *
 * An append resolves only after its bytes are fdatasync'd, and concurrent appends share one
 * write and one sync (group commit), so real-time punches from many terminals stay cheap.
 * Each punch costs one line of bytes: nothing is ever rewritten.
 */
export class PunchJournal {
  private segments: Segment[] = [];
  private active: FileHandle | undefined;
  private nextSeq = 1;
  private durableSeq = 0;
  private queue: PendingAppend[] = [];
  private writing = false;
  private closed = false;
  private readonly appendListeners = new Set<(lastSeq: number) => void>();
  /** One group is written at a time, so one encoder serves them all. */
  private readonly lines = new JournalLineEncoder();
  /** Lines that could not be parsed during recovery or reading; reported in health. */
  corruptLines = 0;
  /** Bytes of segment content read since start, by the journal and its readers. */
  bytesRead = 0;

  constructor(private readonly options: JournalOptions) {}

  /**
   * Lists the segments and learns what each holds from its index, reading none of them whole: only
   * the end of the active one, to check its index, or all of it after a crash (torn-tail recovery).
   * A segment without a valid index (written before indexes existed, or by an older version) is
   * read once and indexed.
   */
  async open(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true, mode: DATA_DIR_MODE });
    const names = await readdir(this.options.dir);
    const segmentNames = names.filter((n) => SEGMENT_NAME.test(n)).sort();
    await this.removeLeftovers(names, new Set(segmentNames));
    this.segments = [];
    const unindexed: Segment[] = [];
    for (const [i, name] of segmentNames.entries()) {
      const file = join(this.options.dir, name);
      const segment = emptySegment(Number(SEGMENT_NAME.exec(name)![1]), file);
      const size = (await stat(file)).size;
      segment.durableBytes = size;
      const active = i === segmentNames.length - 1;
      const indexed =
        (await readSegmentIndex(segment, size)) && (!active || (await this.tailAgrees(segment)));
      if (!indexed && active) await this.recoverTail(segment);
      else if (!indexed) unindexed.push(segment);
      this.segments.push(segment);
    }
    if (unindexed.length > 0) await this.indexOldSegments(unindexed);
    const last = this.segments.at(-1);
    if (last) {
      this.durableSeq = last.lastSeq;
      this.nextSeq = this.durableSeq + 1;
      this.active = await open(last.file, 'a', DATA_FILE_MODE);
    }
    this.closed = false;
  }

  /** Counts a read of a segment's content (the journal's own and its readers'). */
  noteRead(file: string, bytes: number): void {
    this.bytesRead += bytes;
    this.options.onSegmentRead?.(file, bytes);
  }

  /** The highest sequence number that is on disk. */
  get lastSeq(): number {
    return this.durableSeq;
  }

  get segmentList(): readonly Segment[] {
    return this.segments;
  }

  /** Appends punches in order; resolves with their sequence numbers once they are durable. */
  append(drafts: readonly PunchDraft[]): Promise<Punch[]> {
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    if (drafts.length === 0) return Promise.resolve([]);
    return new Promise<Punch[]>((resolve, reject) => {
      this.queue.push({ drafts, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  onAppend(listener: (lastSeq: number) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /**
   * Deletes whole segments that every upstream has passed (`ackedSeq`) and whose last write is
   * older than the retention period. The active segment is never deleted.
   */
  async prune(ackedSeq: number): Promise<number> {
    const cutoff = this.options.clock.now() - this.options.retentionDays * DAY_MS;
    let removed = 0;
    while (this.segments.length > 1) {
      const [oldest, next] = this.segments as [Segment, Segment];
      if (next.firstSeq - 1 > ackedSeq) break;
      const info = await stat(oldest.file).catch(() => null);
      if (info && info.mtimeMs > cutoff) break;
      await unlinkIfThere(oldest.file);
      // After the segment: a crash between the two leaves an index without a segment, removed on open.
      await unlinkIfThere(indexFileOf(oldest.file));
      this.segments.shift();
      removed++;
      this.options.logger.info({ file: oldest.file, lastSeq: next.firstSeq - 1 }, 'journal segment retired');
    }
    if (removed > 0) await syncDirectory(this.options.dir);
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.writing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    const wasOpen = this.active !== undefined;
    await this.active?.close();
    this.active = undefined;
    // After a clean stop the next start trusts this index and does not read the active segment whole.
    const last = this.segments.at(-1);
    if (wasOpen && last) await this.writeIndex(last);
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        await this.writeGroup(group);
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeGroup(group: readonly PendingAppend[]): Promise<void> {
    const firstSeq = this.nextSeq;
    const results: Punch[][] = [];
    let seq = firstSeq;
    let minAtMs = Number.POSITIVE_INFINITY;
    let maxAtMs = Number.NEGATIVE_INFINITY;
    try {
      this.lines.clear();
      for (const pending of group) {
        const { drafts } = pending;
        const punches: Punch[] = new Array(drafts.length);
        for (let i = 0; i < drafts.length; i++) {
          const draft = drafts[i]!;
          this.lines.write(draft, seq);
          const atMs = draft.atMs;
          if (atMs < minAtMs) minAtMs = atMs;
          if (atMs > maxAtMs) maxAtMs = atMs;
          punches[i] = withSeq(draft, seq++);
        }
        results.push(punches);
      }
    } catch (error) {
      // Every append must settle: a caller waiting forever would hold a terminal's acknowledgement.
      this.options.logger.error({ error: (error as Error).message }, 'journal: could not encode punches');
      for (const pending of group) pending.reject(error as Error);
      return;
    }
    const bytes = this.lines.bytes;
    try {
      const segment = await this.segmentFor(firstSeq);
      const before = segment.durableBytes;
      try {
        await writeAll(this.active!, bytes);
        if (this.options.beforeSync) await this.options.beforeSync();
        await this.active!.datasync();
      } catch (error) {
        // Leave no half batch behind: the caller keeps these punches and will append them again.
        await this.active!.truncate(before).catch(() => undefined);
        throw error;
      }
      segment.durableBytes = before + bytes.byteLength;
      segment.lastSeq = seq - 1;
      segment.punches += seq - firstSeq;
      if (minAtMs < segment.minAtMs) segment.minAtMs = minAtMs;
      if (maxAtMs > segment.maxAtMs) segment.maxAtMs = maxAtMs;
      this.nextSeq = seq;
      this.durableSeq = seq - 1;
    } catch (error) {
      for (const pending of group) pending.reject(error as Error);
      return;
    }
    group.forEach((pending, i) => {
      pending.resolve(results[i]!);
    });
    for (const listener of this.appendListeners) listener(this.durableSeq);
  }

  /** The segment the next write goes to, rotating when the active one is full. */
  private async segmentFor(firstSeq: number): Promise<Segment> {
    const current = this.segments.at(-1);
    if (current && this.active && current.durableBytes < this.options.segmentMaxBytes) return current;
    await this.active?.close();
    // Sealed: it never changes again, so its index stays true.
    if (current) await this.writeIndex(current);
    const file = join(this.options.dir, segmentFileName(firstSeq));
    this.active = await open(file, 'a', DATA_FILE_MODE);
    await syncDirectory(this.options.dir);
    const segment = emptySegment(firstSeq, file);
    this.segments.push(segment);
    return segment;
  }

  /**
   * An index is only a shortcut: one that cannot be written (a full disk) must not fail the punches
   * being written. The segment is then read and indexed at the next start.
   */
  private async writeIndex(segment: Segment): Promise<void> {
    try {
      await writeSegmentIndex(segment);
    } catch (error) {
      this.options.logger.warn(
        { file: segment.file, error: (error as Error).message },
        'journal: could not write a segment index; the segment is indexed again at the next start',
      );
    }
  }

  /**
   * Reads segments that have no valid index once (fresh from `open`: nothing counted yet), and
   * writes their index. Most lines give their number and time without a full parse.
   */
  private async indexOldSegments(segments: readonly Segment[]): Promise<void> {
    const started = Date.now();
    const seen: SeqAndTime = { seq: 0, atMs: 0 };
    for (const segment of segments) {
      const bytes = await forEachLine(segment, (buffer, start, end) => {
        if (peekSeqAndTime(buffer, start, end, seen)) {
          notePunch(segment, seen.seq, seen.atMs);
          return;
        }
        const line = buffer.toString('utf8', start, end);
        const punch = parseJournalLine(line);
        if (punch) notePunch(segment, punch.seq, punch.atMs);
        else this.noteCorrupt(segment.file, line);
      });
      this.noteRead(segment.file, bytes);
      await this.writeIndex(segment);
    }
    this.options.logger.info(
      { segments: segments.length, ms: Date.now() - started },
      'journal: indexed segments that had no index (once; later starts read none of them)',
    );
  }

  /**
   * The active segment's index was written at a clean stop and its size still matches; its last
   * line must also be the punch the index names last, or the segment is recovered in full.
   */
  private async tailAgrees(segment: Segment): Promise<boolean> {
    const size = segment.durableBytes;
    if (size === 0) return segment.punches === 0;
    const length = Math.min(size, TAIL_CHECK_BYTES);
    const handle = await open(segment.file, 'r');
    let tail: Buffer;
    try {
      tail = Buffer.alloc(length);
      const { bytesRead } = await handle.read(tail, 0, length, size - length);
      tail = tail.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    this.noteRead(segment.file, tail.byteLength);
    if (tail.byteLength !== length || tail[length - 1] !== 0x0a) return false;
    const start = tail.lastIndexOf(0x0a, length - 2) + 1;
    if (start === 0 && length < size) return false;
    const punch = parseJournalLine(tail.subarray(start, length - 1).toString('utf8'));
    return punch !== null && punch.seq === segment.lastSeq;
  }

  /** An index whose segment is gone (a crash during retention) and temp files of an index write cut short. */
  private async removeLeftovers(names: readonly string[], segments: ReadonlySet<string>): Promise<void> {
    for (const name of names) {
      const orphanIndex = name.endsWith(INDEX_SUFFIX) && !segments.has(name.slice(0, -INDEX_SUFFIX.length));
      if (orphanIndex || INDEX_TEMP_NAME.test(name)) await unlinkIfThere(join(this.options.dir, name));
    }
  }

  /**
   * A crash can leave a torn last line (a write cut short). Cut it off so it is never parsed as a
   * punch; every append that had resolved ended with a newline and survives whole.
   */
  private async recoverTail(segment: Segment): Promise<void> {
    const handle = await open(segment.file, 'r+');
    try {
      const size = (await handle.stat()).size;
      const content = Buffer.alloc(size);
      if (size > 0) await handle.read(content, 0, size, 0);
      this.noteRead(segment.file, size);
      const end = content.lastIndexOf(0x0a) + 1;
      if (end < size) {
        this.options.logger.warn(
          { file: segment.file, tornBytes: size - end },
          'journal: cut a torn last line left by a crash (its append had not been acknowledged)',
        );
        await handle.truncate(end);
        await handle.sync();
      }
      Object.assign(segment, emptySegment(segment.firstSeq, segment.file), { durableBytes: end });
      for (const line of content.subarray(0, end).toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        const punch = parseJournalLine(line);
        if (punch) notePunch(segment, punch.seq, punch.atMs);
        else this.noteCorrupt(segment.file, line);
      }
    } finally {
      await handle.close();
    }
  }

  noteCorrupt(file: string, line: string): void {
    this.corruptLines++;
    this.options.logger.error(
      { file, line: line.slice(0, 200) },
      'journal: skipped a line that is not a punch',
    );
  }
}

/**
 * The stored punch: the draft itself, given its sequence number. Drafts are made for the journal,
 * and a catch-up read hands over 100,000 at a time: a copy each would be 100,000 more objects for
 * the collector. The pipeline builds drafts with a `seq` of 0 in last place, so this fills it in.
 * A write that fails is retried with the same drafts, which then get their new numbers.
 */
function withSeq(draft: PunchDraft, seq: number): Punch {
  const punch = draft as { -readonly [K in keyof Punch]: Punch[K] };
  punch.seq = seq;
  return punch;
}

const INDEX_TEMP_NAME = /^\.\d{20}\.jsonl\.idx\.\d+\.\d+\.tmp$/;

async function unlinkIfThere(file: string): Promise<void> {
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

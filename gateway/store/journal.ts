import { type FileHandle, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClockSource, Logger, Punch, PunchDraft } from '../model';
import { DATA_DIR_MODE, DATA_FILE_MODE, syncDirectory } from './durable-file';
import { JournalLineEncoder, parseJournalLine } from './journal-line';

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
}

/** One segment file. `durableBytes` always ends on a line boundary, so readers never see half a line. */
export interface Segment {
  readonly firstSeq: number;
  readonly file: string;
  durableBytes: number;
}

interface PendingAppend {
  readonly drafts: readonly PunchDraft[];
  readonly resolve: (punches: Punch[]) => void;
  readonly reject: (error: Error) => void;
}

const SEGMENT_NAME = /^(\d{20})\.jsonl$/;
const DAY_MS = 86_400_000;

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

  constructor(private readonly options: JournalOptions) {}

  async open(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true, mode: DATA_DIR_MODE });
    const names = (await readdir(this.options.dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    this.segments = [];
    for (const name of names) {
      const file = join(this.options.dir, name);
      const firstSeq = Number(SEGMENT_NAME.exec(name)![1]);
      this.segments.push({ firstSeq, file, durableBytes: (await stat(file)).size });
    }
    const last = this.segments.at(-1);
    if (last) {
      const lastSeq = await this.recoverTail(last);
      this.durableSeq = Math.max(lastSeq, last.firstSeq - 1);
      this.nextSeq = this.durableSeq + 1;
      this.active = await open(last.file, 'a', DATA_FILE_MODE);
    }
    this.closed = false;
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
      await unlink(oldest.file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
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
    await this.active?.close();
    this.active = undefined;
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
    try {
      this.lines.clear();
      for (const pending of group) {
        const { drafts } = pending;
        const punches: Punch[] = new Array(drafts.length);
        for (let i = 0; i < drafts.length; i++) {
          const draft = drafts[i]!;
          this.lines.write(draft, seq);
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
    const file = join(this.options.dir, `${String(firstSeq).padStart(20, '0')}.jsonl`);
    this.active = await open(file, 'a', DATA_FILE_MODE);
    await syncDirectory(this.options.dir);
    const segment: Segment = { firstSeq, file, durableBytes: 0 };
    this.segments.push(segment);
    return segment;
  }

  /**
   * A crash can leave a torn last line (a write cut short). Cut it off so it is never parsed as a
   * punch; every append that had resolved ended with a newline and survives whole.
   */
  private async recoverTail(segment: Segment): Promise<number> {
    const handle = await open(segment.file, 'r+');
    try {
      const size = (await handle.stat()).size;
      const content = Buffer.alloc(size);
      if (size > 0) await handle.read(content, 0, size, 0);
      const end = content.lastIndexOf(0x0a) + 1;
      if (end < size) {
        this.options.logger.warn(
          { file: segment.file, tornBytes: size - end },
          'journal: cut a torn last line left by a crash (its append had not been acknowledged)',
        );
        await handle.truncate(end);
        await handle.sync();
      }
      segment.durableBytes = end;
      let lastSeq = segment.firstSeq - 1;
      for (const line of content.subarray(0, end).toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        const punch = parseJournalLine(line);
        if (punch) lastSeq = Math.max(lastSeq, punch.seq);
        else this.noteCorrupt(segment.file, line);
      }
      return lastSeq;
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

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

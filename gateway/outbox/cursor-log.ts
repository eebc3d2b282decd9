import { type FileHandle, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../model';
import { DATA_FILE_MODE, syncDirectory, writeFileAtomic } from '../store/durable-file';
import { CorruptStateError } from '../store/json-file-adapter';
import type { OutboxCursor, OutboxCursors } from './outbox';

export interface CursorLogOptions {
  /** The data folder: `cursors.json` (the snapshot) and `cursors.log` (what moved since) live in it. */
  readonly dir: string;
  readonly logger: Logger;
  /** The log's size: once it is nearly full, the snapshot is rewritten and the log emptied (64 KiB ≈ 2,500 saves). */
  readonly logBytes?: number;
  /**
   * Awaited after a commit's bytes are written and before their fdatasync. Tests use it to give the
   * disk an SD card's latency, or to make the disk refuse a save.
   */
  readonly beforeSync?: () => Promise<void>;
}

const DEFAULT_LOG_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
export const CURSOR_SNAPSHOT_FILE = 'cursors.json';
export const CURSOR_LOG_FILE = 'cursors.log';

/**
 * The outboxes' cursors: `cursors.json` holds a snapshot (`{"outbox.sichuan": 1234, …}`, the format
 * older versions wrote and read), and `cursors.log` one JSON line per save with the cursors that
 * moved since the line before. A save is one write and one fdatasync, shared by every cursor noted
 * since the last (group commit), where rewriting the snapshot costs a temp file, two syncs and a
 * rename.
 *
 * The log is a fixed-size file of empty lines that saves overwrite in order: its size and blocks
 * never change, so an fdatasync flushes one data page and no file-system metadata (a third of the
 * time of an append on ext4), and a full disk cannot refuse a save. When it is nearly full, and at
 * start and stop, the cursors are written to the snapshot and the log is blanked again.
 *
 * Cursors only move forward, so on replay the largest value wins: lines the snapshot already holds
 * (a crash between rewriting the snapshot and blanking the log) cannot move one back. A prefix of
 * a line is never a JSON object, so a write cut short is skipped, not misread.
 */
export class CursorLog implements OutboxCursors {
  /** The latest acknowledged value of each cursor, on disk or on its way. */
  private readonly noted = new Map<string, number>();
  /** What is on disk (snapshot and log). */
  private readonly durable = new Map<string, number>();
  /** Cursors noted since the last commit took them. */
  private readonly dirty = new Set<string>();
  private handle: FileHandle | undefined;
  /** Where the next line goes. */
  private offset = 0;
  /** Bytes of the file in use beyond the blank region (the log grew because it could not be blanked). */
  private fileBytes = 0;
  /** The bytes before `offset` do not end a line: the next line starts with a newline of its own. */
  private tornTail = false;
  /** The commit running, and the compaction after it; never rejects. */
  private busy: Promise<void> | undefined;
  /** The running commit's write and sync, for callers with nothing new to add. */
  private writing: Promise<void> | undefined;
  /** The commit that runs after `busy`, for everything noted meanwhile. */
  private queued: Promise<void> | undefined;
  /** After a failed compaction, none is tried again before the log reaches this offset. */
  private retryCompactionAt = 0;

  /** Why the last commit failed (disk full, read-only), until one succeeds again. */
  lastWriteError: { message: string; since: number } | undefined;
  /** Lines of the log that were not whole cursor lines when it was replayed. */
  corruptLines = 0;
  /** Commits so far (one write and one fdatasync each), and snapshot rewrites. */
  commits = 0;
  compactions = 0;

  constructor(private readonly options: CursorLogOptions) {}

  get name(): string {
    return CURSOR_LOG_FILE;
  }

  private get snapshotFile(): string {
    return join(this.options.dir, CURSOR_SNAPSHOT_FILE);
  }

  private get logFile(): string {
    return join(this.options.dir, CURSOR_LOG_FILE);
  }

  private get regionBytes(): number {
    return this.options.logBytes ?? DEFAULT_LOG_BYTES;
  }

  /** Compact once less than this is left, so a commit seldom waits for one. */
  private get reserveBytes(): number {
    return Math.min(4096, Math.floor(this.regionBytes / 8));
  }

  async open(): Promise<void> {
    const snapshot = await readIfExists(this.snapshotFile);
    if (snapshot !== null) {
      for (const [key, value] of parseSnapshot(this.snapshotFile, snapshot.toString('utf8')))
        this.durable.set(key, value);
    }
    const log = await readIfExists(this.logFile);
    const used = log === null ? { end: 0, torn: false } : this.replay(log);
    for (const [key, value] of this.durable) this.noted.set(key, value);
    this.handle = await openForOverwrite(this.logFile);
    if (log === null) await syncDirectory(this.options.dir);
    this.fileBytes = log?.length ?? 0;
    this.offset = used.end;
    this.tornTail = used.torn;
    // Start from an exact snapshot and a blank log, so cursors.json alone (a person, an older
    // version after a rollback) tells where every outbox is.
    if (snapshot === null || used.end > 0 || this.fileBytes !== this.regionBytes) {
      await this.compact().catch((error: Error) => this.compactionFailed(error));
    }
  }

  slot(key: string): OutboxCursor {
    return {
      get: () => this.noted.get(key),
      note: (seq) => this.note(key, seq),
      flush: () => this.flush(),
    };
  }

  /** The value on disk: where a restart after a power cut would resume. */
  durableCursor(key: string): number | undefined {
    return this.durable.get(key);
  }

  /**
   * Resolves once every cursor noted so far is on disk. A call while a commit runs joins the next
   * one, so any number of outboxes and batches share one write and one fdatasync.
   */
  flush(): Promise<void> {
    if (!this.handle) return Promise.reject(new Error('cursor log used before open() or after close()'));
    if (this.queued) return this.queued;
    if (this.dirty.size === 0) return this.writing ?? Promise.resolve();
    const next = (this.busy ?? Promise.resolve()).then(() => {
      this.queued = undefined;
      return this.commit();
    });
    this.queued = next;
    return next;
  }

  /** Saves what is noted and folds the log into the snapshot; nothing is written after this. */
  async close(): Promise<void> {
    if (!this.handle) return;
    await this.flush().catch(() => undefined);
    await this.busy;
    await this.compact().catch((error: Error) => this.compactionFailed(error));
    await this.handle.close();
    this.handle = undefined;
  }

  /**
   * Applies every whole cursor line of `log` and says where the written part ends: after the last
   * byte that is not a blank line (and its newline), and whether that byte was left without one.
   */
  private replay(log: Buffer): { end: number; torn: boolean } {
    let start = 0;
    let end = 0;
    while (start < log.length) {
      let stop = log.indexOf(NEWLINE, start);
      if (stop < 0) stop = log.length;
      if (stop > start) {
        const values = parseLogLine(log.subarray(start, stop).toString('utf8'));
        if (values) {
          for (const [key, value] of values)
            this.durable.set(key, Math.max(value, this.durable.get(key) ?? 0));
        } else {
          this.corruptLines++;
        }
        end = Math.min(stop + 1, log.length);
      }
      start = stop + 1;
    }
    if (this.corruptLines > 0) {
      this.options.logger.warn(
        { file: this.logFile, lines: this.corruptLines },
        'cursor log: lines that are not cursors were skipped (a write cut short by a crash, or damage); a cursor may be behind and its punches sent again',
      );
    }
    return { end, torn: end > 0 && log[end - 1] !== NEWLINE };
  }

  private note(key: string, seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new TypeError(`cursor ${key}: ${seq} is not a sequence number`);
    if (seq <= (this.noted.get(key) ?? -1)) return;
    this.noted.set(key, seq);
    this.dirty.add(key);
  }

  private commit(): Promise<void> {
    const taken = new Map<string, number>();
    for (const key of this.dirty) taken.set(key, this.noted.get(key)!);
    this.dirty.clear();
    if (taken.size === 0) return Promise.resolve();
    const writing = this.write(taken);
    this.writing = writing;
    const busy = writing
      .then(
        () => this.compactIfDue(),
        () => undefined,
      )
      .finally(() => {
        if (this.writing === writing) this.writing = undefined;
        if (this.busy === busy) this.busy = undefined;
      });
    this.busy = busy;
    return writing;
  }

  private async write(values: ReadonlyMap<string, number>): Promise<void> {
    const handle = this.handle!;
    const text = `${JSON.stringify(Object.fromEntries(values))}\n`;
    // A line that does not fit in what is left is written after a compaction (rare: one normally
    // follows the commit that crosses into the reserve), so the log keeps its size.
    if (this.offset + text.length + 1 > this.regionBytes && this.offset >= this.retryCompactionAt) {
      await this.compact().catch((error: Error) => this.compactionFailed(error));
    }
    const line = Buffer.from(this.tornTail ? `\n${text}` : text);
    const at = this.offset;
    try {
      await writeAll(handle, line, at);
      await this.options.beforeSync?.();
      await handle.datasync();
    } catch (error) {
      // Noted values stay noted: the next commit carries them (or a newer value of the same cursor).
      for (const key of values.keys()) this.dirty.add(key);
      await this.blank(at, line.length);
      this.lastWriteError = {
        message: (error as Error).message,
        since: this.lastWriteError?.since ?? Date.now(),
      };
      throw error;
    }
    this.offset = at + line.length;
    this.fileBytes = Math.max(this.fileBytes, this.offset);
    this.tornTail = false;
    this.commits++;
    this.lastWriteError = undefined;
    for (const [key, value] of values) this.durable.set(key, Math.max(value, this.durable.get(key) ?? 0));
  }

  /** Puts blank lines back over a refused write (beyond the region: cuts it off), so the next line starts clean. */
  private async blank(at: number, length: number): Promise<void> {
    try {
      if (at >= this.regionBytes) await this.handle!.truncate(at);
      else await writeAll(this.handle!, blankLines(Math.min(length, this.regionBytes - at)), at);
    } catch {
      // A prefix of the refused line may be left: the next line starts after a newline of its own.
      this.tornTail = true;
    }
  }

  private async compactIfDue(): Promise<void> {
    if (this.offset < this.regionBytes - this.reserveBytes || this.offset < this.retryCompactionAt) return;
    await this.compact().catch((error: Error) => this.compactionFailed(error));
  }

  /** Writes every durable cursor to the snapshot (atomically), then blanks the log. */
  private async compact(): Promise<void> {
    const sorted = [...this.durable].sort(([a], [b]) => a.localeCompare(b));
    await writeFileAtomic(this.snapshotFile, `${JSON.stringify(Object.fromEntries(sorted))}\n`);
    // The snapshot now holds every value in the log; a crash while the log is blanked leaves lines
    // that the largest-value-wins replay ignores.
    const handle = this.handle!;
    if (this.fileBytes > this.regionBytes) await handle.truncate(this.regionBytes);
    await writeAll(handle, blankLines(this.regionBytes), 0);
    await handle.datasync();
    this.fileBytes = this.regionBytes;
    this.offset = 0;
    this.tornTail = false;
    this.retryCompactionAt = 0;
    this.compactions++;
  }

  private compactionFailed(error: Error): void {
    // The log still holds every cursor: nothing is lost, it only grows past its size (and a full
    // disk may then refuse saves). Try again after as much again.
    this.retryCompactionAt = Math.max(this.offset, this.regionBytes) + this.regionBytes;
    this.options.logger.warn(
      { file: this.snapshotFile, error: error.message },
      'cursor snapshot not rewritten; the cursor log keeps every cursor meanwhile',
    );
  }
}

/** Opens `file` for writes at chosen offsets (not appends), creating it owner-only. */
async function openForOverwrite(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return open(file, 'wx+', DATA_FILE_MODE);
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer, at: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    done += (await handle.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
  }
}

function blankLines(length: number): Buffer {
  return Buffer.alloc(length, NEWLINE);
}

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function isSequence(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** The snapshot must be whole: a bad one is reported and kept for a person, never replaced by zeros. */
function parseSnapshot(file: string, text: string): Map<string, number> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CorruptStateError(file, (error as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CorruptStateError(file, 'not an object of cursors');
  const cursors = new Map<string, number>();
  for (const [key, seq] of Object.entries(value)) {
    if (!isSequence(seq))
      throw new Error(
        `cursor file ${file}: ${key} is ${JSON.stringify(seq)}, not a journal sequence number; it was not overwritten — inspect or move it aside`,
      );
    cursors.set(key, seq);
  }
  return cursors;
}

/** One commit's line, or null for anything else (a write cut short, zero-filled blocks after a power cut). */
export function parseLogLine(line: string): Map<string, number> | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  if (entries.length === 0 || !entries.every(([, seq]) => isSequence(seq))) return null;
  return new Map(entries as [string, number][]);
}

/**
 * The attendance sheets' Excel files and JSON, written in a thread of their own. The gateway's loop reads and
 * counts the rows (in the documents' lane, `ExportLane`) and hands them over a batch at a time; the
 * thread turns them into the file's XML and zip (≈ 70 % of a month's file) on the box's other core,
 * and sends the bytes back to the download. Under the web benchmark's load the whole month's file
 * had taken 4–5 s while it shared the loop with every page (docs/reports.md).
 *
 * The thread starts with the first download (or when a sheet's page is shown: its link is on it)
 * and ends after a while without one, so an idle box does not keep its memory. Should it not start
 * or keep dying, the files are written on the gateway's loop as before, and the log says so.
 */
import { PassThrough, Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../model';
import type { AttendanceSheet } from '../reports/attendance';
import { type SheetDocumentHead, writeSheetDocument } from './sheet-document';
import type { SheetFileHead, SheetFileRow } from './sheet-file';
import { packedBuffers, packRows } from './sheet-file-rows';
import type { SheetJsonHead } from './sheet-json';
import type { FromSheetWriter, ToSheetWriter } from './sheet-writer-messages';
import { startSheetWriterThread } from './sheet-writer-source';

/** A document to write from a sheet: what it says besides the sheet's period, dates and rows. */
export type SheetDocument = Omit<SheetFileHead, 'period' | 'dates'> | Omit<SheetJsonHead, 'dates'>;

export interface SheetFileWritersDeps {
  readonly logger: Logger;
  /** Starts the thread (sheet-writer-source.ts, which the packaged forms replace). */
  readonly startThread?: () => Worker;
  /** How long the thread stays after its last file (default 30 s). */
  readonly idleMs?: number;
}

/** Rows per batch: the sheet's chunk (`CHUNK_WORKERS`), so a batch is sent when the lane is given on. */
const BATCH_ROWS = 100;
/**
 * Batches sent and not yet written (a month's file is 50): the rows are counted as fast as the lane
 * allows and queue in the thread, so a file's batches reach it together and it writes them in turn.
 * Held back, each file's batches were interleaved with the others' and every file took as long as
 * all of them. A batch is ≈ 80 KB.
 */
const IN_FLIGHT = 64;
/** The bytes a download may hold before the rows wait for its client to take them. */
const DOWNLOAD_BUFFER = 1024 * 1024;
const IDLE_MS = 30_000;
/** Threads that die in a row, no file finished in between, before the files are written here. */
const DEATHS_BEFORE_FALLBACK = 3;

interface Download {
  readonly out: PassThrough;
  inFlight: number;
  wake?: () => void;
  /** Why the thread could not finish the file (it died, or the gateway is stopping). */
  failure?: Error;
  readonly finished: Promise<void>;
  finish(error?: Error): void;
}

export class SheetFileWriters {
  private thread: Worker | undefined;
  private readonly downloads = new Map<number, Download>();
  private nextId = 1;
  private deaths = 0;
  private fallback = false;
  private stopped = false;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly deps: SheetFileWritersDeps) {}

  /** Starts the thread ahead of a download that is likely to come. */
  warm(): void {
    this.running();
    this.idleCheck();
  }

  /**
   * The document's bytes as they are written. A failure half-way ends the stream with that error
   * (the download breaks: never a short file that looks whole).
   */
  stream(sheet: AttendanceSheet, document: SheetDocument): ReadableStream<Uint8Array> {
    const out = new PassThrough({ highWaterMark: DOWNLOAD_BUFFER });
    // The JSON's head goes out at once, from here: its first byte waits for no thread.
    if (document.format === 'json') out.write(document.prefix);
    const head: SheetDocumentHead =
      document.format === 'json'
        ? { ...document, prefix: '', dates: sheet.dates }
        : { ...document, period: sheet.period, dates: sheet.dates };
    void this.write(out, head, sheet).catch((error: unknown) => out.destroy(error as Error));
    return Readable.toWeb(out) as ReadableStream<Uint8Array>;
  }

  /** Whether files are being written on the gateway's loop (the thread could not be kept up). */
  get writingInProcess(): boolean {
    return this.fallback;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.idle);
    const thread = this.thread;
    this.thread = undefined;
    for (const download of this.downloads.values()) download.finish(new Error('the gateway is stopping'));
    await thread?.terminate();
  }

  private async write(out: PassThrough, head: SheetDocumentHead, sheet: AttendanceSheet): Promise<void> {
    const rows = sheet.rows(undefined, { document: true });
    const thread = this.running();
    if (!thread) {
      await writeSheetDocument(out, head, rows);
      return;
    }
    const id = this.nextId++;
    const download = newDownload(out);
    this.downloads.set(id, download);
    clearTimeout(this.idle);
    const post = (message: ToSheetWriter, transfer: ArrayBuffer[] = []) =>
      thread.postMessage(message, transfer);
    const wake = () => {
      download.wake?.();
      download.wake = undefined;
    };
    out.on('drain', wake);
    out.on('close', wake);
    try {
      post({ type: 'open', id, head });
      let batch: SheetFileRow[] = [];
      const send = async () => {
        while (
          !out.destroyed &&
          !download.failure &&
          (download.inFlight >= IN_FLIGHT || out.writableNeedDrain)
        )
          await new Promise<void>((resume) => {
            download.wake = resume;
          });
        if (download.failure) throw download.failure;
        if (out.destroyed) throw new Error('the download was closed');
        const packed = packRows(batch, head.dates.length);
        batch = [];
        download.inFlight++;
        post({ type: 'rows', id, rows: packed }, packedBuffers(packed));
      };
      for await (const row of rows) {
        batch.push(row);
        if (batch.length === BATCH_ROWS) await send();
      }
      if (batch.length > 0) await send();
      post({ type: 'end', id });
      await download.finished;
      this.deaths = 0;
    } catch (error) {
      if (this.thread === thread) post({ type: 'abort', id });
      throw error;
    } finally {
      out.off('drain', wake);
      out.off('close', wake);
      this.downloads.delete(id);
      this.idleCheck();
    }
  }

  /** The thread, started if it is not running; undefined when files are written here. */
  private running(): Worker | undefined {
    if (this.thread || this.fallback || this.stopped) return this.thread;
    let thread: Worker;
    try {
      thread = (this.deps.startThread ?? startSheetWriterThread)();
    } catch (error) {
      this.writeHere(`the sheet writer's thread did not start: ${(error as Error).message}`);
      return undefined;
    }
    thread.unref();
    thread.on('message', (message: FromSheetWriter) => this.heard(message));
    thread.on('error', (error) => this.died(thread, error.message));
    thread.on('exit', (code) => this.died(thread, `it exited with code ${code}`));
    this.thread = thread;
    return thread;
  }

  private heard(message: FromSheetWriter): void {
    const download = this.downloads.get(message.id);
    if (!download) return;
    switch (message.type) {
      case 'bytes':
        if (!download.out.destroyed)
          download.out.write(
            Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength),
          );
        break;
      case 'taken':
        download.inFlight--;
        download.wake?.();
        download.wake = undefined;
        break;
      case 'done':
        download.out.end();
        download.finish();
        break;
      case 'failed':
        download.finish(new Error(`the sheet writer failed: ${message.message}`));
        break;
    }
  }

  private died(thread: Worker, why: string): void {
    if (this.thread !== thread) return;
    this.thread = undefined;
    for (const download of this.downloads.values())
      download.finish(new Error(`the sheet writer's thread stopped: ${why}`));
    if (this.stopped) return;
    this.deaths++;
    if (this.deaths >= DEATHS_BEFORE_FALLBACK)
      this.writeHere(`the sheet writer's thread stopped ${this.deaths} times in a row (last: ${why})`);
    else this.deps.logger.warn({ why }, "sheet writer's thread stopped; the next file starts another");
  }

  private writeHere(why: string): void {
    this.fallback = true;
    this.deps.logger.error(
      { why },
      "Excel files are written on the gateway's loop from now on: pages wait while one is written",
    );
  }

  /** Ends the thread after a while without a file. */
  private idleCheck(): void {
    clearTimeout(this.idle);
    if (this.downloads.size > 0 || !this.thread) return;
    this.idle = setTimeout(() => {
      const thread = this.thread;
      if (!thread || this.downloads.size > 0) return;
      this.thread = undefined;
      void thread.terminate();
    }, this.deps.idleMs ?? IDLE_MS);
    this.idle.unref();
  }
}

function newDownload(out: PassThrough): Download {
  let settle: (error?: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Nothing may wait on it yet (a thread dying before the last batch): not an unhandled rejection.
  finished.catch(() => undefined);
  let settled = false;
  return {
    out,
    inFlight: 0,
    finished,
    finish(error) {
      if (settled) return;
      settled = true;
      this.failure = error;
      settle(error);
      this.wake?.();
    },
  };
}

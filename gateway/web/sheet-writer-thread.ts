/**
 * The sheet writer's thread: writes the attendance sheets' Excel files (sheet-file.ts) and JSON
 * (sheet-json.ts) from the rows the gateway sends, and sends the bytes back. The gateway's loop only
 * counts the days; the XML, the zip and the text happen here, on the box's other core.
 */

import { PassThrough } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import { parentPort, workerData } from 'node:worker_threads';
import type { AttendanceDay } from '../reports/day-count';
import { ExportLane } from '../reports/export-lane';
import { type SheetDocumentHead, writeSheetDocument } from './sheet-document';
import { loadWriter, type SheetFileRow } from './sheet-file';
import { type PackedRows, unpackRows } from './sheet-file-rows';
import { type FromSheetWriter, SHEET_WRITER_ROLE, type ToSheetWriter } from './sheet-writer-messages';

/**
 * Bytes go back in pieces of about this size (the zip writer's own are 16 KB and smaller; a month's
 * JSON is 12 MB): each piece is a message the gateway's loop handles and writes, and with 64 KB
 * pieces the pages waited longer under the web benchmark (docs/reports.md)…
 */
const SEND_BYTES = 256 * 1024;
/** …or this long after the first of them: the download's first bytes are not held back. */
const SEND_AFTER_MS = 5;

interface Document {
  readonly head: SheetDocumentHead;
  /** Its days without times, shared across its batches (`unpackRows`). */
  readonly days: Map<number, AttendanceDay>;
  readonly out: PassThrough;
  readonly batches: PackedRows[];
  ended: boolean;
  aborted: boolean;
  wake?: () => void;
}

class AbortedDocument extends Error {}

export function serveSheetWriter(port: MessagePort): void {
  const documents = new Map<number, Document>();
  const send = (message: FromSheetWriter, transfer: ArrayBuffer[] = []) =>
    port.postMessage(message, transfer);

  // Files are written oldest first here too, a batch at a time: shared batch by batch, each of
  // several files at once took as long as all of them (docs/reports.md).
  const lane = new ExportLane();

  async function* rowsOf(id: number, doc: Document): AsyncGenerator<SheetFileRow> {
    const ticket = lane.ticket();
    for (;;) {
      if (doc.aborted) throw new AbortedDocument();
      if (doc.batches.length === 0) {
        if (doc.ended) return;
        await new Promise<void>((wake) => {
          doc.wake = wake;
        });
        continue;
      }
      const give = await lane.turn(ticket);
      try {
        const batch = doc.batches.shift()!;
        yield* unpackRows(batch, doc.head.dates, doc.days);
        send({ type: 'taken', id });
      } finally {
        give();
      }
    }
  }

  function open(id: number, head: SheetDocumentHead): void {
    const out = new PassThrough();
    let pending: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (size === 0) return;
      // A fresh buffer of its own: small Buffers share Node's pool, which must not be handed over.
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const piece of pending) {
        bytes.set(piece, at);
        at += piece.length;
      }
      pending = [];
      size = 0;
      send({ type: 'bytes', id, bytes }, [bytes.buffer]);
    };
    const doc: Document = { head, days: new Map(), out, batches: [], ended: false, aborted: false };
    documents.set(id, doc);
    out.on('data', (piece: Buffer) => {
      pending.push(piece);
      size += piece.length;
      if (size >= SEND_BYTES) flush();
      else timer ??= setTimeout(flush, SEND_AFTER_MS);
    });
    const ended = new Promise<void>((resolve) => out.once('end', resolve));
    writeSheetDocument(out, head, rowsOf(id, doc))
      .then(() => ended)
      .then(
        () => {
          flush();
          send({ type: 'done', id });
        },
        (error: unknown) => {
          out.destroy();
          if (!(error instanceof AbortedDocument))
            send({ type: 'failed', id, message: error instanceof Error ? error.message : String(error) });
        },
      )
      .finally(() => documents.delete(id));
  }

  port.on('message', (message: ToSheetWriter) => {
    if (message.type === 'open') {
      open(message.id, message.head);
      return;
    }
    const doc = documents.get(message.id);
    if (!doc) return;
    if (message.type === 'rows') doc.batches.push(message.rows);
    else if (message.type === 'end') doc.ended = true;
    else doc.aborted = true;
    doc.wake?.();
    doc.wake = undefined;
  });
  // Loaded while the first rows are being counted, not after them.
  void loadWriter();
}

// Only in the thread the gateway starts for it (`SHEET_WRITER_ROLE`), not in any other worker that
// loads this file (a test runner's).
if (parentPort && (workerData as { role?: unknown } | undefined)?.role === SHEET_WRITER_ROLE)
  serveSheetWriter(parentPort);

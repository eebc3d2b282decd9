/**
 * What the gateway and the sheet writer's thread say to each other (sheet-writers.ts,
 * sheet-writer-thread.ts). Every message names its document: the thread writes several at once.
 */
import type { SheetDocumentHead } from './sheet-document';
import type { PackedRows } from './sheet-file-rows';

export type ToSheetWriter =
  | { readonly type: 'open'; readonly id: number; readonly head: SheetDocumentHead }
  | { readonly type: 'rows'; readonly id: number; readonly rows: PackedRows }
  /** Every row is sent: the thread finishes the file. */
  | { readonly type: 'end'; readonly id: number }
  /** The download went away or the sheet failed: the thread drops the document. */
  | { readonly type: 'abort'; readonly id: number };

export type FromSheetWriter =
  /** The file's next bytes (the buffer is handed over). */
  | { readonly type: 'bytes'; readonly id: number; readonly bytes: Uint8Array }
  /** A batch of rows is written into the file: the gateway may send another. */
  | { readonly type: 'taken'; readonly id: number }
  /** The file is whole: every byte has been sent before this. */
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

/** The thread's `workerData.role`: the thread serves only when started as the sheet writer. */
export const SHEET_WRITER_ROLE = 'edge-gateway sheet writer';

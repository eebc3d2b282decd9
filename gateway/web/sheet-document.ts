/**
 * The whole-site documents the sheet writer's thread writes from a sheet's rows: the Excel files
 * (sheet-file.ts), the JSON (sheet-json.ts) and the print view (sheet-print.ts). Here too when the
 * thread cannot run.
 */
import type { PassThrough } from 'node:stream';
import { type SheetFileHead, type SheetFileRow, writeSheetFile } from './sheet-file';
import { type SheetJsonHead, writeSheetJson } from './sheet-json';
import { type SheetPrintHead, writeSheetPrint } from './sheet-print';

export type SheetDocumentHead = SheetFileHead | SheetJsonHead | SheetPrintHead;

export function writeSheetDocument(
  out: PassThrough,
  head: SheetDocumentHead,
  rows: AsyncIterable<SheetFileRow>,
): Promise<void> {
  if (head.format === 'json') return writeSheetJson(out, head, rows);
  if (head.format === 'print') return writeSheetPrint(out, head, rows);
  return writeSheetFile(out, head, rows);
}

/**
 * The whole-site documents the sheet writer's thread writes from a sheet's rows: the Excel files
 * (sheet-file.ts) and the JSON (sheet-json.ts). Here too when the thread cannot run.
 */
import type { PassThrough } from 'node:stream';
import { type SheetFileHead, type SheetFileRow, writeSheetFile } from './sheet-file';
import { type SheetJsonHead, writeSheetJson } from './sheet-json';

export type SheetDocumentHead = SheetFileHead | SheetJsonHead;

export function writeSheetDocument(
  out: PassThrough,
  head: SheetDocumentHead,
  rows: AsyncIterable<SheetFileRow>,
): Promise<void> {
  return head.format === 'json' ? writeSheetJson(out, head, rows) : writeSheetFile(out, head, rows);
}

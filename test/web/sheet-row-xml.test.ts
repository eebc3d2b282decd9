/**
 * The sheets' data rows written here (gateway/web/sheet-row-xml.ts) against exceljs writing the
 * same rows: every part of the file the same bytes, for sheets of random texts (with what XML must
 * escape or drop), hours, holes, the sheet's three styles and notes; exceljs only writes the first
 * row of each kind of cell; and a row that differs leaves the rest of the file to exceljs.
 */
import { PassThrough } from 'node:stream';
import type { Style } from 'exceljs';
import Note from 'exceljs/lib/doc/note.js';
import WorkbookWriter from 'exceljs/lib/stream/xlsx/workbook-writer.js';
import utils from 'exceljs/lib/utils/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type RowXmlCounts,
  type RowXmlParts,
  SheetRowCells,
  SheetRowWriter,
} from '../../gateway/web/sheet-row-xml';
import { unzip } from '../support/zip';

const PLAIN: Partial<Style> = {};
const HOURS: Partial<Style> = { numFmt: '0.0' };
const FLAGGED: Partial<Style> = {
  numFmt: '0.0',
  fill: { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFD966' } },
};
const STYLES = [PLAIN, HOURS, FLAGGED];
const PARTS: RowXmlParts = { Note, xmlEncode: utils.xmlEncode };

type Value = string | number | undefined;
interface Cell {
  readonly value: Value;
  readonly style: number;
  readonly note?: string;
}

/** A workbook like the monthly file's: a title and a header through exceljs, then the rows. */
async function sheetFile(
  rows: readonly (readonly Cell[])[],
  parts: RowXmlParts | undefined,
): Promise<{ entries: Map<string, Buffer>; counts: RowXmlCounts }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => out.on('end', resolve));
  // A fixed date: docProps/core.xml holds it.
  const options = { stream: out, useStyles: true, useSharedStrings: false, created: new Date(0) };
  const workbook = new WorkbookWriter(options);
  const worksheet = workbook.addWorksheet('考勤表', { views: [{ state: 'frozen', xSplit: 1, ySplit: 2 }] });
  const title = worksheet.addRow(['工地 2026年10月']);
  title.font = { bold: true, size: 14 };
  worksheet.mergeCells(1, 1, 1, 8);
  title.commit();
  const header = worksheet.addRow(['姓名', '身份证号', 1, 2, 3]);
  header.font = { bold: true };
  header.commit();
  const writer = new SheetRowWriter(worksheet, parts);
  const cells = new SheetRowCells();
  for (const row of rows) {
    cells.clear();
    for (const cell of row) cells.add(cell.value, STYLES[cell.style]!, cell.note);
    writer.write(cells);
  }
  writer.flush();
  worksheet.commit();
  await workbook.commit();
  await ended;
  return { entries: unzip(Buffer.concat(chunks)), counts: writer.counts };
}

function expectSameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, bytes] of a) expect(bytes.toString('utf8'), name).toBe(b.get(name)!.toString('utf8'));
}

const texts = fc.oneof(
  fc.constantFrom(
    '张三',
    '',
    '=SUM(A1)',
    'a <b> & "c" \'d\'',
    'tab\there',
    'bell\u0007',
    ' lead',
    '🙂',
    'x\r\ny',
  ),
  fc.string({ maxLength: 12 }),
);
const hours = fc.integer({ min: 0, max: 240 }).map((t) => t / 10);
const notes = fc.constantFrom(undefined, '缺出场卡', '缺进场卡、缺出场卡', '仍在场', 'a <note> & more');
/** A column of a sheet: text, hours (plain or in the hours' style), or flagged hours with a note. */
const column = fc.constantFrom('text', 'number', 'hours', 'flagged');
function cellOf(kind: string): fc.Arbitrary<Cell> {
  const value: fc.Arbitrary<Cell> =
    kind === 'text'
      ? fc.record({ value: texts, style: fc.constant(0) })
      : kind === 'flagged'
        ? fc.record({ value: hours, style: fc.constant(2), note: notes })
        : fc.record({ value: hours, style: fc.constant(kind === 'hours' ? 1 : 0) });
  // Now and then no cell at all (a day without a punch).
  return fc.oneof(
    { weight: 5, arbitrary: value },
    { weight: 1, arbitrary: fc.constant({ value: undefined, style: 0 }) },
  );
}
/** A sheet: its columns, then rows of those columns' kinds of cell. */
const sheet = fc
  .array(column, { minLength: 1, maxLength: 8 })
  .chain((columns) => fc.array(fc.tuple(...columns.map(cellOf)), { minLength: 10, maxLength: 80 }))
  .map((rows) => rows as Cell[][]);

describe('sheet rows written from exceljs’s own kinds of cell', () => {
  it('give the file exceljs writes, byte for byte, for any rows', async () => {
    let fast = 0;
    await fc.assert(
      fc.asyncProperty(sheet, async (rows: Cell[][]) => {
        const mine = await sheetFile(rows, PARTS);
        const own = await sheetFile(rows, undefined);
        expectSameFiles(mine.entries, own.entries);
        expect(mine.counts.differed).toBe(0);
        expect(own.counts.fast).toBe(0);
        fast += mine.counts.fast;
      }),
      { numRuns: 60 },
    );
    // Rows of kinds seen before were written here, not only by exceljs.
    expect(fast).toBeGreaterThan(500);
  });

  it('leave exceljs only the first row of each kind of cell in a month', async () => {
    // A month's rows: four texts, 31 days (some empty, some flagged with a note), two totals.
    const rows: Cell[][] = [];
    for (let w = 0; w < 2000; w++) {
      const row: Cell[] = [
        { value: `工人${w}`, style: 0 },
        { value: `510104********${w}`, style: 0 },
        { value: `班组${w % 9}`, style: 0 },
        { value: `劳务${w % 4}`, style: 0 },
      ];
      for (let d = 0; d < 31; d++) {
        const kind = (w * 7 + d * 3) % 10;
        if (kind < 2) row.push({ value: undefined, style: 0 });
        else if (kind === 2) row.push({ value: 0, style: 2, note: d % 2 ? '缺出场卡' : '缺进场卡' });
        else row.push({ value: 8 + (kind % 5) / 10, style: 1 });
      }
      row.push({ value: 25, style: 0 }, { value: 201.5, style: 1 });
      rows.push(row);
    }
    const mine = await sheetFile(rows, PARTS);
    expect(mine.counts.differed).toBe(0);
    expect(mine.counts.checked).toBeLessThan(40);
    expect(mine.counts.fast).toBe(2000 - mine.counts.checked);
    expectSameFiles(mine.entries, (await sheetFile(rows, undefined)).entries);
    // The notes are there, at their cells.
    const comments = mine.entries.get('xl/comments1.xml')!.toString('utf8');
    // Worker 0's first flagged day is day 4 (column I), its note 缺进场卡.
    expect(comments.includes('<comment ref="I3" authorId="0"><text><r><t>缺进场卡</t>')).toBe(true);
  });

  it('leave the rest of the file to exceljs once a row differs', async () => {
    // Escaping that does nothing: the first text with "&" is written otherwise than exceljs writes it.
    const broken: RowXmlParts = { Note, xmlEncode: (text) => text };
    const rows: Cell[][] = [];
    for (let w = 0; w < 50; w++)
      rows.push([
        { value: `A & B ${w}`, style: 0 },
        { value: w / 10, style: 1 },
      ]);
    const mine = await sheetFile(rows, broken);
    expect(mine.counts).toEqual({ fast: 0, checked: 1, differed: 1 });
    expectSameFiles(mine.entries, (await sheetFile(rows, undefined)).entries);
  });
});

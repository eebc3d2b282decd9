/**
 * The notes' templates (gateway/web/sheet-notes.ts) against exceljs's own writing of the same notes:
 * the same bytes, note by note, for cells all over a sheet, with texts that need escaping, and with
 * a note that is not plain text (which keeps exceljs's own path).
 */
import Note from 'exceljs/lib/doc/note.js';
import SheetCommentsWriter from 'exceljs/lib/stream/xlsx/sheet-comments-writer.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { speedUpNotes } from '../../gateway/web/sheet-notes';

type Comment = Parameters<(typeof SheetCommentsWriter)['prototype']['_writeComment']>[0];

// exceljs's own, taken before the templates are installed (this file runs in a process of its own).
const ownWrite = SheetCommentsWriter.prototype._writeComment;
const ownModel = Object.getOwnPropertyDescriptor(Note.prototype, 'model')!.get!;

function columnName(col: number): string {
  let name = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26))
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

/** A note at a cell as the worksheet hands it over, its model made by `model`. */
function commentAt(note: unknown, row: number, col: number, model: (n: object) => unknown): Comment {
  const cellNote = Object.create(Note.prototype) as { note: unknown };
  cellNote.note = note;
  const merged = model(cellNote) as { note: object };
  return { ...merged, ref: `${columnName(col)}${row}`, refAddress: { row, col } };
}

function write(writeComment: typeof ownWrite, comment: Comment, index: number): string[] {
  const out: string[] = [];
  writeComment.call(
    {
      commentsStream: { write: (xml: string) => out.push(xml) },
      vmlStream: { write: (xml: string) => out.push(xml) },
    },
    comment,
    index,
  );
  return out;
}

describe('cell notes from templates', () => {
  // exceljs's own writer, counted: the templates must call it only to make and check themselves.
  let ownCalls = 0;
  SheetCommentsWriter.prototype._writeComment = function (comment, index) {
    ownCalls++;
    ownWrite.call(this, comment, index);
  };
  speedUpNotes(Note, SheetCommentsWriter);
  const fastWrite = SheetCommentsWriter.prototype._writeComment;
  const fastModel = (n: object) => (n as { model: unknown }).model;
  const own = (n: object) => ownModel.call(n);

  it('are installed: a text’s model is shared, and the writer is another', () => {
    expect(fastWrite).not.toBe(ownWrite);
    const a = commentAt('缺出场卡', 3, 5, fastModel);
    const b = commentAt('缺出场卡', 9, 7, fastModel);
    expect(a.note).toBe(b.note);
    ownCalls = 0;
    for (let row = 3; row < 503; row++) write(fastWrite, commentAt('仍在场', row, 9, fastModel), row);
    // Once for the template, once to check it elsewhere: 500 notes written from it.
    expect(ownCalls).toBe(2);
  });

  it('write exactly what exceljs writes, for any cell, shape number and text', () => {
    const texts = [
      '缺出场卡',
      '缺进场卡',
      '缺进场卡、缺出场卡',
      '仍在场',
      'Missing in, missing out',
      'a <b> & "c"',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...texts),
        fc.integer({ min: 1, max: 1_048_576 }),
        fc.integer({ min: 1, max: 16_384 }),
        fc.integer({ min: 0, max: 200_000 }),
        (text, row, col, index) => {
          const fast = write(fastWrite, commentAt(text, row, col, fastModel), index);
          const mine = write(ownWrite, commentAt(text, row, col, own), index);
          expect(fast).toEqual(mine);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('leave a note that is not plain text to exceljs', () => {
    const rich = { texts: [{ text: '缺出场卡', font: { bold: true } }] };
    const fast = write(fastWrite, commentAt(rich, 40, 12, fastModel), 7);
    expect(fast).toEqual(write(ownWrite, commentAt(rich, 40, 12, own), 7));
    expect(fast.join('')).toContain('<b/>');
  });
});

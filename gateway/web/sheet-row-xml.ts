/**
 * A sheet's data rows as exceljs writes them, written for less. Committing a row through exceljs's
 * streaming writer makes an object per cell, a model of each, a style look-up per cell and then
 * the XML through its generic writer: in the sheet writer's thread under the web benchmark that was
 * a third of all its time (a month is 5,000 rows of up to 37 cells). The rows of a sheet are a few
 * kinds of cell (text or a number, in one of the sheet's shared styles, maybe with a note), so:
 * - a cell of a kind not seen yet in this file goes through exceljs (`addRow`, `commit`), and the
 *   row's XML and notes exceljs writes are compared with what this file would have written;
 * - once exceljs has written a kind of cell (its column, its style, text or number, with a note or
 *   not) exactly as here, a row of such cells is written here: the same XML, text escaped by
 *   exceljs's own `xmlEncode`, the notes handed to exceljs's notes writer as a cell's are;
 * - one difference and the file is written by exceljs alone from then on.
 * test/web/sheet-row-xml.test.ts holds both paths to the same files. Written against exceljs 4.4.0
 * (package.json pins it).
 */
import type { Cell, Style, Worksheet } from 'exceljs';

/** exceljs's `ValueType`s (lib/doc/enums.js) a style is first seen with: no numFmt means General for a number. */
const NUMBER_TYPE = 2;
const STRING_TYPE = 3;
/** Fast rows' XML is handed to the sheet's stream in pieces of about this many characters. */
const PIECE_CHARS = 64 * 1024;

/** What of exceljs's own the rows are written with (the asset's modules, sheet-file.ts loads them). */
export interface RowXmlParts {
  /** exceljs's `utils.xmlEncode`, the escaping of every text it writes. */
  readonly xmlEncode: (text: string) => string;
  /** exceljs's `Note` (lib/doc/note.js): a cell's note and its model. */
  readonly Note: new (
    text: string,
  ) => { readonly model: object };
}

/** The parts of exceljs's streaming worksheet (lib/stream/xlsx/worksheet-writer.js) a row touches. */
interface WorksheetInternals {
  readonly _rows: readonly unknown[] | null;
  _rowZero: number;
  readonly startedData: boolean;
  hasComments: boolean;
  readonly stream: { write(xml: string): unknown };
  readonly _sheetCommentsWriter: { addComments(comments: object[]): void };
  readonly _workbook: { readonly styles: { addStyleModel(style: object, cellType: number): number } };
}

/** A row's cells, reused from row to row: column `i + 1` has `values[i]` (undefined: no cell). */
export class SheetRowCells {
  readonly values: Array<string | number | undefined> = [];
  readonly styles: Array<Partial<Style>> = [];
  readonly notes: Array<string | undefined> = [];
  length = 0;

  clear(): this {
    this.length = 0;
    return this;
  }

  add(value: string | number | undefined, style: Partial<Style>, note?: string): this {
    const i = this.length++;
    this.values[i] = value;
    this.styles[i] = style;
    this.notes[i] = note;
    return this;
  }
}

/** How a file's rows went (the tests count them). */
export interface RowXmlCounts {
  /** Rows written here. */
  fast: number;
  /** Rows written by exceljs and compared. */
  checked: number;
  /** Rows whose XML or notes differed from what this file would write (then exceljs writes the rest). */
  differed: number;
}

/** Writes a worksheet's data rows, after exceljs has written its title and header rows. */
export class SheetRowWriter {
  readonly counts: RowXmlCounts = { fast: 0, checked: 0, differed: 0 };
  private readonly sheet: WorksheetInternals;
  /** Kinds of cell exceljs wrote as this file would: column × style × number × note. */
  private readonly verified = new Set<number>();
  private readonly styleNumbers = new Map<Partial<Style>, number>();
  private readonly styleAttributes: string[] = [];
  private readonly columns: string[] = [];
  private readonly notes = new Map<string, object>();
  private pieces: string[] = [];
  private pieceChars = 0;
  /** Written by exceljs alone: it was asked so (no parts), or a row differed. */
  private alone: boolean;

  constructor(
    private readonly worksheet: Worksheet,
    private readonly parts: RowXmlParts | undefined,
  ) {
    this.sheet = worksheet as unknown as WorksheetInternals;
    this.alone = parts === undefined;
  }

  write(cells: SheetRowCells): void {
    if (!this.alone && this.sheet.startedData && this.sheet._rows?.length === 0 && this.known(cells)) {
      this.writeHere(cells);
      return;
    }
    this.flush();
    this.writeThroughExceljs(cells);
  }

  /** Hands on what is held: before exceljs writes anything more to the sheet (its commit). */
  flush(): void {
    if (this.pieceChars === 0) return;
    this.sheet.stream.write(this.pieces.join(''));
    this.pieces = [];
    this.pieceChars = 0;
  }

  /** The file's own number for a style object (the sheet's styles are a few shared objects). */
  private styleNumber(style: Partial<Style>): number {
    let number = this.styleNumbers.get(style);
    if (number === undefined) {
      number = this.styleNumbers.size;
      this.styleNumbers.set(style, number);
    }
    return number;
  }

  private kindOf(cells: SheetRowCells, i: number): number {
    const style = this.styleNumber(cells.styles[i]!);
    // Columns are fewer than 16,384 (Excel's own limit), so no two kinds share a number.
    const place = style * 16_384 + i;
    return (place * 2 + (typeof cells.values[i] === 'number' ? 1 : 0)) * 2 + (cells.notes[i] ? 1 : 0);
  }

  private known(cells: SheetRowCells): boolean {
    let any = false;
    for (let i = 0; i < cells.length; i++) {
      if (cells.values[i] === undefined) continue;
      if (!this.verified.has(this.kindOf(cells, i))) return false;
      any = true;
    }
    return any;
  }

  private column(i: number): string {
    let name = this.columns[i];
    if (name === undefined) {
      name = '';
      for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26))
        name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
      this.columns[i] = name;
    }
    return name;
  }

  /** ` s="N"` for a style exceljs has seen (it knows a style object it has seen; 0 is written as none). */
  private styleAttribute(style: Partial<Style>, isNumber: boolean): string {
    const number = this.styleNumber(style);
    let attribute = this.styleAttributes[number];
    if (attribute === undefined) {
      const id = this.sheet._workbook.styles.addStyleModel(style, isNumber ? NUMBER_TYPE : STRING_TYPE);
      attribute = id ? ` s="${id}"` : '';
      this.styleAttributes[number] = attribute;
    }
    return attribute;
  }

  private noteModel(text: string): object {
    let model = this.notes.get(text);
    if (!model) {
      model = new this.parts!.Note(text).model;
      this.notes.set(text, model);
    }
    return model;
  }

  /** The row's XML and notes as this file writes them, for row number `n`. */
  private render(cells: SheetRowCells, n: number): { xml: string; notes: object[] } {
    let min = 0;
    let max = 0;
    let body = '';
    const notes: object[] = [];
    for (let i = 0; i < cells.length; i++) {
      const value = cells.values[i];
      if (value === undefined) continue;
      if (min === 0) min = i + 1;
      max = i + 1;
      const ref = `${this.column(i)}${n}`;
      const isNumber = typeof value === 'number';
      const s = this.styleAttribute(cells.styles[i]!, isNumber);
      body += isNumber
        ? `<c r="${ref}"${s}><v>${value}</v></c>`
        : `<c r="${ref}"${s} t="str"><v>${this.parts!.xmlEncode(value)}</v></c>`;
      const note = cells.notes[i];
      if (note) notes.push({ ...this.noteModel(note), ref });
    }
    return { xml: `<row r="${n}" spans="${min}:${max}" x14ac:dyDescent="0.25">${body}</row>`, notes };
  }

  private writeHere(cells: SheetRowCells): void {
    const n = this.sheet._rowZero;
    const { xml, notes } = this.render(cells, n);
    this.pieces.push(xml);
    this.pieceChars += xml.length;
    if (notes.length > 0) {
      // Notes go to their own streams: the rows before them need not be handed on first.
      this.sheet.hasComments = true;
      this.sheet._sheetCommentsWriter.addComments(notes);
    }
    // As exceljs's commit leaves it: the next row's number, no row waiting.
    this.sheet._rowZero = n + 1;
    this.counts.fast++;
    if (this.pieceChars >= PIECE_CHARS) this.flush();
  }

  /** exceljs writes the row; unless this file is already on its own, what it wrote is compared. */
  private writeThroughExceljs(cells: SheetRowCells): void {
    const row = this.worksheet.addRow(cells.values.slice(0, cells.length));
    for (let i = 0; i < cells.length; i++) {
      if (cells.values[i] === undefined) continue;
      const cell: Cell = row.getCell(i + 1);
      cell.style = cells.styles[i]!;
      const note = cells.notes[i];
      if (note) cell.note = note;
    }
    // A row without a cell is no XML at all: nothing to compare.
    const empty = !cells.values.slice(0, cells.length).some((v) => v !== undefined);
    if (empty || this.alone || !this.sheet.startedData || this.sheet._rows?.length !== 1) {
      row.commit();
      return;
    }
    const n = row.number;
    const seen = this.capture(() => row.commit());
    this.counts.checked++;
    const mine = this.render(cells, n);
    if (seen.xml === mine.xml && seen.notes === JSON.stringify(mine.notes)) {
      for (let i = 0; i < cells.length; i++)
        if (cells.values[i] !== undefined) this.verified.add(this.kindOf(cells, i));
    } else {
      this.counts.differed++;
      this.alone = true;
    }
  }

  /** What exceljs writes of a row while `commit` runs: its XML, and its notes as JSON. */
  private capture(commit: () => void): { xml: string; notes: string } {
    const stream = this.sheet.stream;
    const comments = this.sheet._sheetCommentsWriter;
    const xml: string[] = [];
    const notes: object[] = [];
    const ownWrite = stream.write;
    const ownAdd = comments.addComments;
    const ownWriteOwn = Object.getOwnPropertyDescriptor(stream, 'write');
    const ownAddOwn = Object.getOwnPropertyDescriptor(comments, 'addComments');
    stream.write = function (this: typeof stream, text: string, ...rest: unknown[]) {
      xml.push(text);
      return (ownWrite as (...args: unknown[]) => unknown).call(this, text, ...rest);
    };
    comments.addComments = function (this: typeof comments, list: object[]) {
      // Before exceljs adds its decoded address to each.
      notes.push(...list.map((c) => ({ ...c })));
      ownAdd.call(this, list);
    };
    try {
      commit();
    } finally {
      restore(stream, 'write', ownWriteOwn);
      restore(comments, 'addComments', ownAddOwn);
    }
    return { xml: xml.join(''), notes: JSON.stringify(notes) };
  }
}

/** Puts back an instance's own property as it was, or removes the stand-in (back to the prototype's). */
function restore(target: object, name: string, own: PropertyDescriptor | undefined): void {
  if (own) Object.defineProperty(target, name, own);
  else delete (target as Record<string, unknown>)[name];
}

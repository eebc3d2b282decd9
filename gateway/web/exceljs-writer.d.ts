/**
 * exceljs's streaming workbook writer, loaded by its own file (report-xlsx.ts): the package's main
 * file loads every reader and writer it has (≈ 0.5 s and 33 MB); this one file, ≈ 0.14 s and 20 MB.
 * The class is the one the package exports as `stream.xlsx.WorkbookWriter`.
 */
declare module 'exceljs/lib/stream/xlsx/workbook-writer.js' {
  import type { stream } from 'exceljs';

  const WorkbookWriter: typeof stream.xlsx.WorkbookWriter;
  export = WorkbookWriter;
}

/** exceljs's cell note (sheet-notes.ts shares its merged model per text). */
declare module 'exceljs/lib/doc/note.js' {
  const Note: { prototype: object; new (text: string): { readonly model: object } };
  export = Note;
}

/** exceljs's streaming writer of a worksheet's notes (sheet-notes.ts writes them from templates). */
declare module 'exceljs/lib/stream/xlsx/sheet-comments-writer.js' {
  const SheetCommentsWriter: {
    prototype: {
      _writeComment(
        this: { commentsStream: { write(xml: string): unknown }; vmlStream: { write(xml: string): unknown } },
        comment: {
          readonly note: object;
          readonly ref: string;
          readonly refAddress: { readonly row: number; readonly col: number };
        },
        index: number,
      ): void;
    };
  };
  export = SheetCommentsWriter;
}

/** exceljs's helpers: `xmlEncode` is the escaping of every text it writes (sheet-row-xml.ts uses it). */
declare module 'exceljs/lib/utils/utils.js' {
  const utils: { xmlEncode(text: string): string };
  export = utils;
}

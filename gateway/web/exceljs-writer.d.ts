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

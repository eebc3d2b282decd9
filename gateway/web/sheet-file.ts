/**
 * The attendance sheets as Excel files, written with exceljs's streaming writer (`WorkbookWriter`):
 * each row is committed (zipped and sent) as it comes, so a month of 5,000 workers never sits in
 * memory as a workbook. This runs in the sheet writer's own thread (sheet-writers.ts), which loads
 * the writer when it starts: a gateway whose manager never downloads a sheet never loads it. Why
 * exceljs: docs/reports.md.
 */
import type { PassThrough } from 'node:stream';
import type { Style, Worksheet } from 'exceljs';
import { type AttendanceRow, maskIdNumber } from '../reports/attendance';
import type { AttendanceDay } from '../reports/day-count';
import type { Lang } from './i18n';
import { sheetTimeFormat } from './report-time';
import { anomalyList, dateTitle, monthTitle, reportSay } from './report-words';
import { speedUpNotes } from './sheet-notes';
import { type RowXmlParts, SheetRowCells, SheetRowWriter } from './sheet-row-xml';

type WorkbookWriterClass = typeof import('exceljs').stream.xlsx.WorkbookWriter;

interface Writer {
  readonly WorkbookWriter: WorkbookWriterClass;
  /** What data rows are written with (sheet-row-xml.ts); undefined: by exceljs alone. */
  readonly rowParts: RowXmlParts | undefined;
}

let writer: Promise<Writer> | undefined;

/**
 * The streaming writer alone (exceljs-writer.d.ts): a tenth of the package's load time. Loaded
 * once, with its notes written from templates (sheet-notes.ts). `EDGE_GATEWAY_EXCEL_NOTES=exceljs`
 * and `EDGE_GATEWAY_EXCEL_ROWS=exceljs` leave notes and rows to exceljs alone (the benchmarks'
 * baselines, and a way out in the field).
 */
function loadParts(): Promise<Writer> {
  writer ??= Promise.all([
    import('exceljs/lib/stream/xlsx/workbook-writer.js'),
    import('exceljs/lib/doc/note.js'),
    import('exceljs/lib/stream/xlsx/sheet-comments-writer.js'),
    import('exceljs/lib/utils/utils.js'),
  ]).then(([loaded, note, comments, utils]) => {
    const Note = defaultOf(note);
    if (process.env.EDGE_GATEWAY_EXCEL_NOTES !== 'exceljs') speedUpNotes(Note, defaultOf(comments));
    return {
      WorkbookWriter: defaultOf(loaded) as WorkbookWriterClass,
      rowParts:
        process.env.EDGE_GATEWAY_EXCEL_ROWS === 'exceljs'
          ? undefined
          : { Note, xmlEncode: defaultOf(utils).xmlEncode },
    };
  });
  return writer;
}

export async function loadWriter(): Promise<WorkbookWriterClass> {
  return (await loadParts()).WorkbookWriter;
}

/** A CommonJS module's export, whichever way the loader hands it over. */
function defaultOf<T>(loaded: T | { default: T }): T {
  return typeof loaded === 'object' && loaded !== null && 'default' in loaded
    ? loaded.default
    : (loaded as T);
}

/** Amber, as on the page: a day with an anomaly. */
const ANOMALY_FILL = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFD966' } } as const;
const HOURS_FORMAT = '0.0';
/**
 * Every cell's style is one of these objects, shared: exceljs knows a style it has seen by the
 * object (a WeakMap), and works out the XML of any other (≈ 6 µs a cell: 190,000 cells a month).
 */
const PLAIN: Partial<Style> = {};
const HOURS: Partial<Style> = { numFmt: HOURS_FORMAT };
const FLAGGED: Partial<Style> = { numFmt: HOURS_FORMAT, fill: ANOMALY_FILL };
/** The fixed columns before the days: 姓名, 身份证号, 班组, 劳务分包单位. */
const LEAD_COLUMNS = 4;

export interface SheetFileContext {
  readonly lang: Lang;
  readonly siteName: string;
  readonly timezone: string;
}

/** What a sheet's file says besides its rows. */
export interface SheetFileHead extends SheetFileContext {
  readonly format: 'xlsx';
  readonly kind: 'monthly' | 'daily';
  /** `YYYY-MM` or `YYYY-MM-DD`. */
  readonly period: string;
  /** The sheet's dates, `YYYY-MM-DD`, one column each in a monthly file. */
  readonly dates: readonly string[];
}

/** What a file or the JSON shows of a row of the sheet (`AttendanceRow` has it). */
export type SheetFileRow = Pick<
  AttendanceRow,
  'workerId' | 'pin' | 'name' | 'idCardNo' | 'team' | 'employer' | 'days' | 'daysPresent' | 'totalHours'
>;

/**
 * Writes the file into `out` as `rows` yields them, and ends it. A failure half-way rejects and
 * leaves `out` to the caller to destroy (the download breaks: never a short file that looks whole).
 * It runs in the sheet writer's thread (sheet-writer-thread.ts), or here when that cannot start.
 */
export async function writeSheetFile(
  out: PassThrough,
  head: SheetFileHead,
  rows: AsyncIterable<SheetFileRow>,
): Promise<void> {
  if (head.kind === 'monthly') await writeMonthly(out, head, rows);
  else await writeDaily(out, head, rows);
}

async function openWorkbook(out: PassThrough, name: string) {
  const { WorkbookWriter, rowParts } = await loadParts();
  const workbook = new WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const worksheet = workbook.addWorksheet(name, {
    pageSetup: { paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 },
    // The names and the header stay in view while scrolling (a streamed sheet takes views only here).
    views: [{ state: 'frozen', xSplit: 1, ySplit: 2 }],
  });
  return { workbook, worksheet, rowParts };
}

/** The title row: the site and the period, across the whole table. */
function titleRow(worksheet: Worksheet, title: string, columns: number): void {
  const row = worksheet.addRow([title]);
  row.font = { bold: true, size: 14 };
  row.height = 24;
  worksheet.mergeCells(1, 1, 1, columns);
  row.commit();
}

function headerRow(worksheet: Worksheet, values: ReadonlyArray<string | number>): void {
  const row = worksheet.addRow([...values]);
  row.font = { bold: true };
  row.alignment = { horizontal: 'center' };
  row.commit();
}

/** A day's hours as a number when the worker was there; no cell at all for a day without a punch. */
function dayValue(day: AttendanceDay): number | undefined {
  return day.present || day.open ? day.hours : undefined;
}

/** A day's cell: highlighted with a note for an anomaly. */
function addDay(cells: SheetRowCells, day: AttendanceDay, lang: Lang): void {
  const value = dayValue(day);
  if (value === undefined) cells.add(undefined, PLAIN);
  else if (day.anomalies.length > 0) cells.add(value, FLAGGED, anomalyList(lang, day.anomalies));
  else cells.add(value, HOURS, day.open ? reportSay(lang, 'stillInside') : undefined);
}

/**
 * Every few hundred rows the writer waits for the download to take what is written, so a slow
 * client holds little in memory; a client gone away ends the writing.
 */
export async function drained(out: PassThrough): Promise<void> {
  if (!out.destroyed && out.writableNeedDrain) {
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.once('drain', done);
      out.once('close', done);
    });
  }
  if (out.destroyed) throw new Error('the download was closed');
}

async function writeMonthly(out: PassThrough, sheet: SheetFileHead, rows: AsyncIterable<SheetFileRow>) {
  const { lang } = sheet;
  const { workbook, worksheet, rowParts } = await openWorkbook(out, reportSay(lang, 'sheetName'));
  const days = sheet.dates.length;
  const columns = LEAD_COLUMNS + days + 2;
  worksheet.columns = [
    { width: 12 },
    { width: 21 },
    { width: 12 },
    { width: 20 },
    ...sheet.dates.map(() => ({ width: 5.5 })),
    { width: 9 },
    { width: 9 },
  ];
  titleRow(
    worksheet,
    reportSay(lang, 'sheetTitle', { site: sheet.siteName, month: monthTitle(lang, sheet.period) }),
    columns,
  );
  headerRow(worksheet, [
    ...leadHeader(lang),
    // Day numbers as numbers (1 … N), as a sheet's columns are summed and sorted by them.
    ...sheet.dates.map((_, i) => i + 1),
    reportSay(lang, 'daysPresent'),
    reportSay(lang, 'totalHours'),
  ]);
  const rowWriter = new SheetRowWriter(worksheet, rowParts);
  const cells = new SheetRowCells();
  let n = 0;
  for await (const r of rows) {
    addLead(cells.clear(), r, lang);
    for (const day of r.days) addDay(cells, day, lang);
    cells.add(r.daysPresent, PLAIN).add(r.totalHours, HOURS);
    rowWriter.write(cells);
    if (++n % 200 === 0) await drained(out);
  }
  rowWriter.flush();
  worksheet.commit();
  await workbook.commit();
}

async function writeDaily(out: PassThrough, sheet: SheetFileHead, rows: AsyncIterable<SheetFileRow>) {
  const { lang, timezone } = sheet;
  const time = sheetTimeFormat(timezone);
  const { workbook, worksheet, rowParts } = await openWorkbook(out, reportSay(lang, 'dailySheetName'));
  worksheet.columns = [
    { width: 12 },
    { width: 21 },
    { width: 12 },
    { width: 20 },
    { width: 20 },
    { width: 20 },
    { width: 8 },
    { width: 16 },
  ];
  titleRow(
    worksheet,
    reportSay(lang, 'dailySheetTitle', { site: sheet.siteName, date: dateTitle(lang, sheet.period) }),
    8,
  );
  headerRow(worksheet, [
    ...leadHeader(lang),
    reportSay(lang, 'firstIn'),
    reportSay(lang, 'lastOut'),
    reportSay(lang, 'hours'),
    reportSay(lang, 'anomalies'),
  ]);
  const rowWriter = new SheetRowWriter(worksheet, rowParts);
  const cells = new SheetRowCells();
  let n = 0;
  for await (const r of rows) {
    const day = r.days[0]!;
    addLead(cells.clear(), r, lang);
    cells.add(day.firstInMs === undefined ? '' : time(day.firstInMs), PLAIN);
    cells.add(day.lastOutMs === undefined ? '' : time(day.lastOutMs), PLAIN);
    addDay(cells, day, lang);
    cells.add(day.anomalies.length > 0 ? anomalyList(lang, day.anomalies) : '', PLAIN);
    rowWriter.write(cells);
    if (++n % 200 === 0) await drained(out);
  }
  rowWriter.flush();
  worksheet.commit();
  await workbook.commit();
}

function leadHeader(lang: Lang): string[] {
  return [
    reportSay(lang, 'name'),
    reportSay(lang, 'idNumber'),
    reportSay(lang, 'team'),
    reportSay(lang, 'employer'),
  ];
}

/** Name, masked ID number, team, employer: text, never a formula (a name starting "=" stays a name). */
function addLead(cells: SheetRowCells, r: SheetFileRow, lang: Lang): void {
  cells.add(r.name, PLAIN).add(maskIdNumber(r.idCardNo), PLAIN);
  cells.add(r.team || reportSay(lang, 'noTeam'), PLAIN).add(r.employer, PLAIN);
}

/** `attachment; filename=…` with the period, ASCII and UTF-8 (RFC 6266) so every browser keeps it. */
export function sheetFileName(kind: 'monthly' | 'daily', period: string, lang: Lang): string {
  const ascii = `${kind === 'monthly' ? 'attendance' : 'attendance-daily'}-${period}.xlsx`;
  const local = `${reportSay(lang, kind === 'monthly' ? 'monthly' : 'daily')}-${period}.xlsx`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(local)}`;
}

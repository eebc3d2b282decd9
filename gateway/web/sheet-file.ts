/**
 * The attendance sheets as Excel files, written with exceljs's streaming writer (`WorkbookWriter`):
 * each row is committed (zipped and sent) as it comes, so a month of 5,000 workers never sits in
 * memory as a workbook. This runs in the sheet writer's own thread (sheet-writers.ts), which loads
 * the writer when it starts: a gateway whose manager never downloads a sheet never loads it. Why
 * exceljs: docs/reports.md.
 */
import type { PassThrough } from 'node:stream';
import type { Cell, Style, Worksheet } from 'exceljs';
import { type AttendanceRow, maskIdNumber } from '../reports/attendance';
import type { AttendanceDay } from '../reports/day-count';
import type { Lang } from './i18n';
import { sheetTimeFormat } from './report-time';
import { anomalyList, dateTitle, monthTitle, reportSay } from './report-words';
import { speedUpNotes } from './sheet-notes';

type WorkbookWriterClass = typeof import('exceljs').stream.xlsx.WorkbookWriter;

let writer: Promise<WorkbookWriterClass> | undefined;

/**
 * The streaming writer alone (exceljs-writer.d.ts): a tenth of the package's load time. Loaded
 * once, with its notes written from templates (sheet-notes.ts).
 */
export function loadWriter(): Promise<WorkbookWriterClass> {
  writer ??= Promise.all([
    import('exceljs/lib/stream/xlsx/workbook-writer.js'),
    import('exceljs/lib/doc/note.js'),
    import('exceljs/lib/stream/xlsx/sheet-comments-writer.js'),
  ]).then(([loaded, note, comments]) => {
    if (process.env.EDGE_GATEWAY_EXCEL_NOTES !== 'exceljs')
      speedUpNotes(defaultOf(note), defaultOf(comments));
    return defaultOf(loaded) as WorkbookWriterClass;
  });
  return writer;
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
  const WorkbookWriter = await loadWriter();
  const workbook = new WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const worksheet = workbook.addWorksheet(name, {
    pageSetup: { paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 },
    // The names and the header stay in view while scrolling (a streamed sheet takes views only here).
    views: [{ state: 'frozen', xSplit: 1, ySplit: 2 }],
  });
  return { workbook, worksheet };
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

/** A day's cell (one with a value): highlighted with a note for an anomaly. */
function dayCell(cell: Cell, day: AttendanceDay, lang: Lang): void {
  if (day.anomalies.length > 0) {
    cell.style = FLAGGED;
    cell.note = anomalyList(lang, day.anomalies);
  } else {
    cell.style = HOURS;
    if (day.open) cell.note = reportSay(lang, 'stillInside');
  }
}

/** The row's cells that have a value (`addRow` makes none for `undefined`) get a shared plain style. */
function plainCells(row: { getCell(n: number): Cell }, values: ReadonlyArray<unknown>): void {
  for (let i = 0; i < values.length; i++) if (values[i] !== undefined) row.getCell(i + 1).style = PLAIN;
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
  const { workbook, worksheet } = await openWorkbook(out, reportSay(lang, 'sheetName'));
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
  let n = 0;
  for await (const r of rows) {
    const values: Array<string | number | undefined> = leadCells(r, lang);
    for (const day of r.days) values.push(dayValue(day));
    values.push(r.daysPresent, r.totalHours);
    const row = worksheet.addRow(values);
    plainCells(row, values);
    for (let i = 0; i < days; i++) {
      if (values[LEAD_COLUMNS + i] !== undefined)
        dayCell(row.getCell(LEAD_COLUMNS + 1 + i), r.days[i]!, lang);
    }
    row.getCell(LEAD_COLUMNS + days + 2).style = HOURS;
    row.commit();
    if (++n % 200 === 0) await drained(out);
  }
  worksheet.commit();
  await workbook.commit();
}

async function writeDaily(out: PassThrough, sheet: SheetFileHead, rows: AsyncIterable<SheetFileRow>) {
  const { lang, timezone } = sheet;
  const time = sheetTimeFormat(timezone);
  const { workbook, worksheet } = await openWorkbook(out, reportSay(lang, 'dailySheetName'));
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
  let n = 0;
  for await (const r of rows) {
    const day = r.days[0]!;
    const values: Array<string | number | undefined> = [
      ...leadCells(r, lang),
      day.firstInMs === undefined ? '' : time(day.firstInMs),
      day.lastOutMs === undefined ? '' : time(day.lastOutMs),
      dayValue(day),
      day.anomalies.length > 0 ? anomalyList(lang, day.anomalies) : '',
    ];
    const row = worksheet.addRow(values);
    plainCells(row, values);
    if (values[6] !== undefined) dayCell(row.getCell(7), day, lang);
    row.commit();
    if (++n % 200 === 0) await drained(out);
  }
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
function leadCells(r: SheetFileRow, lang: Lang): string[] {
  return [r.name, maskIdNumber(r.idCardNo), r.team || reportSay(lang, 'noTeam'), r.employer];
}

/** `attachment; filename=…` with the period, ASCII and UTF-8 (RFC 6266) so every browser keeps it. */
export function sheetFileName(kind: 'monthly' | 'daily', period: string, lang: Lang): string {
  const ascii = `${kind === 'monthly' ? 'attendance' : 'attendance-daily'}-${period}.xlsx`;
  const local = `${reportSay(lang, kind === 'monthly' ? 'monthly' : 'daily')}-${period}.xlsx`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(local)}`;
}

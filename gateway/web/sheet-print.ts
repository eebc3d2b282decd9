/**
 * The print view's rows (`/reports/attendance/print`) as text: a section per team, each row a
 * table row. Written in the sheet writer's thread (sheet-writers.ts) with the files and the JSON; the
 * page around it and each team's head are rendered by the route, on the loop, and handed over.
 */
import type { PassThrough } from 'node:stream';
import { maskIdNumber } from '../reports/attendance';
import type { AttendanceDay } from '../reports/day-count';
import { DayTexts } from './day-texts';
import type { Lang } from './i18n';
import { anomalyList, anomalyName } from './report-words';
import type { SheetFileRow } from './sheet-file';

/** The print view around the rows. */
export interface SheetPrintHead {
  readonly format: 'print';
  readonly lang: Lang;
  /** Everything before the first team (the page's head); written from the loop at once. */
  readonly prefix: string;
  /** Everything after the last team. */
  readonly suffix: string;
  /** Each team's section start ('' = no team), rendered by the route. */
  readonly teamStarts: Readonly<Record<string, string>>;
  /** A team's section end, with its signature line. */
  readonly teamEnd: string;
  readonly dates: readonly string[];
}

/** Rows per write. */
const ROWS_PER_PIECE = 100;

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

export function hoursText(hours: number): string {
  return hours.toFixed(1);
}

/** Writes the print view's teams and rows into `out` and ends it; waits while `out`'s reader is behind. */
export async function writeSheetPrint(
  out: PassThrough,
  head: SheetPrintHead,
  rows: AsyncIterable<SheetFileRow>,
): Promise<void> {
  const dayTexts = new DayTexts();
  out.write(head.prefix);
  let team: string | undefined;
  let piece = '';
  let n = 0;
  for await (const row of rows) {
    if (row.team !== team) {
      if (team !== undefined) piece += head.teamEnd;
      team = row.team;
      piece += head.teamStarts[team] ?? '';
    }
    piece += printRowHtml(head.lang, row, maskIdNumber(row.idCardNo), dayTexts);
    if (++n % ROWS_PER_PIECE === 0) {
      out.write(piece);
      piece = '';
      if (out.writableNeedDrain) await new Promise<void>((resume) => out.once('drain', resume));
      if (out.destroyed) throw new Error('the download was closed');
    }
  }
  if (team !== undefined) piece += head.teamEnd;
  out.end(piece + head.suffix);
}

export function printRowHtml(
  lang: Lang,
  row: Pick<SheetFileRow, 'workerId' | 'name' | 'employer' | 'days' | 'daysPresent' | 'totalHours'>,
  idNumber: string,
  dayTexts = new DayTexts(),
): string {
  const cell = (day: AttendanceDay) => printDayHtml(lang, day);
  let cells = '';
  for (const day of row.days) cells += dayTexts.of(day, cell);
  return (
    `<tr data-worker="${escapeHtml(row.workerId)}"><td class="who">${escapeHtml(row.name)}</td>` +
    `<td class="id">${escapeHtml(idNumber)}</td><td class="employer">${escapeHtml(row.employer)}</td>${cells}` +
    `<td class="n">${row.daysPresent}</td><td class="n">${hoursText(row.totalHours)}</td></tr>`
  );
}

function printDayHtml(lang: Lang, day: AttendanceDay): string {
  if (day.anomalies.length > 0) {
    const short = day.anomalies.map((a) => anomalyName(lang, a, true)).join(lang === 'en' ? ', ' : '、');
    return (
      `<td class="d a" title="${escapeHtml(anomalyList(lang, day.anomalies))}">` +
      `${hoursText(day.hours)}<small>${escapeHtml(short)}</small></td>`
    );
  }
  return `<td class="d">${day.present || day.open ? hoursText(day.hours) : ''}</td>`;
}

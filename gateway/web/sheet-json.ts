/**
 * A sheet's rows as the JSON of `/api/reports/{attendance,daily}`, written by hand: a month is
 * 155,000 days, which as objects through JSON.stringify cost ≈ 3× the time. Texts (names, ids)
 * still go through JSON.stringify; dates, numbers and times are digits. It runs in the sheet
 * writer's thread (sheet-writers.ts) with the Excel files: as text on the gateway's loop, a month's
 * JSON and its encoding were a fifth of the loop's time under the web benchmark (docs/reports.md).
 */
import type { PassThrough } from 'node:stream';
import { maskIdNumber } from '../reports/attendance';
import type { AttendanceDay } from '../reports/day-count';
import { DayTexts } from './day-texts';
import { sheetTimeFormat } from './report-time';
import { drained, type SheetFileRow } from './sheet-file';

/** The JSON document around the rows: its head and its end are the route's. */
export interface SheetJsonHead {
  readonly format: 'json';
  readonly kind: 'monthly' | 'daily';
  readonly timezone: string;
  /** Everything before the first row (`{…,"workers":[`). */
  readonly prefix: string;
  /** Everything after the last (`]}`). */
  readonly suffix: string;
  /** The sheet's dates. */
  readonly dates: readonly string[];
}

/** Rows per write: the text of 100 workers of a month is ≈ 250 KB. */
const ROWS_PER_PIECE = 100;

/** Writes the document into `out` and ends it; waits while `out`'s reader is behind, stops if it goes. */
export async function writeSheetJson(
  out: PassThrough,
  head: SheetJsonHead,
  rows: AsyncIterable<SheetFileRow>,
): Promise<void> {
  const time = sheetTimeFormat(head.timezone);
  const dayTexts = new DayTexts();
  out.write(head.prefix);
  let lines: string[] = [];
  let first = true;
  const flush = async () => {
    out.write(`${first ? '' : ','}${lines.join(',')}`);
    first = false;
    lines = [];
    await drained(out);
  };
  for await (const row of rows) {
    lines.push(jsonRow(time, row, head.kind, dayTexts));
    if (lines.length >= ROWS_PER_PIECE) await flush();
  }
  if (lines.length > 0) await flush();
  out.end(head.suffix);
}

function jsonRow(
  time: (ms: number) => string,
  row: SheetFileRow,
  kind: 'monthly' | 'daily',
  dayTexts: DayTexts,
): string {
  const days: string[] = [];
  for (const d of row.days) {
    if (kind === 'monthly') {
      days.push(dayTexts.of(d, dayJsonHead, '}'));
      continue;
    }
    const head = dayJsonHead(d);
    const first = d.firstInMs === undefined ? null : d.firstInMs;
    const last = d.lastOutMs === undefined ? null : d.lastOutMs;
    days.push(
      `${head},"firstInMs":${first},"lastOutMs":${last},` +
        `"firstIn":${first === null ? null : `"${time(first)}"`},"lastOut":${last === null ? null : `"${time(last)}"`}}`,
    );
  }
  const text = (value: string) => JSON.stringify(value);
  return (
    `{"workerId":${text(row.workerId)},"name":${text(row.name)},"pin":${text(row.pin)},` +
    `"idNumber":${text(maskIdNumber(row.idCardNo))},"team":${text(row.team)},"employer":${text(row.employer)},` +
    `"daysPresent":${row.daysPresent},"totalHours":${row.totalHours},"days":[${days.join(',')}]}`
  );
}

function dayJsonHead(d: AttendanceDay): string {
  const anomalies = d.anomalies.length === 0 ? '[]' : JSON.stringify(d.anomalies);
  return `{"date":"${d.date}","hours":${d.hours},"present":${d.present},"anomalies":${anomalies},"open":${d.open}`;
}

/**
 * A sheet's rows as the JSON of `/api/reports/{attendance,daily}`, written by hand: a month is
 * 155,000 days, which as objects through JSON.stringify cost ≈ 3× the time. Texts (names, ids)
 * still go through JSON.stringify; dates, numbers and times are digits; the text goes straight into
 * bytes (`JsonPieces`). It runs in the sheet
 * writer's thread (sheet-writers.ts) with the Excel files: as text on the gateway's loop, a month's
 * JSON and its encoding were a fifth of the loop's time under the web benchmark (docs/reports.md).
 */
import type { PassThrough } from 'node:stream';
import { maskIdNumber } from '../reports/attendance';
import type { AttendanceDay } from '../reports/day-count';
import { DayMemo } from './day-texts';
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

/** Bytes per write into the document's stream (a month's JSON is 12 MB). */
const PIECE_BYTES = 256 * 1024;
const COMMA = 0x2c;
const ROW_END = Buffer.from(']}');

/**
 * The document's bytes, written into pieces as they come: a month's 155,000 days are a few thousand
 * kinds of day (`DayMemo`), each encoded once and then copied, so the text of a month is never built
 * as strings to be joined and encoded again (as it was: two thirds of the JSON's time in the
 * thread under the web benchmark, docs/reports.md).
 */
class JsonPieces {
  private piece = Buffer.allocUnsafeSlow(PIECE_BYTES);
  private at = 0;

  get full(): boolean {
    return this.at >= PIECE_BYTES - 1024;
  }

  byte(value: number): void {
    if (this.at === this.piece.length) this.grow(1);
    this.piece[this.at++] = value;
  }

  bytes(value: Uint8Array): void {
    if (this.at + value.length > this.piece.length) this.grow(value.length);
    this.piece.set(value, this.at);
    this.at += value.length;
  }

  text(value: string): void {
    // UTF-8 is at most 3 bytes per UTF-16 unit.
    if (this.at + value.length * 3 > this.piece.length) this.grow(value.length * 3);
    this.at += this.piece.write(value, this.at);
  }

  /** What is written so far, as a Buffer of its own; the next bytes go into a new piece. */
  take(): Buffer {
    const taken = this.piece.subarray(0, this.at);
    this.piece = Buffer.allocUnsafeSlow(PIECE_BYTES);
    this.at = 0;
    return taken;
  }

  /** A row longer than what is left: a piece big enough for what is written and `more`. */
  private grow(more: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.piece.length * 2, this.at + more));
    this.piece.copy(bigger, 0, 0, this.at);
    this.piece = bigger;
  }
}

/** Writes the document into `out` and ends it; waits while `out`'s reader is behind, stops if it goes. */
export async function writeSheetJson(
  out: PassThrough,
  head: SheetJsonHead,
  rows: AsyncIterable<SheetFileRow>,
): Promise<void> {
  const time = sheetTimeFormat(head.timezone);
  const monthDays = new DayMemo((d) => Buffer.from(`${dayJsonHead(d)}}`));
  const pieces = new JsonPieces();
  pieces.text(head.prefix);
  let first = true;
  for await (const row of rows) {
    if (!first) pieces.byte(COMMA);
    first = false;
    pieces.text(rowHead(row));
    for (let i = 0; i < row.days.length; i++) {
      if (i > 0) pieces.byte(COMMA);
      const d = row.days[i]!;
      if (head.kind === 'monthly') pieces.bytes(monthDays.of(d));
      else pieces.text(dailyDay(time, d));
    }
    pieces.bytes(ROW_END);
    if (pieces.full) {
      out.write(pieces.take());
      await drained(out);
    }
  }
  pieces.text(head.suffix);
  out.end(pieces.take());
}

/** A row's JSON up to its days' `[`. */
function rowHead(row: SheetFileRow): string {
  const text = (value: string) => JSON.stringify(value);
  return (
    `{"workerId":${text(row.workerId)},"name":${text(row.name)},"pin":${text(row.pin)},` +
    `"idNumber":${text(maskIdNumber(row.idCardNo))},"team":${text(row.team)},"employer":${text(row.employer)},` +
    `"daysPresent":${row.daysPresent},"totalHours":${row.totalHours},"days":[`
  );
}

/** A daily sheet's day: with its first in and last out. */
function dailyDay(time: (ms: number) => string, d: AttendanceDay): string {
  const first = d.firstInMs === undefined ? null : d.firstInMs;
  const last = d.lastOutMs === undefined ? null : d.lastOutMs;
  return (
    `${dayJsonHead(d)},"firstInMs":${first},"lastOutMs":${last},` +
    `"firstIn":${first === null ? null : `"${time(first)}"`},"lastOut":${last === null ? null : `"${time(last)}"`}}`
  );
}

function dayJsonHead(d: AttendanceDay): string {
  const anomalies = d.anomalies.length === 0 ? '[]' : JSON.stringify(d.anomalies);
  return `{"date":"${d.date}","hours":${d.hours},"present":${d.present},"anomalies":${anomalies},"open":${d.open}`;
}

/**
 * A batch of a sheet's rows as it crosses to the sheet writer's thread: the text in one array and
 * the numbers in typed arrays whose buffers are handed over, not copied. A month of 5,000 workers
 * is 155,000 days; sent as objects, the structured clone of each batch cost the gateway's loop
 * more than writing its rows into the file had (docs/reports.md).
 */
import type { AttendanceAnomaly, AttendanceDay } from '../reports/day-count';
import type { SheetFileRow } from './sheet-file';

export interface PackedRows {
  readonly count: number;
  /** Per row: worker id, PIN, name, ID number ('' for none), team, employer. */
  readonly text: readonly string[];
  /** Per row: days present, total hours; then per day: hours, first in, last out (NaN for none). */
  readonly numbers: Float64Array;
  /** Per day: PRESENT | OPEN | MISSING_IN | MISSING_OUT. */
  readonly flags: Uint8Array;
}

const PRESENT = 1;
const OPEN = 2;
const MISSING_IN = 4;
const MISSING_OUT = 8;
const TEXT_PER_ROW = 6;
const NUMBERS_PER_DAY = 3;

export function packRows(rows: readonly SheetFileRow[], dayCount: number): PackedRows {
  const text: string[] = [];
  const perRow = 2 + dayCount * NUMBERS_PER_DAY;
  const numbers = new Float64Array(rows.length * perRow);
  const flags = new Uint8Array(rows.length * dayCount);
  rows.forEach((row, r) => {
    if (row.days.length !== dayCount)
      throw new Error(`a sheet row has ${row.days.length} days, the sheet ${dayCount}`);
    text.push(row.workerId, row.pin, row.name, row.idCardNo ?? '', row.team, row.employer);
    let at = r * perRow;
    numbers[at++] = row.daysPresent;
    numbers[at++] = row.totalHours;
    row.days.forEach((day, d) => {
      numbers[at++] = day.hours;
      numbers[at++] = day.firstInMs ?? Number.NaN;
      numbers[at++] = day.lastOutMs ?? Number.NaN;
      flags[r * dayCount + d] =
        (day.present ? PRESENT : 0) |
        (day.open ? OPEN : 0) |
        (day.anomalies.includes('missingIn') ? MISSING_IN : 0) |
        (day.anomalies.includes('missingOut') ? MISSING_OUT : 0);
    });
  });
  return { count: rows.length, text, numbers, flags };
}

/** The buffers `postMessage` hands over with a batch. */
export function packedBuffers(packed: PackedRows): ArrayBuffer[] {
  return [packed.numbers.buffer as ArrayBuffer, packed.flags.buffer as ArrayBuffer];
}

const NONE: readonly AttendanceAnomaly[] = [];
const ONLY_IN: readonly AttendanceAnomaly[] = ['missingIn'];
const ONLY_OUT: readonly AttendanceAnomaly[] = ['missingOut'];
const BOTH: readonly AttendanceAnomaly[] = ['missingIn', 'missingOut'];

/**
 * The rows again, `dates` being the sheet's (the order `countDays` gives anomalies in is kept).
 * Days without times are one frozen object per date, hours and flags, kept in `shared` across a
 * document's batches, as the gateway's cached days are (`SheetCoverage.counted`): a month's JSON
 * writes each such object's text once (`DayTexts`).
 */
export function unpackRows(
  packed: PackedRows,
  dates: readonly string[],
  shared: Map<number, AttendanceDay> = new Map(),
): SheetFileRow[] {
  const dayCount = dates.length;
  const perRow = 2 + dayCount * NUMBERS_PER_DAY;
  const { text, numbers, flags } = packed;
  if (text.length !== packed.count * TEXT_PER_ROW || numbers.length !== packed.count * perRow)
    throw new Error(`a batch of ${packed.count} rows does not fit a sheet of ${dayCount} days`);
  const rows: SheetFileRow[] = [];
  for (let r = 0; r < packed.count; r++) {
    let at = r * perRow + 2;
    const days: AttendanceDay[] = [];
    for (let d = 0; d < dayCount; d++) {
      const f = flags[r * dayCount + d]!;
      const hours = numbers[at]!;
      const firstInMs = numbers[at + 1]!;
      const lastOutMs = numbers[at + 2]!;
      at += NUMBERS_PER_DAY;
      const tenths = Math.round(hours * 10);
      const plain =
        Number.isNaN(firstInMs) && Number.isNaN(lastOutMs) && tenths >= 0 && tenths / 10 === hours;
      const key = plain ? (d * 65_536 + tenths) * 16 + f : -1;
      const known = plain ? shared.get(key) : undefined;
      if (known) {
        days.push(known);
        continue;
      }
      const day: AttendanceDay = {
        date: dates[d]!,
        hours,
        present: (f & PRESENT) !== 0,
        open: (f & OPEN) !== 0,
        anomalies: f & MISSING_IN ? (f & MISSING_OUT ? BOTH : ONLY_IN) : f & MISSING_OUT ? ONLY_OUT : NONE,
        firstInMs: Number.isNaN(firstInMs) ? undefined : firstInMs,
        lastOutMs: Number.isNaN(lastOutMs) ? undefined : lastOutMs,
      };
      if (plain) shared.set(key, Object.freeze(day));
      days.push(day);
    }
    const t = r * TEXT_PER_ROW;
    rows.push({
      workerId: text[t]!,
      pin: text[t + 1]!,
      name: text[t + 2]!,
      idCardNo: text[t + 3] || undefined,
      team: text[t + 4]!,
      employer: text[t + 5]!,
      daysPresent: numbers[r * perRow]!,
      totalHours: numbers[r * perRow + 1]!,
      days,
    });
  }
  return rows;
}

/**
 * The sheets' JSON written straight into bytes (gateway/web/sheet-json.ts) is JSON.stringify of the
 * rows as objects, byte for byte: names that need escaping or are longer than a piece, shared and
 * own day objects, monthly and daily days, many pieces.
 */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskIdNumber } from '../../gateway/reports/attendance';
import type { AttendanceDay } from '../../gateway/reports/day-count';
import { sheetTimeFormat } from '../../gateway/web/report-time';
import type { SheetFileRow } from '../../gateway/web/sheet-file';
import { type SheetJsonHead, writeSheetJson } from '../../gateway/web/sheet-json';

const ZONE = 'Asia/Shanghai';

async function written(head: SheetJsonHead, rows: readonly SheetFileRow[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  async function* each() {
    yield* rows;
  }
  await writeSheetJson(out, head, each());
  return Buffer.concat(chunks);
}

function expected(head: SheetJsonHead, rows: readonly SheetFileRow[]): string {
  const time = sheetTimeFormat(ZONE);
  const day = (d: AttendanceDay) => {
    const base = { date: d.date, hours: d.hours, present: d.present, anomalies: d.anomalies, open: d.open };
    if (head.kind === 'monthly') return base;
    const firstInMs = d.firstInMs ?? null;
    const lastOutMs = d.lastOutMs ?? null;
    return {
      ...base,
      firstInMs,
      lastOutMs,
      firstIn: firstInMs === null ? null : time(firstInMs),
      lastOut: lastOutMs === null ? null : time(lastOutMs),
    };
  };
  const objects = rows.map((r) => ({
    workerId: r.workerId,
    name: r.name,
    pin: r.pin,
    idNumber: maskIdNumber(r.idCardNo),
    team: r.team,
    employer: r.employer,
    daysPresent: r.daysPresent,
    totalHours: r.totalHours,
    days: r.days.map(day),
  }));
  return head.prefix + objects.map((o) => JSON.stringify(o)).join(',') + head.suffix;
}

const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('张三', 'a "quoted" \\ name', 'line\nbreak\u0001', '🙂🙂', '</script>'),
);
const dayOf = (date: string) =>
  fc.record({
    date: fc.constant(date),
    hours: fc.integer({ min: 0, max: 240 }).map((t) => t / 10),
    present: fc.boolean(),
    anomalies: fc.constantFrom([], ['missingIn'], ['missingOut'], ['missingIn', 'missingOut']),
    open: fc.boolean(),
    firstInMs: fc.option(fc.integer({ min: 1_780_000_000_000, max: 1_790_000_000_000 }), { nil: undefined }),
    lastOutMs: fc.option(fc.integer({ min: 1_780_000_000_000, max: 1_790_000_000_000 }), { nil: undefined }),
  }) as fc.Arbitrary<AttendanceDay>;

function rowsOf(dates: readonly string[], shared: readonly AttendanceDay[]): fc.Arbitrary<SheetFileRow[]> {
  const row = fc.record({
    workerId: text,
    name: text,
    pin: fc.stringMatching(/^\d{1,6}$/),
    idCardNo: fc.option(fc.stringMatching(/^\d{17}[\dX]$/), { nil: undefined }),
    team: text,
    employer: text,
    daysPresent: fc.nat(31),
    totalHours: fc.integer({ min: 0, max: 3000 }).map((t) => t / 10),
    // Each day a shared object (as a sheet's cached days are) or one of its own.
    days: fc.tuple(...dates.map((date, i) => fc.oneof(fc.constant(shared[i]!), dayOf(date)))),
  });
  return fc.array(row, { maxLength: 40 }) as fc.Arbitrary<SheetFileRow[]>;
}

function headOf(kind: 'monthly' | 'daily', dates: readonly string[]): SheetJsonHead {
  return {
    format: 'json',
    kind,
    timezone: ZONE,
    prefix: `{"period":"${dates[0]}","workers":[`,
    suffix: ']}',
    dates,
  };
}

describe('the sheets’ JSON', () => {
  const month = Array.from({ length: 30 }, (_, i) => `2026-06-${String(i + 1).padStart(2, '0')}`);
  const shared = month.map((date) => ({ date, hours: 8.5, present: true, anomalies: [], open: false }));

  it('is JSON.stringify of the rows, byte for byte, monthly and daily', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('monthly' as const, 'daily' as const),
        rowsOf(month, shared),
        async (kind, rows) => {
          const head = headOf(kind, month);
          const bytes = await written(head, rows);
          expect(bytes.toString('utf8')).toBe(expected(head, rows));
          expect(() => JSON.parse(bytes.toString('utf8'))).not.toThrow();
        },
      ),
      { numRuns: 80 },
    );
  });

  it('spans many pieces, and a row longer than a piece', async () => {
    const head = headOf('monthly', month);
    const long = 'é'.repeat(300_000);
    const rows: SheetFileRow[] = Array.from({ length: 3000 }, (_, w) => ({
      workerId: `w${w}`,
      name: w === 1500 ? long : `工人${w}`,
      pin: String(w),
      idCardNo: '11010519491231002X',
      team: '钢筋班',
      employer: '劳务一公司',
      days: shared,
      daysPresent: 30,
      totalHours: 255,
    }));
    const bytes = await written(head, rows);
    expect(bytes.length).toBeGreaterThan(3 * 256 * 1024);
    expect(bytes.toString('utf8')).toBe(expected(head, rows));
  });
});

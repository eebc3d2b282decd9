/**
 * The sheet writer's thread (gateway/web/sheet-writers.ts): a real worker thread started from the
 * sources as `npm start` starts it, fed a sheet's rows, its file read back with exceljs. The
 * thread's failures are real too: a thread that dies, one that cannot start.
 */
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import ExcelJS from 'exceljs';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../gateway/model';
import type { AttendanceRow, AttendanceSheet } from '../../gateway/reports/attendance';
import type { AttendanceDay } from '../../gateway/reports/day-count';
import { packRows, unpackRows } from '../../gateway/web/sheet-file-rows';
import { startSheetWriterThread } from '../../gateway/web/sheet-writer-source';
import { SheetFileWriters } from '../../gateway/web/sheet-writers';

const DATES = Array.from({ length: 30 }, (_, i) => `2026-04-${String(i + 1).padStart(2, '0')}`);

function day(date: string, k: number): AttendanceDay {
  if (k % 7 === 6) return { date, hours: 0, present: false, open: false, anomalies: [] };
  if (k % 11 === 3) return { date, hours: 0, present: true, open: false, anomalies: ['missingOut'] };
  return { date, hours: 8 + (k % 3) / 2, present: true, open: false, anomalies: [] };
}

function rowOf(n: number): AttendanceRow {
  const days = DATES.map((d, k) => day(d, k + n));
  return {
    workerId: `w${n}`,
    name: `工人${n}`,
    pin: String(n),
    idCardNo: n % 2 ? `51010419900101${String(n).padStart(4, '0')}` : undefined,
    team: n < 150 ? '钢筋班' : '',
    employer: '四川建工',
    days,
    daysPresent: days.filter((d) => d.present).length,
    totalHours: days.reduce((a, d) => a + d.hours, 0),
  };
}

/** A month's sheet of `workers` rows; `closed` counts readers that ended (the lane's turn given back). */
function sheetOf(workers: number, failAt?: number) {
  const state = { closed: 0, read: 0 };
  const sheet: AttendanceSheet = {
    period: '2026-04',
    dates: DATES,
    workerCount: workers,
    teams: [],
    complete: true,
    async *rows() {
      try {
        for (let n = 0; n < workers; n++) {
          if (n === failAt) throw new Error('the query store went away');
          state.read++;
          yield rowOf(n);
        }
      } finally {
        state.closed++;
      }
    },
  };
  return { sheet, state };
}

const CONTEXT = { lang: 'zh', siteName: '测试工地', timezone: 'Asia/Shanghai' } as const;

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

async function cellsOf(bytes: Buffer): Promise<unknown[][]> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(bytes as unknown as ArrayBuffer);
  const rows: unknown[][] = [];
  book.worksheets[0]!.eachRow((row) => {
    rows.push((row.values as unknown[]).slice(1));
  });
  return rows;
}

function recordingLogger(lines: string[]): Logger {
  return pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
}

let writers: SheetFileWriters | undefined;
afterEach(async () => {
  await writers?.stop();
  writers = undefined;
});

describe('the sheet writer’s thread', () => {
  it('writes the month’s file in a thread of its own, the same file as on the loop', async () => {
    const threads: Worker[] = [];
    writers = new SheetFileWriters({
      logger: recordingLogger([]),
      startThread: () => {
        const thread = startSheetWriterThread();
        threads.push(thread);
        return thread;
      },
    });
    const { sheet, state } = sheetOf(250);
    const inThread = await bytesOf(writers.stream(sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT }));
    expect(threads).toHaveLength(1);
    expect(state).toEqual({ closed: 1, read: 250 });

    const here = new SheetFileWriters({
      logger: recordingLogger([]),
      startThread: () => {
        throw new Error('no threads here');
      },
    });
    const onLoop = await bytesOf(
      here.stream(sheetOf(250).sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT }),
    );
    expect(here.writingInProcess).toBe(true);

    const cells = await cellsOf(inThread);
    expect(cells).toEqual(await cellsOf(onLoop));
    expect(cells).toHaveLength(252);
    expect(cells[0]![0]).toContain('测试工地');
    expect(cells[1]!.slice(0, 5)).toEqual(['姓名', '身份证号', '班组', '劳务分包单位', 1]);
    // Row 1: 工人1 (sorted as given), ID masked, hours as numbers, the total last.
    const first = rowOf(1);
    expect(cells[3]!.slice(0, 4)).toEqual(['工人1', '510104********0001', '钢筋班', '四川建工']);
    expect(cells[3]!.at(-1)).toBe(first.totalHours);
    expect(cells[3]![4]).toBe(first.days[0]!.hours);
  });

  it('writes a day’s file, and several files at once, each whole', async () => {
    writers = new SheetFileWriters({ logger: recordingLogger([]) });
    const daySheet: AttendanceSheet = {
      ...sheetOf(0).sheet,
      period: '2026-04-02',
      dates: ['2026-04-02'],
      async *rows() {
        for (let n = 0; n < 120; n++) {
          const row = rowOf(n);
          const d: AttendanceDay = {
            ...row.days[1]!,
            firstInMs: Date.UTC(2026, 3, 2, 0, n % 60),
            lastOutMs: undefined,
          };
          yield { ...row, days: [d], daysPresent: d.present ? 1 : 0, totalHours: d.hours };
        }
      },
    };
    const files = await Promise.all([
      bytesOf(writers.stream(daySheet, { format: 'xlsx', kind: 'daily', ...CONTEXT })),
      bytesOf(writers.stream(sheetOf(300).sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT })),
      bytesOf(
        writers.stream(sheetOf(40).sheet, { format: 'xlsx', kind: 'monthly', ...{ ...CONTEXT, lang: 'en' } }),
      ),
    ]);
    const [daily, month, english] = await Promise.all(files.map(cellsOf));
    expect(daily).toHaveLength(122);
    // The first-in time in the site's zone (08:00 in Chengdu is 00:00 UTC).
    expect(daily![2]!.slice(0, 5)).toEqual(['工人0', undefined, '钢筋班', '四川建工', '2026-04-02 08:00:00']);
    expect(month).toHaveLength(302);
    expect(english![1]![0]).toBe('Name');
  });

  it('writes the JSON in the thread: the same text as on the loop, its head first', async () => {
    writers = new SheetFileWriters({ logger: recordingLogger([]) });
    const json = {
      format: 'json',
      kind: 'monthly',
      timezone: 'Asia/Shanghai',
      prefix: '{"period":"2026-04","workers":[',
      suffix: ']}',
    } as const;
    const inThread = (await bytesOf(writers.stream(sheetOf(230).sheet, json))).toString('utf8');
    const here = new SheetFileWriters({
      logger: recordingLogger([]),
      startThread: () => {
        throw new Error('no threads here');
      },
    });
    const onLoop = (await bytesOf(here.stream(sheetOf(230).sheet, json))).toString('utf8');
    expect(inThread).toBe(onLoop);
    const parsed = JSON.parse(inThread) as {
      period: string;
      workers: Array<{ workerId: string; idNumber: string; days: Array<{ hours: number }> }>;
    };
    expect(parsed.period).toBe('2026-04');
    expect(parsed.workers).toHaveLength(230);
    expect(parsed.workers[1]).toMatchObject({ workerId: 'w1', idNumber: '510104********0001' });
    expect(parsed.workers[1]!.days[0]!.hours).toBe(rowOf(1).days[0]!.hours);
  });

  it('stops reading the sheet when the download goes away', async () => {
    writers = new SheetFileWriters({ logger: recordingLogger([]) });
    // More rows than the batches the gateway sends ahead of the thread (64 × 100).
    const { sheet, state } = sheetOf(20_000);
    const reader = writers.stream(sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT }).getReader();
    expect((await reader.read()).value?.length).toBeGreaterThan(0);
    await expect.poll(() => state.read, { timeout: 5000 }).toBeGreaterThanOrEqual(300);
    await reader.cancel();
    await expect.poll(() => state.closed, { timeout: 5000 }).toBe(1);
    expect(state.read).toBeLessThan(20_000);
  });

  it('stops writing the JSON on the loop too when the download goes away while it waits for its client', async () => {
    writers = new SheetFileWriters({
      logger: recordingLogger([]),
      startThread: () => {
        throw new Error('no threads here');
      },
    });
    // ≈ 50 MB of JSON: far more than the download holds before it waits for its client.
    const { sheet, state } = sheetOf(20_000);
    const json = { format: 'json', kind: 'monthly', timezone: 'UTC', prefix: '[', suffix: ']' } as const;
    const reader = writers.stream(sheet, json).getReader();
    expect((await reader.read()).value?.length).toBeGreaterThan(0);
    await expect.poll(() => state.read, { timeout: 5000 }).toBeGreaterThanOrEqual(300);
    await reader.cancel();
    await expect.poll(() => state.closed, { timeout: 5000 }).toBe(1);
    expect(state.read).toBeLessThan(20_000);
  });

  it('breaks the download, never a short file, when the sheet fails half-way', async () => {
    writers = new SheetFileWriters({ logger: recordingLogger([]) });
    const { sheet } = sheetOf(1000, 420);
    await expect(
      bytesOf(writers.stream(sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT })),
    ).rejects.toThrow('the query store went away');
    // The thread is still there for the next file.
    expect(
      (
        await cellsOf(
          await bytesOf(writers.stream(sheetOf(10).sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT })),
        )
      ).length,
    ).toBe(12);
  });

  it('fails the files a dying thread held, starts another, and writes here after three deaths in a row', async () => {
    const lines: string[] = [];
    let started = 0;
    writers = new SheetFileWriters({
      logger: recordingLogger(lines),
      // A thread that dies when the first rows reach it.
      startThread: () => {
        started++;
        return new Worker(
          "require('node:worker_threads').parentPort.on('message', (m) => { if (m.type === 'rows') process.exit(3); });",
          { eval: true },
        );
      },
    });
    for (let i = 1; i <= 3; i++) {
      await expect(
        bytesOf(writers.stream(sheetOf(300).sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT })),
      ).rejects.toThrow("the sheet writer's thread stopped: it exited with code 3");
      expect(started).toBe(i);
    }
    expect(writers.writingInProcess).toBe(true);
    expect(lines.join('')).toContain('stopped 3 times in a row');
    // From now on written here, and whole.
    expect(
      (
        await cellsOf(
          await bytesOf(writers.stream(sheetOf(300).sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT })),
        )
      ).length,
    ).toBe(302);
    expect(started).toBe(3);
  });

  it('ends the thread after a while without a file, and starts it again for the next', async () => {
    const threads: Worker[] = [];
    writers = new SheetFileWriters({
      logger: recordingLogger([]),
      idleMs: 200,
      startThread: () => {
        const thread = startSheetWriterThread();
        threads.push(thread);
        return thread;
      },
    });
    writers.warm();
    expect(threads).toHaveLength(1);
    const exited = new Promise((resolve) => threads[0]!.once('exit', resolve));
    await exited;
    await bytesOf(writers.stream(sheetOf(10).sheet, { format: 'xlsx', kind: 'monthly', ...CONTEXT }));
    expect(threads).toHaveLength(2);
  });
});

describe('a batch of rows as it crosses to the thread', () => {
  it('comes out as it went in: hours, times, anomalies in order, no ID number; a day without times shared', () => {
    const rows = [rowOf(1), rowOf(2)].map((r, i) => ({
      ...r,
      days: r.days.map((d, k) =>
        k === 0
          ? {
              ...d,
              anomalies: ['missingIn', 'missingOut'] as const,
              firstInMs: 1_775_000_000_000 + i,
              lastOutMs: undefined,
            }
          : d,
      ),
    }));
    const packed = packRows(rows, DATES.length);
    const shared = new Map();
    const back = unpackRows(packed, DATES, shared);
    expect(back).toEqual(rows);
    expect(back[1]!.idCardNo).toBeUndefined();
    expect(back[0]!.workerId).toBe('w1');
    // The same day again, in a later batch, is the same object.
    const again = unpackRows(packRows([rowOf(1)], DATES.length), DATES, shared);
    expect(again[0]!.days[5]).toBe(back[0]!.days[5]);
    expect(Object.isFrozen(again[0]!.days[5])).toBe(true);
    // A day with a time is not kept (the first day of `rows` has one).
    expect([...shared.values()].some((d) => d.firstInMs !== undefined)).toBe(false);
    expect(() => unpackRows(packed, DATES.slice(1))).toThrow('does not fit a sheet of 29 days');
  });
});

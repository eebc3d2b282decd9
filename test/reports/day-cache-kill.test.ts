/**
 * A kill -9 of the real gateway process (`edge-gateway start`, from source) while it fills the
 * attendance sheet's cache from a two-month history of 500 workers. The cache is only ever a copy of
 * counts of the punches: after the kill, the days the file says it holds are exactly the days the
 * punches give, and a fresh start fills the rest to the same sheets.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../gateway/events';
import { QueryStore } from '../../gateway/query/query-store';
import { AttendanceReports, type AttendanceRow } from '../../gateway/reports/attendance';
import { dayNumber } from '../../gateway/reports/day-cache';
import { countDays, dayGrid, monthDays } from '../../gateway/reports/day-count';
import { fillJournal, GatewayProcess, journalPunches, openJournal, writeConfig } from '../query/support';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const ZONE = 'Asia/Shanghai';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function reach(file: string): { from: number; to: number } {
  // Not there yet while the store is being built (it is renamed into place when whole).
  if (!existsSync(file)) return { from: 0, to: 0 };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const meta = new Map(
      (
        db.prepare(`SELECT name, value FROM meta WHERE name LIKE 'attendance.%'`).all() as Array<{
          name: string;
          value: number;
        }>
      ).map((r) => [r.name, r.value]),
    );
    return { from: meta.get('attendance.from') ?? 0, to: meta.get('attendance.to') ?? 0 };
  } finally {
    db.close();
  }
}

describe('the attendance cache under kill -9', () => {
  it('holds, after a kill during its fill, only days counted as the punches count them, and a restart completes it', async () => {
    const tmp = await tempDir('edge-gw-cache-kill-');
    cleanups.push(tmp.cleanup);
    const dataDir = join(tmp.dir, 'data');
    // Two months of 500 workers up to three days ago (every day of them settled).
    const end = DateTime.now().setZone(ZONE).startOf('day').minus({ days: 3 }).toMillis();
    await fillJournal(dataDir, 120_000, end);
    const file = join(dataDir, 'punches.sqlite');

    const gateway = new GatewayProcess(await writeConfig(dataDir));
    cleanups.push(() => gateway.kill());
    await gateway.waitFor(/"msg":"gateway started"/);
    // Killed once the fill has counted part of the history, not all of it.
    const firstDay = dayNumber(DateTime.fromMillis(end - 60 * 86_400_000, { zone: ZONE }).toISODate()!);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { from, to } = reach(file);
      if (to > 0 && from < to - 5 && from > firstDay + 5) break;
      if (Date.now() > deadline)
        throw new Error(`the fill never went part-way: ${JSON.stringify(reach(file))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await gateway.kill();
    const killed = reach(file);
    expect(killed.from).toBeGreaterThan(firstDay);

    const punches = (await journalPunches(dataDir)).filter((p) => p.workerId !== null);
    const byWorker = new Map<string, typeof punches>();
    for (const p of punches) byWorker.set(p.workerId!, [...(byWorker.get(p.workerId!) ?? []), p]);
    const months = [
      ...new Set(punches.map((p) => DateTime.fromMillis(p.atMs, { zone: ZONE }).toFormat('yyyy-MM'))),
    ];

    const journal = openJournal(dataDir);
    await journal.open();
    cleanups.push(() => journal.close());
    const bus = new EventBus();
    const store = new QueryStore({
      file,
      journal,
      bus,
      workers: { list: () => [], get: () => undefined },
      punchYears: 3,
      clock: { now: () => Date.now() },
      logger: testLogger('query-store'),
    });
    store.start();
    cleanups.push(() => store.stop());
    await store.whenCaughtUp();
    const reports = new AttendanceReports({
      punches: store,
      workers: { list: () => [], get: () => undefined },
      timezone: ZONE,
      nightShiftHours: 14,
      clock: { now: () => Date.now() },
      bus,
      logger: testLogger('reports'),
      cache: { startDelayMs: 0 },
    });
    cleanups.push(() => reports.stop());

    const expectSheets = async () => {
      for (const month of months) {
        const period = monthDays(month)!;
        const grid = dayGrid(ZONE, period.firstDate, period.days);
        const rows = new Map<string, AttendanceRow>();
        for await (const row of (await reports.monthly(month)).rows()) rows.set(row.workerId, row);
        for (const [worker, list] of byWorker) {
          const expected = countDays(
            list.map((p) => ({ atMs: p.atMs, direction: p.direction === 'out' ? 'out' : 'in' })),
            grid,
            { nightShiftHours: 14, nowMs: Date.now() },
          ).map((d) => ({ ...d, firstInMs: undefined, lastOutMs: undefined }));
          if (!expected.some((d) => d.present)) continue;
          expect(rows.get(worker)?.days, `${month} ${worker}`).toStrictEqual(expected);
        }
      }
    };
    // As the kill left it (the cache not started: what the file holds is what the sheets read)…
    expect(reach(file)).toEqual(killed);
    await expectSheets();
    // …and filled by the next start.
    reports.start();
    await reports.whenCacheFilled();
    expect(reach(file).from).toBeLessThan(firstDay);
    await expectSheets();
  }, 120_000);
});

/**
 * The attendance sheet's cache of counted days (gateway/reports/day-cache.ts, its table in the query
 * store's file: gateway/query/attendance-days.ts), over the real journal and the real query store
 * (an SQLite file). What it must never do is give another sheet than the punches give: the expected
 * days here are `countDays` over the punches as the test wrote them, and the cache's own state is read
 * from the file (its `meta` rows and its packed months) to show that it, not a live count, answered.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../gateway/events';
import type { PunchDraft } from '../../gateway/model';
import { QueryStore } from '../../gateway/query/query-store';
import { AttendanceReports, type AttendanceRow, type SheetWorker } from '../../gateway/reports/attendance';
import { dayNumber } from '../../gateway/reports/day-cache';
import {
  type AttendanceDay,
  countDays,
  dayGrid,
  monthDays,
  type SheetPunch,
} from '../../gateway/reports/day-count';
import { PunchJournal } from '../../gateway/store/journal';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Site {
  readonly zone: string;
  readonly nightShiftHours: number;
  /** The clock every part reads; tests move it. */
  now: number;
}

interface Fixture {
  readonly dir: string;
  readonly file: string;
  readonly journal: PunchJournal;
  readonly bus: EventBus;
  store: QueryStore;
  reports: AttendanceReports;
  /** Every punch journaled so far, in journal order. */
  readonly fed: PunchDraft[];
  feed(drafts: readonly PunchDraft[]): Promise<void>;
  /** A new QueryStore and AttendanceReports on the same files (a restart of the gateway). */
  restart(start?: boolean): Promise<void>;
}

const WORKERS: SheetWorker[] = Array.from({ length: 6 }, (_, i) => ({
  id: `w${i}`,
  pin: String(i + 1),
  name: `工人${i}`,
  status: 'active',
  team: i % 2 ? '钢筋班' : '木工班',
  identities: {},
}));

async function fixture(
  site: Site,
  options: { punchYears?: number; startCache?: boolean; debounceMs?: number } = {},
) {
  const tmp = await tempDir('edge-gw-day-cache-');
  cleanups.push(tmp.cleanup);
  const clock = { now: () => site.now };
  const journal = new PunchJournal({
    dir: join(tmp.dir, 'journal'),
    segmentMaxBytes: 4 * 1024 * 1024,
    retentionDays: 3650,
    clock,
    logger: testLogger('journal'),
  });
  await journal.open();
  cleanups.push(() => journal.close());
  const bus = new EventBus();
  const records = () =>
    WORKERS.map((w) => ({ id: w.id, pin: w.pin, name: w.name, identities: w.identities }));
  const roster = new Map(WORKERS.map((w) => [w.id, w]));
  const file = join(tmp.dir, 'punches.sqlite');
  const newStore = () =>
    new QueryStore({
      file,
      journal,
      bus,
      workers: { list: records, get: (id) => records().find((w) => w.id === id) },
      punchYears: options.punchYears ?? 1,
      clock,
      logger: testLogger('query-store'),
    });
  const newReports = (store: QueryStore) =>
    new AttendanceReports({
      punches: store,
      workers: { list: () => WORKERS, get: (id) => roster.get(id) },
      timezone: site.zone,
      nightShiftHours: site.nightShiftHours,
      clock,
      bus,
      logger: testLogger('reports'),
      cache: { startDelayMs: 0, debounceMs: options.debounceMs ?? 5 },
    });
  const store = newStore();
  store.start();
  await store.whenCaughtUp();
  const f: Fixture = {
    dir: tmp.dir,
    file,
    journal,
    bus,
    store,
    reports: newReports(store),
    fed: [],
    feed: async (drafts) => {
      f.fed.push(...drafts);
      bus.emit('punches.journaled', await journal.append(drafts));
      await f.store.whenCaughtUp();
    },
    restart: async (start = true) => {
      await f.reports.stop();
      await f.store.stop();
      f.store = newStore();
      f.store.start();
      await f.store.whenCaughtUp();
      f.reports = newReports(f.store);
      if (start) f.reports.start();
    },
  };
  if (options.startCache ?? true) f.reports.start();
  cleanups.push(async () => {
    await f.reports.stop();
    await f.store.stop();
  });
  return f;
}

let keys = 0;
function punch(site: Site, worker: string, wall: string, direction: 'in' | 'out'): PunchDraft {
  const atMs = DateTime.fromFormat(wall, 'yyyy-MM-dd HH:mm', { zone: site.zone }).toMillis();
  return draft(`dc${keys++}`, {
    workerId: worker,
    pin: worker.slice(1),
    terminalId: 'gate-1',
    direction,
    atMs,
    receivedMs: atMs,
  });
}

/** The direct count: `countDays` over the punches as fed, in journal order within a time. */
function direct(f: Fixture, site: Site, worker: string, grid: ReturnType<typeof dayGrid>): AttendanceDay[] {
  const punches: SheetPunch[] = f.fed
    .filter((p) => p.workerId === worker)
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.atMs - b.p.atMs || a.i - b.i)
    .map(({ p }) => ({ atMs: p.atMs, direction: p.direction === 'out' ? 'out' : 'in' }));
  return countDays(punches, grid, { nightShiftHours: site.nightShiftHours, nowMs: site.now });
}

/** A monthly sheet shows no first-in or last-out time. */
function monthly(days: readonly AttendanceDay[]): AttendanceDay[] {
  return days.map((d) => ({ ...d, firstInMs: undefined, lastOutMs: undefined }));
}

async function rows(sheet: { rows(): AsyncGenerator<AttendanceRow> }): Promise<Map<string, AttendanceRow>> {
  const out = new Map<string, AttendanceRow>();
  for await (const row of sheet.rows()) out.set(row.workerId, row);
  return out;
}

/** Every monthly and one daily sheet equal the direct count, for every worker. */
async function expectSheetsAsCounted(f: Fixture, site: Site, months: readonly string[], date: string) {
  for (const month of months) {
    const period = monthDays(month)!;
    const grid = dayGrid(site.zone, period.firstDate, period.days);
    const sheet = await rows(await f.reports.monthly(month));
    for (const w of WORKERS) {
      expect(sheet.get(w.id)?.days, `${month} ${w.id}`).toStrictEqual(monthly(direct(f, site, w.id, grid)));
    }
  }
  const day = await rows(await f.reports.daily(date));
  const grid = dayGrid(site.zone, date, 1);
  for (const w of WORKERS) {
    const expected = direct(f, site, w.id, grid);
    if (expected[0]!.present) expect(day.get(w.id)?.days, `${date} ${w.id}`).toStrictEqual(expected);
    else expect(day.has(w.id)).toBe(false);
  }
}

/** The cache's reach and high water, as its file says. */
function cacheMeta(file: string): { from: number; to: number; seen: number; highWater: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const meta = new Map(
      (db.prepare('SELECT name, value FROM meta').all() as Array<{ name: string; value: number }>).map(
        (r) => [r.name, r.value],
      ),
    );
    return {
      from: meta.get('attendance.from') ?? 0,
      to: meta.get('attendance.to') ?? 0,
      seen: meta.get('attendance.seen') ?? 0,
      highWater: meta.get('highWater') ?? 0,
    };
  } finally {
    db.close();
  }
}

/** A worker's day as the cache's file has it: [hours in tenths, anomaly bits], or undefined for none. */
function cachedDay(file: string, worker: string, date: string): [number, number] | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const day = dayNumber(date);
    const month = dayNumber(`${date.slice(0, 8)}01`);
    const blob = db
      .prepare(
        'SELECT m.days FROM attendance_month m JOIN worker w ON w.key = m.worker WHERE w.id = ? AND m.month = ?',
      )
      .pluck()
      .get(worker, month) as Buffer | undefined;
    const at = 2 * (day - month);
    if (!blob || at + 2 > blob.length) return undefined;
    const v = blob.readUInt16LE(at);
    return v === 0 ? undefined : [(v - 1) >> 2, (v - 1) & 3];
  } finally {
    db.close();
  }
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the attendance cache', () => {
  it('gives the sheets counted from the punches, for random histories: filled, then with punches it has not counted yet, then recounted', async () => {
    // Berlin: the clocks go forward on 29 March (a 23 h day); now is 20 May at noon, so the last day
    // and a half are still open to change and never cached.
    const history = fc.array(
      fc.record({
        worker: fc.integer({ min: 0, max: WORKERS.length - 1 }),
        day: fc.integer({ min: 0, max: 61 }),
        minute: fc.integer({ min: 0, max: 24 * 60 - 1 }),
        out: fc.boolean(),
      }),
      { maxLength: 90 },
    );
    const toDrafts = (
      site: Site,
      list: Array<{ worker: number; day: number; minute: number; out: boolean }>,
    ) =>
      list.map(({ worker, day, minute, out }) => {
        const at = DateTime.fromISO('2026-03-20', { zone: site.zone }).plus({ days: day, minutes: minute });
        return punch(site, `w${worker}`, at.toFormat('yyyy-MM-dd HH:mm'), out ? 'out' : 'in');
      });
    await fc.assert(
      fc.asyncProperty(
        history,
        history,
        fc.constantFrom(8, 14),
        fc.integer({ min: 0, max: 55 }),
        async (first, second, nightShiftHours, dayOfSheet) => {
          const site: Site = {
            zone: 'Europe/Berlin',
            nightShiftHours,
            now: DateTime.fromISO('2026-05-20T12:00', { zone: 'Europe/Berlin' }).toMillis(),
          };
          // A pause before new punches are recounted: the sheet read just after them counts them live.
          const f = await fixture(site, { startCache: false, debounceMs: 200 });
          try {
            const date = DateTime.fromISO('2026-03-20').plus({ days: dayOfSheet }).toISODate()!;
            const months = ['2026-03', '2026-04', '2026-05'];
            // Filled from punches already in the store.
            await f.feed(toDrafts(site, first));
            f.reports.start();
            await f.reports.whenCacheFilled();
            const filled = cacheMeta(f.file);
            expect(filled.from).toBeLessThanOrEqual(dayNumber('2026-03-01'));
            // 19 May is settled once its night-shift window (from midnight) has passed by noon.
            expect(filled.to).toBe(dayNumber(nightShiftHours <= 12 ? '2026-05-20' : '2026-05-19'));
            await expectSheetsAsCounted(f, site, months, date);
            // More punches, some on cached days: read before the cache has counted them…
            await f.feed(toDrafts(site, second));
            await expectSheetsAsCounted(f, site, months, date);
            // …and after.
            await f.reports.whenCacheFilled();
            expect(cacheMeta(f.file).seen).toBe(cacheMeta(f.file).highWater);
            await expectSheetsAsCounted(f, site, months, date);
          } finally {
            for (const c of cleanups.splice(0).reverse()) await c();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 180_000);

  it('changes a cached day at once when a punch arrives for it, and then keeps the recounted day', async () => {
    const site: Site = {
      zone: 'Asia/Shanghai',
      nightShiftHours: 14,
      now: DateTime.fromISO('2026-05-20T12:00', { zone: 'Asia/Shanghai' }).toMillis(),
    };
    const f = await fixture(site, { debounceMs: 1500 });
    await f.feed([punch(site, 'w1', '2026-04-08 08:00', 'in')]);
    await f.reports.whenCacheFilled();
    // Only an entry: cached as "missing out", 0 h.
    expect(cachedDay(f.file, 'w1', '2026-04-08')).toEqual([0, 2]);
    const before = (await rows(await f.reports.monthly('2026-04'))).get('w1')!;
    expect(before.days[7]).toMatchObject({ hours: 0, anomalies: ['missingOut'] });

    // The exit, uploaded late by a terminal that was offline.
    await f.feed([punch(site, 'w1', '2026-04-08 17:30', 'out')]);
    expect(cacheMeta(f.file).seen).toBeLessThan(cacheMeta(f.file).highWater);
    expect(cachedDay(f.file, 'w1', '2026-04-08')).toEqual([0, 2]);
    const now = (await rows(await f.reports.monthly('2026-04'))).get('w1')!;
    expect(now.days[7]).toMatchObject({ hours: 9.5, anomalies: [] });
    expect(now.totalHours).toBe(9.5);

    await until('the day recounted into the cache', () => cachedDay(f.file, 'w1', '2026-04-08')?.[0] === 95);
    expect(cachedDay(f.file, 'w1', '2026-04-08')).toEqual([95, 0]);
    await f.reports.whenCacheFilled();
    const after = (await rows(await f.reports.monthly('2026-04'))).get('w1')!;
    expect(after.days[7]).toMatchObject({ hours: 9.5, anomalies: [] });
  });

  it('moves a night shift’s hours to the cached day it began on, across a month’s end, when its exit comes late', async () => {
    const site: Site = {
      zone: 'Asia/Shanghai',
      nightShiftHours: 14,
      now: DateTime.fromISO('2026-05-20T12:00', { zone: 'Asia/Shanghai' }).toMillis(),
    };
    const f = await fixture(site);
    await f.feed([
      punch(site, 'w2', '2026-03-31 22:00', 'in'),
      // w3: an exit with nothing open, then (late) the entry the evening before that closes into it.
      punch(site, 'w3', '2026-04-10 06:00', 'out'),
    ]);
    await f.reports.whenCacheFilled();
    expect(cachedDay(f.file, 'w2', '2026-03-31')).toEqual([0, 2]);
    expect(cachedDay(f.file, 'w3', '2026-04-10')).toEqual([0, 1]);

    await f.feed([punch(site, 'w2', '2026-04-01 06:00', 'out'), punch(site, 'w3', '2026-04-09 23:00', 'in')]);
    for (const settled of [false, true]) {
      if (settled) await f.reports.whenCacheFilled();
      const march = (await rows(await f.reports.monthly('2026-03'))).get('w2')!;
      expect(march.days[30]).toMatchObject({ hours: 8, anomalies: [], present: true });
      const april = await rows(await f.reports.monthly('2026-04'));
      expect(april.get('w2')!.days[0]).toMatchObject({ hours: 0, anomalies: [], present: true });
      expect(april.get('w3')!.days[8]).toMatchObject({ hours: 7, anomalies: [] });
      expect(april.get('w3')!.days[9]).toMatchObject({ hours: 0, anomalies: [], present: true });
    }
    expect(cachedDay(f.file, 'w2', '2026-03-31')).toEqual([80, 0]);
    expect(cachedDay(f.file, 'w2', '2026-04-01')).toEqual([0, 0]);
    expect(cachedDay(f.file, 'w3', '2026-04-09')).toEqual([70, 0]);
    expect(cachedDay(f.file, 'w3', '2026-04-10')).toEqual([0, 0]);
  });

  it('drops cached days with retention and counts the day next to its edge from the punches left', async () => {
    const site: Site = {
      zone: 'Asia/Shanghai',
      nightShiftHours: 14,
      now: DateTime.fromISO('2026-05-20T12:00', { zone: 'Asia/Shanghai' }).toMillis(),
    };
    const f = await fixture(site, { punchYears: 1 });
    // Retention keeps a year: from 2025-05-20 04:00 UTC (12:00 at the site).
    const drafts: PunchDraft[] = [];
    for (let d = 20; d <= 31; d++) {
      const date = `2025-05-${d}`;
      drafts.push(punch(site, 'w4', `${date} 20:00`, 'in'), punch(site, 'w4', `${date} 23:30`, 'out'));
    }
    await f.feed(drafts);
    await f.reports.whenCacheFilled();
    const floor = cacheMeta(f.file).from;
    expect(cachedDay(f.file, 'w4', '2025-05-27')).toEqual([35, 0]);

    // A week later (a restart: retention runs after the catch-up), the first days have gone.
    site.now += 7 * 86_400_000;
    await f.restart();
    await f.reports.whenCacheFilled();
    const moved = cacheMeta(f.file);
    expect(moved.from).toBe(floor + 7);
    for (const date of ['2025-05-24', '2025-05-27']) expect(cachedDay(f.file, 'w4', date)).toBeUndefined();
    expect(cachedDay(f.file, 'w4', '2025-05-31')).toEqual([35, 0]);
    // What the store still holds, counted directly: the punches before retention's edge are gone.
    const grid = dayGrid(site.zone, '2025-05-01', 31);
    const left = (await rows(await f.reports.monthly('2025-05'))).get('w4')!;
    const keepFrom = new Date(site.now);
    keepFrom.setUTCFullYear(keepFrom.getUTCFullYear() - 1);
    const remaining = f.fed.filter((p) => p.workerId === 'w4' && p.atMs >= keepFrom.getTime());
    expect(remaining.length).toBe(10);
    const counted = countDays(
      remaining.map((p) => ({ atMs: p.atMs, direction: p.direction === 'out' ? 'out' : 'in' })),
      grid,
      { nightShiftHours: 14, nowMs: site.now },
    );
    expect(left.days).toStrictEqual(monthly(counted));
    expect(left.days[25]).toMatchObject({ present: false });
    expect(left.days[26]).toMatchObject({ present: true, hours: 3.5 });
  });

  it('continues its fill where it stopped, and starts over when the counting rules change', async () => {
    const site: Site = {
      zone: 'Asia/Shanghai',
      nightShiftHours: 14,
      now: DateTime.fromISO('2026-05-20T12:00', { zone: 'Asia/Shanghai' }).toMillis(),
    };
    const f = await fixture(site, { punchYears: 3, startCache: false });
    const drafts: PunchDraft[] = [];
    for (let m = 0; m < 30; m++) {
      const date = DateTime.fromISO('2024-01-10').plus({ months: m }).toISODate()!;
      drafts.push(punch(site, 'w5', `${date} 08:00`, 'in'), punch(site, 'w5', `${date} 18:00`, 'out'));
    }
    // In the store before the cache starts: every write below is the fill's.
    await f.feed(drafts);
    f.reports.start();
    const settled = dayNumber('2026-05-19');
    await until('the fill part-way', () => {
      const m = cacheMeta(f.file);
      return m.to === settled && m.from < settled - 100;
    });
    // A restart of the gateway: the store's file reopened, the part new.
    await f.restart(false);
    const stopped = cacheMeta(f.file);
    expect(stopped.from).toBeGreaterThan(dayNumber('2024-01-01'));
    // Every write of the restarted part goes below where the first one stopped.
    const writes: Array<{ from?: number; to?: number; days: number[] }> = [];
    const write = f.store.writeDaySummaries.bind(f.store);
    f.store.writeDaySummaries = (change) => {
      writes.push({ from: change.from, to: change.to, days: (change.rows ?? []).map((r) => r[1]) });
      return write(change);
    };
    f.reports.start();
    await f.reports.whenCacheFilled();
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((w) => w.to === undefined && w.days.every((d) => d < stopped.from))).toBe(true);
    expect(writes.filter((w) => w.from !== undefined).map((w) => w.from)).toEqual(
      [...writes.filter((w) => w.from !== undefined).map((w) => w.from!)].sort((a, b) => b - a),
    );
    expect(cachedDay(f.file, 'w5', '2024-01-10')).toEqual([100, 0]);
    const month = (await rows(await f.reports.monthly('2024-01'))).get('w5')!;
    expect(month.days[9]).toMatchObject({ hours: 10 });

    // Another night-shift window: the rows counted with the old one are thrown away and counted again.
    const shorter: Site = { ...site, nightShiftHours: 8 };
    await f.reports.stop();
    writes.length = 0;
    f.reports = new AttendanceReports({
      punches: f.store,
      workers: { list: () => WORKERS, get: (id) => WORKERS.find((w) => w.id === id) },
      timezone: shorter.zone,
      nightShiftHours: shorter.nightShiftHours,
      clock: { now: () => site.now },
      bus: f.bus,
      logger: testLogger('reports'),
      cache: { startDelayMs: 0, debounceMs: 5 },
    });
    f.reports.start();
    await f.reports.whenCacheFilled();
    // Its first write places the emptied cache at the first day not settled (8 h: 20 May).
    expect(writes[0]).toEqual({ from: dayNumber('2026-05-20'), to: dayNumber('2026-05-20'), days: [] });
    expect(cacheMeta(f.file).to).toBe(dayNumber('2026-05-20'));
    expect(cachedDay(f.file, 'w5', '2024-01-10')).toEqual([100, 0]);
  }, 60_000);
});

/**
 * The attendance sheet's rows (gateway/reports/attendance.ts) read from real punches: journaled by
 * the real journal, fed into the real query store (SQLite file) through `punches.journaled`, then
 * counted. Grouping by team, the roster's workers with no punch, filters, a removed worker who
 * worked, the next month's first morning, and the event loop kept free while a big month streams.
 */
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../gateway/events';
import type { PunchDraft } from '../../gateway/model';
import { QueryStore } from '../../gateway/query/query-store';
import {
  AttendanceReports,
  type AttendanceRow,
  maskIdNumber,
  SheetPeriodError,
  type SheetWorker,
} from '../../gateway/reports/attendance';
import { PunchJournal } from '../../gateway/store/journal';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';

const ZONE = 'Asia/Shanghai';
const NOW = DateTime.fromISO('2026-05-20T12:00', { zone: ZONE }).toMillis();

function at(wall: string): number {
  return DateTime.fromFormat(wall, 'yyyy-MM-dd HH:mm', { zone: ZONE }).toMillis();
}

interface Fixture {
  readonly journal: PunchJournal;
  readonly bus: EventBus;
  readonly store: QueryStore;
  readonly roster: Map<string, SheetWorker>;
  readonly reports: AttendanceReports;
  feed(drafts: readonly PunchDraft[]): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fixture(workers: readonly SheetWorker[]): Promise<Fixture> {
  const tmp = await tempDir('edge-gw-reports-');
  cleanups.push(tmp.cleanup);
  const journal = new PunchJournal({
    dir: join(tmp.dir, 'journal'),
    segmentMaxBytes: 4 * 1024 * 1024,
    retentionDays: 90,
    clock: { now: () => NOW },
    logger: testLogger('journal'),
  });
  await journal.open();
  cleanups.push(() => journal.close());
  const bus = new EventBus();
  const roster = new Map(workers.map((w) => [w.id, w]));
  const records = () =>
    [...roster.values()].map((w) => ({ id: w.id, pin: w.pin, name: w.name, identities: w.identities }));
  const store = new QueryStore({
    file: join(tmp.dir, 'punches.sqlite'),
    journal,
    bus,
    workers: { list: records, get: (id) => records().find((w) => w.id === id) },
    punchYears: 3,
    clock: { now: () => NOW },
    logger: testLogger('query-store'),
  });
  store.start();
  cleanups.push(() => store.stop());
  await store.whenCaughtUp();
  const reports = new AttendanceReports({
    punches: store,
    workers: { list: () => [...roster.values()], get: (id) => roster.get(id) },
    timezone: ZONE,
    nightShiftHours: 14,
    clock: { now: () => NOW },
    bus,
    logger: testLogger('reports'),
    cache: { startDelayMs: 0, debounceMs: 5 },
  });
  reports.start();
  cleanups.push(() => reports.stop());
  return {
    journal,
    bus,
    store,
    roster,
    reports,
    // The gateway's path: append to the journal, then announce what was journaled.
    feed: async (drafts) => {
      for (let i = 0; i < drafts.length; i += 20_000) {
        bus.emit('punches.journaled', await journal.append(drafts.slice(i, i + 20_000)));
      }
      await store.whenCaughtUp();
      // The sheets below read settled days from the cache of counted days.
      await reports.whenCacheFilled();
    },
  };
}

function worker(n: number, team?: string, employer?: string, extra: Partial<SheetWorker> = {}): SheetWorker {
  return {
    id: `w${n}`,
    pin: String(n),
    name: `工人${String(n).padStart(4, '0')}`,
    status: 'active',
    team,
    employer,
    identities: {},
    ...extra,
  };
}

let keySeq = 0;
function punch(workerId: string, wall: string, direction: 'in' | 'out'): PunchDraft {
  return draft(`k${keySeq++}`, {
    workerId,
    pin: workerId.slice(1),
    terminalId: 'gate-1',
    direction,
    atMs: at(wall),
    receivedMs: at(wall),
  });
}

async function all(rows: AsyncGenerator<AttendanceRow>): Promise<AttendanceRow[]> {
  const out: AttendanceRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

describe('the monthly sheet from the query store', () => {
  it('has a row per worker with punches and per roster worker, grouped by team, with the issue’s hours', async () => {
    const f = await fixture([
      worker(1, '钢筋班', '蓉兴劳务', { identities: { idCardNo: '510104199001011234' } }),
      worker(2, '木工班', '川安劳务'),
      worker(3, '钢筋班', '川安劳务'),
      // On the roster, no punch: a row of zeros.
      worker(4, '木工班', '川安劳务'),
      worker(5),
      // Removed, but worked this month: still paid, so still on the sheet.
      worker(6, '木工班', '川安劳务', { status: 'removed' }),
      // Removed and no punch this month: not on the sheet.
      worker(7, '木工班', '川安劳务', { status: 'removed' }),
    ]);
    await f.feed([
      punch('w1', '2026-04-03 08:00', 'in'),
      punch('w1', '2026-04-03 08:05', 'in'),
      punch('w1', '2026-04-03 12:00', 'out'),
      punch('w1', '2026-04-03 13:00', 'in'),
      punch('w1', '2026-04-03 17:30', 'out'),
      punch('w1', '2026-04-04 08:00', 'in'),
      // A night shift on the month's last day, closed on the next month's first morning.
      punch('w1', '2026-04-30 22:00', 'in'),
      punch('w1', '2026-05-01 06:30', 'out'),
      punch('w2', '2026-04-10 17:00', 'out'),
      punch('w3', '2026-04-11 09:00', 'in'),
      punch('w3', '2026-04-11 18:00', 'out'),
      punch('w6', '2026-04-02 07:00', 'in'),
      punch('w6', '2026-04-02 11:00', 'out'),
      // Another month: only the sheet of May sees these.
      punch('w7', '2026-05-02 07:00', 'in'),
      punch('w2', '2026-03-31 10:00', 'in'),
      // A PIN on no roster: not a worker's row.
      { ...punch('w1', '2026-04-05 08:00', 'in'), workerId: null, pin: '9999', flags: ['unmatched'] },
    ]);
    const sheet = await f.reports.monthly('2026-04');
    expect(sheet.dates).toHaveLength(30);
    expect(sheet.complete).toBe(true);
    expect(sheet.teams).toEqual([
      { team: '钢筋班', workers: 2 },
      { team: '木工班', workers: 3 },
      { team: '', workers: 1 },
    ]);
    const rows = await all(sheet.rows());
    expect(rows.map((r) => [r.workerId, r.team])).toEqual([
      ['w1', '钢筋班'],
      ['w3', '钢筋班'],
      ['w2', '木工班'],
      ['w4', '木工班'],
      ['w6', '木工班'],
      ['w5', ''],
    ]);
    const w1 = rows[0]!;
    expect(w1.days[2]).toMatchObject({ date: '2026-04-03', hours: 8.5, anomalies: [] });
    expect(w1.days[3]).toMatchObject({ date: '2026-04-04', hours: 0, anomalies: ['missingOut'] });
    expect(w1.days[29]).toMatchObject({ date: '2026-04-30', hours: 8.5, anomalies: [] });
    expect(w1.daysPresent).toBe(3);
    expect(w1.totalHours).toBe(17);
    expect(w1.idCardNo).toBe('510104199001011234');
    expect(maskIdNumber(w1.idCardNo)).toBe('510104********1234');
    const w2 = rows[2]!;
    expect(w2.days[9]).toMatchObject({ date: '2026-04-10', hours: 0, anomalies: ['missingIn'] });
    expect(w2.daysPresent).toBe(1);
    expect(rows[1]).toMatchObject({ totalHours: 9, daysPresent: 1 });
    expect(rows[3]).toMatchObject({ totalHours: 0, daysPresent: 0 });
    expect(rows[4]).toMatchObject({ workerId: 'w6', totalHours: 4, daysPresent: 1 });
  });

  it('filters by team and by employer, and refuses a period that is not one', async () => {
    const f = await fixture([
      worker(1, '钢筋班', '蓉兴劳务'),
      worker(2, '木工班', '川安劳务'),
      worker(3, '钢筋班', '川安劳务'),
    ]);
    await f.feed([punch('w2', '2026-04-10 08:00', 'in'), punch('w2', '2026-04-10 16:00', 'out')]);
    const ids = async (filter: { team?: string; employer?: string }) =>
      (await all((await f.reports.monthly('2026-04', filter)).rows())).map((r) => r.workerId);
    expect(await ids({ team: '钢筋班' })).toEqual(['w1', 'w3']);
    expect(await ids({ employer: '川安劳务' })).toEqual(['w3', 'w2']);
    expect(await ids({ team: '钢筋班', employer: '川安劳务' })).toEqual(['w3']);
    expect(await ids({ team: '没有这个班' })).toEqual([]);
    expect(f.reports.groups()).toEqual({ teams: ['钢筋班', '木工班'], employers: ['川安劳务', '蓉兴劳务'] });
    await expect(f.reports.monthly('2026-13')).rejects.toThrow(SheetPeriodError);
    await expect(f.reports.monthly('2026-4')).rejects.toThrow(/month: expected YYYY-MM/);
    await expect(f.reports.daily('2026-02-30')).rejects.toThrow(/date: 2026-02-30 is not a calendar date/);
  });

  it('places workers the roster no longer lists among its own, by name, in the no-team group', async () => {
    const f = await fixture([
      worker(1, '钢筋班'),
      worker(2),
      { ...worker(3), name: 'Zhou' },
      { ...worker(4), name: 'Aaron' },
    ]);
    // Punches of ids no roster lists (a worker deleted outright): a row each, named by its id.
    await f.feed([
      punch('w2', '2026-04-03 08:00', 'in'),
      punch('m5', '2026-04-03 08:00', 'in'),
      punch('b6', '2026-04-04 08:00', 'in'),
      punch('w1', '2026-04-04 08:00', 'in'),
    ]);
    const ids = async (sheet: Promise<{ rows(): AsyncGenerator<AttendanceRow> }>) =>
      (await all((await sheet).rows())).map((r) => r.workerId);
    // The zh-CN collation puts Chinese names before Latin ones; the ids merge in among the Latin.
    expect(await ids(f.reports.monthly('2026-04'))).toEqual(['w1', 'w2', 'w4', 'b6', 'm5', 'w3']);
    expect(await ids(f.reports.daily('2026-04-03'))).toEqual(['w2', 'm5']);
    expect(await ids(f.reports.daily('2026-04-04'))).toEqual(['w1', 'b6']);
  });

  it('the daily sheet has the workers who punched that day, counted as the monthly one counts them', async () => {
    const f = await fixture([worker(1, '钢筋班'), worker(2, '木工班'), worker(3, '木工班')]);
    await f.feed([
      punch('w1', '2026-04-03 08:00', 'in'),
      punch('w1', '2026-04-03 17:30', 'out'),
      punch('w2', '2026-04-02 22:00', 'in'),
      punch('w2', '2026-04-03 06:00', 'out'),
      punch('w3', '2026-04-04 08:00', 'in'),
    ]);
    const day = await all((await f.reports.daily('2026-04-03')).rows());
    expect(day.map((r) => r.workerId)).toEqual(['w1', 'w2']);
    expect(day[0]!.days[0]).toMatchObject({
      hours: 9.5,
      firstInMs: at('2026-04-03 08:00'),
      lastOutMs: at('2026-04-03 17:30'),
    });
    // The night shift's hours went to the 2nd; the 3rd only saw its end.
    expect(day[1]!.days[0]).toMatchObject({ hours: 0, present: true, anomalies: [] });
    const month = await all((await f.reports.monthly('2026-04')).rows());
    for (const row of day) {
      // The same day, but for the first-in and last-out times, which only the daily sheet shows.
      expect(month.find((m) => m.workerId === row.workerId)!.days[2]).toStrictEqual({
        ...row.days[0],
        firstInMs: undefined,
        lastOutMs: undefined,
      });
    }
  });

  it('streams a big month in chunks, giving the event loop back between them', async () => {
    const WORKERS = 1000;
    const f = await fixture(Array.from({ length: WORKERS }, (_, i) => worker(i + 1, `班组${i % 7}`)));
    const drafts: PunchDraft[] = [];
    for (let day = 1; day <= 30; day++) {
      const date = `2026-04-${String(day).padStart(2, '0')}`;
      for (let n = 1; n <= WORKERS; n++) {
        drafts.push(punch(`w${n}`, `${date} 08:00`, 'in'), punch(`w${n}`, `${date} 17:00`, 'out'));
      }
    }
    await f.feed(drafts);
    const sheet = await f.reports.monthly('2026-04');
    let ticks = 0;
    let longest = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      ticks++;
      longest = Math.max(longest, performance.now() - last);
      last = performance.now();
    }, 1);
    let rows = 0;
    let hours = 0;
    const started = performance.now();
    last = started;
    for await (const row of sheet.rows()) {
      rows++;
      hours += row.totalHours;
      // A reader with work of its own per row (a file being written): ≈ 0.1 ms a row, 100 ms in all.
      for (const until = performance.now() + 0.1; performance.now() < until; );
    }
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(rows).toBe(WORKERS);
    expect(hours).toBe(WORKERS * 30 * 9);
    // A timer ran between chunks (10 chunks of 100 workers, the loop given back after ≈ 10 ms of
    // work): the loop was never held for the whole month.
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(longest).toBeLessThan(Math.max(250, elapsed / 3));
  });
});

describe('documents in turn', () => {
  it('writes one chunk of one document per turn of the event loop, the oldest document first, a page going past them, and a document closed half-way giving its turn on', async () => {
    const WORKERS = 300;
    const f = await fixture(Array.from({ length: WORKERS }, (_, i) => worker(i + 1, `班组${i % 3}`)));
    const drafts: PunchDraft[] = [];
    for (let day = 1; day <= 30; day++) {
      const date = `2026-04-${String(day).padStart(2, '0')}`;
      for (let n = 1; n <= WORKERS; n++) {
        drafts.push(punch(`w${n}`, `${date} 08:00`, 'in'), punch(`w${n}`, `${date} 17:00`, 'out'));
      }
    }
    await f.feed(drafts);
    // 'T' once per turn of the loop (an immediate that queues the next one runs once a check phase).
    const events: string[] = [];
    let ticking = true;
    const tick = () => {
      events.push('T');
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const read = async (name: string, document: boolean, range?: { offset: number; limit: number }) => {
      let n = 0;
      for await (const _ of (await f.reports.monthly('2026-04')).rows(range, { document })) {
        if (n % 100 === 0) events.push(`${name}${n}`);
        n++;
      }
      events.push(`${name}:end`);
      return n;
    };
    // A download that goes away in the middle of its first chunk.
    const closed = (await f.reports.monthly('2026-04')).rows(undefined, { document: true });
    await closed.next();
    const [a, b, c, page] = await Promise.all([
      read('A', true),
      read('B', true),
      read('C', true),
      read('P', false, { offset: 0, limit: 200 }),
      closed.return(undefined),
    ]);
    ticking = false;
    expect([a, b, c, page]).toEqual([WORKERS, WORKERS, WORKERS, 200]);
    // Between two document chunks, the loop has turned.
    const starts = events.filter((e) => e === 'T' || /^[ABC]\d+$/.test(e));
    for (let i = 1; i < starts.length; i++) {
      if (starts[i] !== 'T') expect(starts[i - 1], events.join(' ')).toBe('T');
    }
    // One document after the other, each to its end: B's first rows come after A's last, C's after B's.
    expect(events.indexOf('B0'), events.join(' ')).toBeGreaterThan(events.indexOf('A:end'));
    expect(events.indexOf('C0'), events.join(' ')).toBeGreaterThan(events.indexOf('B:end'));
    // The page does not wait for the documents.
    expect(events.indexOf('P:end')).toBeLessThan(events.indexOf('A:end'));
    expect(events.indexOf('P:end')).toBeLessThan(events.indexOf('C:end'));
  });
});

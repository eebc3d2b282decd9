import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../gateway/events';
import type { Punch } from '../../gateway/model';
import type { PunchFilter } from '../../gateway/query/punch-query';
import { PunchStore } from '../../gateway/query/punch-store';
import { QueryStore } from '../../gateway/query/query-store';
import { PunchJournal } from '../../gateway/store/journal';
import { todayHourBounds } from '../../gateway/web/dashboard-model';
import { csvCell } from '../../gateway/web/punch-csv';
import { formatTime } from '../../gateway/web/time-format';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

const punchArb = fc.record({
  terminalId: fc.constantFrom('t1', 't2', 't3'),
  worker: fc.integer({ min: 0, max: 6 }),
  direction: fc.constantFrom<'in' | 'out'>('in', 'out'),
  method: fc.constantFrom<Punch['method']>('fp', 'fa', 'card', 'pwd'),
  offsetMin: fc.integer({ min: 0, max: 3 * 24 * 60 }),
});

type PunchRow = ReturnType<typeof punchArb.generate>['value'];

function toPunches(rows: readonly PunchRow[]): Punch[] {
  return rows.map((r, i) => ({
    ...draft(`k${i}`),
    seq: i + 1,
    terminalId: r.terminalId,
    pin: String(r.worker),
    // Worker 0 is an unmatched PIN.
    workerId: r.worker === 0 ? null : `w${r.worker}`,
    flags: r.worker === 0 ? ['unmatched'] : [],
    direction: r.direction,
    method: r.method,
    atMs: T0 + r.offsetMin * 60_000,
  }));
}

function naive(punches: readonly Punch[], f: PunchFilter): Punch[] {
  return punches.filter((p) => {
    if (f.fromMs !== undefined && p.atMs < f.fromMs) return false;
    if (f.toMs !== undefined && p.atMs >= f.toMs) return false;
    if (f.terminalId !== undefined && p.terminalId !== f.terminalId) return false;
    if (f.direction !== undefined && p.direction !== f.direction) return false;
    if (f.delivery && p.seq <= f.delivery.cursor !== (f.delivery.state === 'delivered')) return false;
    if (f.workerIds || f.pin !== undefined) {
      const byWorker = f.workerIds !== undefined && p.workerId !== null && f.workerIds.includes(p.workerId);
      const byPin =
        f.pin !== undefined && p.pin === f.pin && (f.workerIds === undefined || p.workerId === null);
      if (!byWorker && !byPin) return false;
    }
    return true;
  });
}

const filterArb: fc.Arbitrary<PunchFilter> = fc.record(
  {
    fromMs: fc.integer({ min: 0, max: 3 * 24 * 60 }).map((m) => T0 + m * 60_000),
    toMs: fc.integer({ min: 0, max: 3 * 24 * 60 }).map((m) => T0 + m * 60_000),
    terminalId: fc.constantFrom('t1', 't2', 't9'),
    direction: fc.constantFrom<'in' | 'out'>('in', 'out'),
    workerIds: fc.array(fc.constantFrom('w1', 'w2', 'w5', 'nobody'), { maxLength: 2 }),
    pin: fc.constantFrom('0', '1', '42'),
    delivery: fc.record({
      cursor: fc.integer({ min: 0, max: 60 }),
      state: fc.constantFrom<'delivered' | 'pending'>('delivered', 'pending'),
    }),
  },
  { requiredKeys: [] },
);

/** Newest first by punch time, journal order breaking ties: the store's order. */
function newestFirst(a: Punch, b: Punch): number {
  return b.atMs - a.atMs || b.seq - a.seq;
}

/** A store in memory: the same SQL and indexes as the file, without the disk. */
function memoryStore(punches: readonly Punch[]): PunchStore {
  const store = PunchStore.open(':memory:', { create: true });
  store.append(punches, 0);
  return store;
}

describe('query store queries', () => {
  it('match a plain filter over the same punches, newest first, with exact totals', () => {
    fc.assert(
      fc.property(
        fc.array(punchArb, { maxLength: 60 }),
        filterArb,
        fc.integer({ min: 1, max: 4 }),
        (rows, filter, pageNo) => {
          const punches = toPunches(rows);
          const store = memoryStore(punches);
          try {
            const expected = naive(punches, filter);
            const page = store.query(filter, pageNo, 7);
            expect(page.total).toBe(expected.length);
            const want = [...expected].sort(newestFirst).slice((pageNo - 1) * 7, pageNo * 7);
            expect(page.rows.map((r) => r.seq)).toEqual(want.map((p) => p.seq));
            expect(
              page.rows.map((r) => [r.terminalId, r.pin, r.workerId, r.direction, r.method, r.atMs, r.flags]),
            ).toEqual(
              want.map((p) => [p.terminalId, p.pin, p.workerId, p.direction, p.method, p.atMs, p.flags]),
            );
            const oldestFirst = [...expected].sort((a, b) => newestFirst(b, a));
            expect([...store.each(filter)].map((r) => r.seq)).toEqual(oldestFirst.map((p) => p.seq));
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('page by keyset through every match, Older to the end and Newer back, whatever the filter', () => {
    fc.assert(
      fc.property(fc.array(punchArb, { maxLength: 60 }), filterArb, (rows, filter) => {
        const punches = toPunches(rows);
        const store = memoryStore(punches);
        try {
          const want = naive(punches, filter)
            .sort(newestFirst)
            .map((p) => p.seq);
          const pages: number[][] = [];
          let page = store.query(filter, 1, 7);
          expect(page.newer).toBeUndefined();
          for (;;) {
            pages.push(page.rows.map((r) => r.seq));
            if (!page.older) break;
            page = store.query(filter, 1, 7, { before: page.older });
          }
          expect(pages.flat()).toEqual(want);
          expect(pages.every((p, i) => p.length === 7 || i === pages.length - 1)).toBe(true);
          for (let i = pages.length - 2; i >= 0; i--) {
            expect(page.newer).toBeDefined();
            page = store.query(filter, 1, 7, { after: page.newer! });
            expect(page.rows.map((r) => r.seq)).toEqual(pages[i]);
          }
          expect(page.newer).toBeUndefined();
          // A numbered page names the same places to go on from.
          const second = store.query(filter, 2, 7);
          expect(
            second.older && store.query(filter, 1, 7, { before: second.older }).rows.map((r) => r.seq),
          ).toEqual(second.older && want.slice(14, 21));
        } finally {
          store.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('counts on-site workers by their last punch in time and entries/exits per hour', () => {
    const at = (h: number) => T0 + h * 3_600_000;
    const rows: Array<[string, 'in' | 'out', number]> = [
      ['w1', 'in', 1],
      ['w2', 'in', 1],
      ['w2', 'out', 5],
      ['w3', 'out', 2],
      // Read late from a terminal: earlier in time than w1's entry, so it does not decide.
      ['w1', 'out', 0],
    ];
    const store = memoryStore(
      rows.map(([worker, direction, hour], i) => ({
        ...draft(`k${i}`),
        seq: i + 1,
        workerId: worker,
        direction,
        atMs: at(hour),
      })),
    );
    try {
      expect(store.onSite(0)).toEqual(['w1']);
      expect(store.lastPunchOf('w2')).toEqual({ atMs: at(5), direction: 'out' });
      const bounds = Array.from({ length: 7 }, (_, h) => at(h));
      const { entries, exits } = store.countPerSlot(bounds);
      expect(entries).toEqual([0, 2, 0, 0, 0, 0]);
      expect(exits).toEqual([1, 0, 1, 0, 0, 1]);
      expect(store.latest()?.seq).toBe(5);
    } finally {
      store.close();
    }
  });

  it('finds workers by PIN, ids and ID number exactly, and by part of the name', () => {
    const store = memoryStore([]);
    try {
      store.syncWorkers(
        [
          {
            id: 'w1',
            pin: '7',
            name: '张三丰',
            identities: { idCardNo: '51010119900307123X', sichuanUserId: 'SC-1' },
          },
          { id: 'w2', pin: '17', name: 'Li Si', identities: { deliUserId: 'D-9' } },
        ],
        true,
      );
      expect(store.searchWorkers('7')).toEqual(['w1']);
      expect(store.searchWorkers('三')).toEqual(['w1']);
      expect(store.searchWorkers('li s')).toEqual(['w2']);
      expect(store.searchWorkers('51010119900307123x')).toEqual(['w1']);
      expect(store.searchWorkers('510101')).toEqual([]);
      expect(store.searchWorkers('SC-1')).toEqual(['w1']);
      expect(store.searchWorkers('D-9')).toEqual(['w2']);
      store.forgetWorkers(['w2']);
      expect(store.searchWorkers('D-9')).toEqual([]);
    } finally {
      store.close();
    }
  });

  it("keeps the hours' entries and exits right as punches arrive, late ones included", () => {
    const at = (h: number) => T0 + h * 3_600_000;
    const bounds = Array.from({ length: 7 }, (_, h) => at(h));
    const store = memoryStore([]);
    let seq = 0;
    const add = (hour: number, direction: 'in' | 'out') =>
      store.append([{ ...draft(`k${++seq}`), seq, direction, atMs: at(hour) + seq }], 0);
    try {
      add(1, 'in');
      add(2, 'out');
      expect(store.countPerSlot(bounds)).toEqual({ entries: [0, 1, 0, 0, 0, 0], exits: [0, 0, 1, 0, 0, 0] });
      // Since that answer: a punch in a later hour, one read late from a terminal (an earlier
      // hour), and one outside the slots.
      add(5, 'in');
      add(0, 'out');
      add(9, 'in');
      expect(store.countPerSlot(bounds)).toEqual({ entries: [0, 1, 0, 0, 0, 1], exits: [1, 0, 1, 0, 0, 0] });
      expect(store.countPerSlot(bounds.slice(2))).toEqual({ entries: [0, 0, 0, 1], exits: [1, 0, 0, 0] });
      // Retention took rows the kept answer counted.
      store.prune(at(1), 10);
      expect(store.countPerSlot(bounds)).toEqual({ entries: [0, 1, 0, 0, 0, 1], exits: [0, 0, 1, 0, 0, 0] });
    } finally {
      store.close();
    }
  });

  it('writes times as the zone formatter does, minute after minute and across offsets', () => {
    const direct = (ms: number, zone: string) => {
      const f: Record<string, string> = {};
      const format = new Intl.DateTimeFormat('en-GB', {
        timeZone: zone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      });
      for (const p of format.formatToParts(ms)) f[p.type] = p.value;
      return `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}:${f.second}`;
    };
    fc.assert(
      fc.property(
        fc.constantFrom('Asia/Shanghai', 'Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns'),
        // From 1890 (offsets in seconds, before standard time) to 2100, and runs of nearby times.
        fc.integer({ min: -2_524_521_600_000, max: 4_102_444_800_000 }),
        fc.array(fc.integer({ min: -90_000, max: 90_000 }), { maxLength: 20 }),
        (zone, start, steps) => {
          let ms = start;
          for (const step of [0, ...steps]) {
            ms += step;
            expect(formatTime(ms, zone)).toBe(direct(ms, zone));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('splits a DST day into its real hours', () => {
    expect(todayHourBounds('Asia/Shanghai', T0)).toHaveLength(25);
    expect(todayHourBounds('Europe/Berlin', Date.UTC(2026, 2, 29, 12)).length - 1).toBe(23);
  });

  it('neutralises spreadsheet formulas and quotes CSV cells', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('张三, Jr')).toBe('"张三, Jr"');
    expect(csvCell('plain')).toBe('plain');
  });
});

describe('query store feed', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('catches up from the journal and then follows punches.journaled, in order, without duplicates', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const journal = new PunchJournal({
      dir: join(tmp.dir, 'journal'),
      segmentMaxBytes: 8192,
      retentionDays: 90,
      clock: { now: () => Date.now() },
      logger: testLogger(),
    });
    await journal.open();
    cleanups.push(() => journal.close());
    const first = await journal.append(
      Array.from({ length: 300 }, (_, i) => draft(`a${i}`, { pin: String(i % 9) })),
    );
    const bus = new EventBus();
    const store = new QueryStore({
      file: join(tmp.dir, 'punches.sqlite'),
      journal,
      bus,
      workers: { list: () => [], get: () => undefined },
      punchYears: 3,
      // The punches' own time (support/punches.ts), so none is past retention.
      clock: { now: () => 1_700_000_000_000 },
      logger: testLogger(),
    });
    store.start();
    // Journaled while the store is built, announced out of order, and one announced twice.
    const second = await journal.append(Array.from({ length: 5 }, (_, i) => draft(`b${i}`)));
    const third = await journal.append([draft('c0', { direction: 'out' })]);
    bus.emit('punches.journaled', third);
    bus.emit('punches.journaled', second);
    bus.emit('punches.journaled', [first[0]!]);
    await store.whenCaughtUp();
    expect(store.isReady).toBe(true);
    const all = store.query({}, 1, 1000);
    expect(all.total).toBe(306);
    expect(all.rows.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 306 }, (_, i) => i + 1),
    );
    // In step with the live announcement: written before emit returns.
    const fourth = await journal.append([draft('d0')]);
    bus.emit('punches.journaled', fourth);
    expect(store.lastSeq).toBe(307);
    expect(store.query({}, 1, 1).total).toBe(307);
    await store.stop();
  });
});

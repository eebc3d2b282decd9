import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../gateway/events';
import type { Punch } from '../../gateway/model';
import { PunchIndexFeed } from '../../gateway/query/index-feed';
import { PunchIndex } from '../../gateway/query/punch-index';
import { countPerSlot, eachPunch, type PunchFilter, queryPunches } from '../../gateway/query/punch-query';
import { PunchJournal } from '../../gateway/store/journal';
import { todayHourBounds } from '../../gateway/web/dashboard-model';
import { csvCell } from '../../gateway/web/punch-csv';
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

describe('punch index queries', () => {
  it('match a plain filter over the same punches, newest first, with exact totals', () => {
    fc.assert(
      fc.property(
        fc.array(punchArb, { maxLength: 60 }),
        filterArb,
        fc.integer({ min: 1, max: 4 }),
        (rows, filter, pageNo) => {
          const punches = toPunches(rows);
          const index = new PunchIndex();
          for (const p of punches) index.add(p);
          const expected = naive(punches, filter);
          const page = queryPunches(index, filter, pageNo, 7);
          expect(page.total).toBe(expected.length);
          const want = [...expected].reverse().slice((pageNo - 1) * 7, pageNo * 7);
          expect(page.rows.map((r) => r.seq)).toEqual(want.map((p) => p.seq));
          expect(page.rows.map((r) => [r.terminalId, r.pin, r.workerId, r.direction, r.method])).toEqual(
            want.map((p) => [p.terminalId, p.pin, p.workerId, p.direction, p.method]),
          );
          expect([...eachPunch(index, filter)].map((r) => r.seq)).toEqual(expected.map((p) => p.seq));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts on-site workers by their last punch in time and entries/exits per hour', () => {
    const index = new PunchIndex();
    const at = (h: number) => T0 + h * 3_600_000;
    const rows: Array<[string, 'in' | 'out', number]> = [
      ['w1', 'in', 1],
      ['w2', 'in', 1],
      ['w2', 'out', 5],
      ['w3', 'out', 2],
      // Read late from a terminal: earlier in time than w1's entry, so it does not decide.
      ['w1', 'out', 0],
    ];
    rows.forEach(([worker, direction, hour], i) => {
      index.add({ ...draft(`k${i}`), seq: i + 1, workerId: worker, direction, atMs: at(hour) });
    });
    expect(index.onSite()).toEqual(['w1']);
    const bounds = Array.from({ length: 7 }, (_, h) => at(h));
    const { entries, exits } = countPerSlot(index, bounds);
    expect(entries).toEqual([0, 2, 0, 0, 0, 0]);
    expect(exits).toEqual([1, 0, 1, 0, 0, 1]);
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

describe('punch index feed', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('scans the journal once and then follows punches.journaled, in order, without duplicates', async () => {
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
    const feed = new PunchIndexFeed({ journal, bus, logger: testLogger() });
    const building = feed.start();
    // Journaled while the scan runs, announced out of order, and one announced twice.
    const second = await journal.append(Array.from({ length: 5 }, (_, i) => draft(`b${i}`)));
    const third = await journal.append([draft('c0', { direction: 'out' })]);
    bus.emit('punches.journaled', third);
    bus.emit('punches.journaled', second);
    bus.emit('punches.journaled', [first[0]!]);
    await building;
    expect(feed.isReady).toBe(true);
    expect(feed.index.size).toBe(306);
    const seqs = Array.from(feed.index.seq.subarray(0, feed.index.size));
    expect(seqs).toEqual(Array.from({ length: 306 }, (_, i) => i + 1));
    const fourth = await journal.append([draft('d0')]);
    bus.emit('punches.journaled', fourth);
    expect(feed.index.lastSeq).toBe(307);
    feed.stop();
  });
});

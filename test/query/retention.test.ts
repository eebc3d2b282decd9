/**
 * Retention: the page keeps showing punches for `retention.punchYears` although the journal keeps
 * only `journal.retentionDays`; a journal segment goes only once the query store durably holds its
 * punches (the housekeeping hook the controller wires); store rows past `punchYears` are deleted.
 */
import { readdir, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { EventBus } from '../../gateway/events';
import type { PunchDraft } from '../../gateway/model';
import { DedupIndex } from '../../gateway/pipeline/dedup-index';
import { QueryStore } from '../../gateway/query/query-store';
import { Housekeeping } from '../../gateway/store/housekeeping';
import type { PunchJournal } from '../../gateway/store/journal';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';
import { API_TOKEN, openJournal } from './support';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 5, 15, 4, 0, 0);
const clock = { now: () => NOW };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function storeOf(dataDir: string, journal: PunchJournal, punchYears = 3, bus = new EventBus()): QueryStore {
  return new QueryStore({
    file: join(dataDir, 'punches.sqlite'),
    journal,
    bus,
    workers: { list: () => [], get: () => undefined },
    punchYears,
    clock,
    logger: testLogger('store'),
  });
}

/** Punches of one day, `daysAgo` before NOW, one per PIN. */
function dayOf(daysAgo: number, count: number, prefix: string): PunchDraft[] {
  return Array.from({ length: count }, (_, i) =>
    draft(`${prefix}${i}`, {
      pin: String(i + 1),
      workerId: `w${i + 1}`,
      atMs: NOW - daysAgo * DAY_MS + i * 1000,
    }),
  );
}

/** Every segment but the active one looks as old as its punches (retention reads the file's mtime). */
async function ageSegments(dataDir: string, days: number): Promise<void> {
  const dir = join(dataDir, 'journal');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
  const at = new Date(NOW - days * DAY_MS);
  for (const name of names.slice(0, -1)) await utimes(join(dir, name), at, at);
}

describe('query store retention', () => {
  it('a journal segment goes only once the store durably holds its punches', async () => {
    const tmp = await tempDir('edge-gw-retention-hook-');
    cleanups.push(tmp.cleanup);
    const dataDir = tmp.dir;
    const journal = openJournal(dataDir, 4096, clock.now);
    await journal.open();
    cleanups.push(() => journal.close());
    const bus = new EventBus();
    // Two years ago: 400 punches the store takes in...
    await journal.append(dayOf(730, 400, 'a'));
    const store = storeOf(dataDir, journal, 3, bus);
    cleanups.push(() => store.stop());
    store.start();
    await store.whenCaughtUp();
    // ...and 400 more it has not taken in yet (nobody announced them), in segments just as old,
    // which every upstream has passed.
    await journal.append(dayOf(729, 400, 'b'));
    const today = await journal.append([draft('today', { atMs: NOW })]);
    await ageSegments(dataDir, 729);
    const housekeeping = new Housekeeping({
      journal,
      dedup: new DedupIndex(31, clock.now),
      acknowledged: () => journal.lastSeq,
      queryStoreHolds: () => store.holds(),
      logger: testLogger('housekeeping'),
    });
    await housekeeping.start();
    housekeeping.stop();
    // Only what the store holds went: the segment with punch 401 is still there.
    expect(store.holds()).toBe(400);
    expect(journal.segmentList[0]!.firstSeq).toBeGreaterThan(1);
    expect(journal.segmentList[0]!.firstSeq).toBeLessThanOrEqual(401);

    // The store catches up (a later announcement shows it is behind); then the rest may go.
    bus.emit('punches.journaled', today);
    await store.whenCaughtUp();
    expect(store.lastSeq).toBe(801);
    await housekeeping.start();
    housekeeping.stop();
    expect(journal.segmentList.length).toBe(1);
    // The journal forgot them; the page has every one.
    expect(store.query({ toMs: NOW - 700 * DAY_MS }, 1, 1000).total).toBe(800);
    expect(store.query({ pin: '400' }, 1, 10).rows.map((r) => r.atMs)).toEqual([
      NOW - 729 * DAY_MS + 399_000,
      NOW - 730 * DAY_MS + 399_000,
    ]);
  });

  it('deletes store rows older than retention.punchYears and never stores them again', async () => {
    const tmp = await tempDir('edge-gw-retention-years-');
    cleanups.push(tmp.cleanup);
    const journal = openJournal(tmp.dir, 1024 * 1024, clock.now);
    await journal.open();
    cleanups.push(() => journal.close());
    await journal.append([
      draft('four-years', { atMs: NOW - 4 * 365 * DAY_MS, workerId: 'w1' }),
      draft('two-years', { atMs: NOW - 2 * 365 * DAY_MS, workerId: 'w2', pin: '2' }),
      draft('yesterday', { atMs: NOW - DAY_MS, workerId: 'w3', pin: '3' }),
    ]);
    const five = storeOf(tmp.dir, journal, 5);
    five.start();
    await five.whenCaughtUp();
    expect(five.query({}, 1, 10).total).toBe(3);
    expect(five.lastPunchOf('w1')).toBeDefined();
    await five.stop();

    const three = storeOf(tmp.dir, journal, 3);
    three.start();
    await three.whenCaughtUp();
    // Retention runs after the catch-up; give it its turn.
    await new Promise((r) => setTimeout(r, 50));
    const left = three.query({}, 1, 10);
    expect(left.total).toBe(2);
    expect(left.rows.map((r) => r.workerId)).toEqual(['w3', 'w2']);
    expect(three.lastPunchOf('w1')).toBeUndefined();
    await three.stop();

    // A rebuild from the journal keeps the same window.
    await rm(join(tmp.dir, 'punches.sqlite'));
    const rebuilt = storeOf(tmp.dir, journal, 3);
    rebuilt.start();
    await rebuilt.whenCaughtUp();
    expect(rebuilt.query({}, 1, 10).total).toBe(2);
    expect(rebuilt.lastSeq).toBe(3);
    await rebuilt.stop();
  });

  it('the page shows a punch from two years ago after its journal segment is gone', async () => {
    const tmp = await tempDir('edge-gw-retention-page-');
    cleanups.push(tmp.cleanup);
    const dataDir = join(tmp.dir, 'data');
    const journal = openJournal(dataDir, 4096, clock.now);
    await journal.open();
    await journal.append(dayOf(730, 200, 'old'));
    await journal.append(dayOf(1, 200, 'new'));
    await journal.close();
    const result = validateConfig({
      site: { name: 'retention', timezone: 'Asia/Shanghai' },
      dataDir,
      http: { host: '127.0.0.1', port: 0, apiToken: API_TOKEN },
    });
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const get = async (gateway: Gateway, path: string) =>
      (await (
        await fetch(`http://127.0.0.1:${gateway.httpPort}${path}`, {
          headers: { authorization: `Bearer ${API_TOKEN}` },
        })
      ).json()) as { total: number; punches: Array<{ atMs: number; pin: string }>; indexReady: boolean };
    const first = new Gateway(result.config, testLogger('gateway'), { httpPort: 0, clock });
    await first.start();
    while (!(await get(first, '/api/dashboard')).indexReady) await new Promise((r) => setTimeout(r, 50));
    await first.stop();
    // What retention does to the journal after `journal.retentionDays`: the old segments are gone.
    const dir = join(dataDir, 'journal');
    const segments = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
    for (const name of segments.slice(0, -1)) await rm(join(dir, name));

    const second = new Gateway(result.config, testLogger('gateway'), { httpPort: 0, clock });
    await second.start();
    cleanups.push(() => second.stop());
    while (!(await get(second, '/api/dashboard')).indexReady) await new Promise((r) => setTimeout(r, 50));
    const twoYearsAgo = new Date(NOW - 730 * DAY_MS).toISOString().slice(0, 10);
    const page = await get(second, `/api/punches?from=${twoYearsAgo}&to=${twoYearsAgo}&pageSize=1000`);
    expect(page.total).toBe(200);
    expect(page.punches.find((p) => p.pin === '17')?.atMs).toBe(NOW - 730 * DAY_MS + 16_000);
    expect((await get(second, '/api/punches?pageSize=1')).total).toBe(400);
  });
});

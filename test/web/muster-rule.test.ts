/**
 * The muster rule (who is inside now) over real punches: journaled, announced on the bus and
 * written by the query store, then asked the way the dashboard, the workers list and the muster
 * list ask it.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../gateway/events';
import type { Direction, PunchDraft } from '../../gateway/model';
import { insideSince } from '../../gateway/query/punch-query';
import { QueryStore } from '../../gateway/query/query-store';
import type { Worker } from '../../gateway/roster/roster';
import { PunchJournal } from '../../gateway/store/journal';
import { buildMuster } from '../../gateway/web/muster-model';
import { onSiteNow } from '../../gateway/web/on-site';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';

const NOW = Date.UTC(2026, 2, 10, 2, 0, 0); // 10:00 in Asia/Shanghai
const HOUR = 3_600_000;
const WINDOW_HOURS = 14;

interface Opened {
  readonly journal: PunchJournal;
  readonly bus: EventBus;
  readonly store: QueryStore;
  /** Journals punches and announces them, as the pipeline does. */
  punch(drafts: readonly PunchDraft[]): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openStore(): Promise<Opened> {
  const tmp = await tempDir('edge-gw-muster-');
  cleanups.push(tmp.cleanup);
  const journal = new PunchJournal({
    dir: join(tmp.dir, 'journal'),
    segmentMaxBytes: 1 << 20,
    retentionDays: 90,
    clock: { now: () => NOW },
    logger: testLogger(),
  });
  await journal.open();
  cleanups.push(() => journal.close());
  const bus = new EventBus();
  const store = new QueryStore({
    file: join(tmp.dir, 'punches.sqlite'),
    journal,
    bus,
    workers: { list: () => [], get: () => undefined },
    punchYears: 3,
    clock: { now: () => NOW },
    logger: testLogger(),
  });
  store.start();
  cleanups.push(() => store.stop());
  await store.whenCaughtUp();
  return {
    journal,
    bus,
    store,
    punch: async (drafts) => {
      bus.emit('punches.journaled', await journal.append(drafts));
    },
  };
}

let keys = 0;
function at(
  workerId: string | null,
  direction: Direction,
  hoursAgo: number,
  terminalId = 'gate-east',
  pin = '7',
): PunchDraft {
  keys++;
  return draft(`m${keys}`, {
    workerId,
    pin,
    direction,
    terminalId,
    atMs: NOW - hoursAgo * HOUR,
    receivedMs: NOW,
    flags: workerId === null ? ['unmatched'] : [],
  });
}

function worker(id: string, name: string, team?: string, employer?: string): Worker {
  return {
    id,
    pin: id.replace(/\D/g, ''),
    name,
    team,
    employer,
    identities: {},
    sources: ['local'],
    status: 'active',
    templates: [],
    updatedMs: NOW,
  };
}

describe('the muster rule: the last punch is an entry within the night-shift window', () => {
  it('counts an entry within the window, and not one older, one followed by an exit, or an unknown PIN', async () => {
    const { store, punch } = await openStore();
    await punch([
      // In 13 h ago: a night shift still inside.
      at('w-within', 'in', 13),
      // In 15 h ago and no exit: walked out without punching; not inside any more.
      at('w-stale', 'in', 15),
      // In, then out.
      at('w-left', 'in', 3),
      at('w-left', 'out', 1),
      // Out, then in again.
      at('w-back', 'out', 2),
      at('w-back', 'in', 1, 'gate-north'),
      // A PIN on no roster entry: kept and flagged, never on the list.
      at(null, 'in', 1, 'gate-east', '9999'),
      // Exactly at the window's edge counts; a millisecond older does not.
      { ...at('w-edge', 'in', 0), atMs: NOW - WINDOW_HOURS * HOUR },
      { ...at('w-past-edge', 'in', 0), atMs: NOW - WINDOW_HOURS * HOUR - 1 },
    ]);
    const since = insideSince(NOW, WINDOW_HOURS);
    expect(store.onSite(since).sort()).toEqual(['w-back', 'w-edge', 'w-within']);
    // Without the window, the stale entries would count too (the rule the dashboard had).
    expect(store.onSite(0).sort()).toEqual(['w-back', 'w-edge', 'w-past-edge', 'w-stale', 'w-within']);
    expect(onSiteNow({ punches: store, nightShiftHours: WINDOW_HOURS }, NOW).sort()).toEqual([
      'w-back',
      'w-edge',
      'w-within',
    ]);
    // The same workers with their entry and its gate, whatever the page size.
    for (const size of [1, 2, 500]) {
      const entries = [];
      let after = 0;
      for (;;) {
        const page = store.onSitePage(since, after, size);
        entries.push(...page.entries);
        if (page.next === undefined) break;
        after = page.next;
      }
      expect(entries.sort((a, b) => a.workerId.localeCompare(b.workerId))).toEqual([
        { workerId: 'w-back', atMs: NOW - HOUR, terminalId: 'gate-north' },
        { workerId: 'w-edge', atMs: NOW - WINDOW_HOURS * HOUR, terminalId: 'gate-east' },
        { workerId: 'w-within', atMs: NOW - 13 * HOUR, terminalId: 'gate-east' },
      ]);
    }
  });

  it('decides by punch time: an exit read late from a terminal, earlier than the entry, does not take a worker off', async () => {
    const { store, punch } = await openStore();
    await punch([at('w1', 'in', 2), at('w2', 'in', 2)]);
    // Journaled after the entries, made before them (a terminal read after a link was down).
    await punch([at('w1', 'out', 3), at('w2', 'out', 1)]);
    expect(store.onSite(insideSince(NOW, WINDOW_HOURS))).toEqual(['w1']);
  });

  it('lists by team, then by entry time, with names, employers and gate names, and filters', async () => {
    const { store, punch } = await openStore();
    await punch([
      at('w1', 'in', 1, 'gate-east'),
      at('w2', 'in', 3, 'gate-north'),
      at('w3', 'in', 2, 'gate-east'),
      at('w4', 'in', 4, 'gate-east'),
      at('w5', 'in', 5, 'gate-north'),
    ]);
    const roster = new Map<string, Worker>([
      ['w1', worker('w1', '张三', '钢筋班', '华西劳务')],
      ['w2', worker('w2', '李四', '钢筋班', '华西劳务')],
      ['w3', worker('w3', '王五', '木工班', '蜀通建筑劳务')],
      ['w4', worker('w4', '赵六')],
      ['w5', worker('w5', '陈七', '木工班', '华西劳务')],
    ]);
    const names = new Map([
      ['gate-east', '东门'],
      ['gate-north', '北门闸机'],
    ]);
    const deps = {
      punches: store,
      timezone: 'Asia/Shanghai',
      nightShiftHours: WINDOW_HOURS,
      terminalName: (id: string) => names.get(id),
      roster: { get: (id: string) => roster.get(id) },
    };
    const all = await buildMuster(deps, { team: '', employer: '' }, NOW);
    expect(all.total).toBe(5);
    expect(all.count).toBe(5);
    // Teams in the zh-CN collation (pinyin: 钢 gāng before 木 mù), no team last; earliest entry first.
    expect(all.rows.map((r) => [r.team, r.name, r.at, r.gate])).toEqual([
      ['钢筋班', '李四', '2026-03-10 07:00:00', '北门闸机'],
      ['钢筋班', '张三', '2026-03-10 09:00:00', '东门'],
      ['木工班', '陈七', '2026-03-10 05:00:00', '北门闸机'],
      ['木工班', '王五', '2026-03-10 08:00:00', '东门'],
      ['', '赵六', '2026-03-10 06:00:00', '东门'],
    ]);
    expect(all.rows.map((r) => r.short)).toEqual(['07:00', '09:00', '05:00', '08:00', '06:00']);
    expect(all.teams).toEqual(['钢筋班', '木工班']);
    expect(all.employers).toEqual(['华西劳务', '蜀通建筑劳务']);
    expect(all.asOf).toBe('2026-03-10 10:00:00');

    const team = await buildMuster(deps, { team: '木工班', employer: '' }, NOW);
    expect(team.rows.map((r) => r.name)).toEqual(['陈七', '王五']);
    expect([team.count, team.total]).toEqual([2, 5]);
    const both = await buildMuster(deps, { team: '木工班', employer: '华西劳务' }, NOW);
    expect(both.rows.map((r) => r.name)).toEqual(['陈七']);
    const none = await buildMuster(deps, { team: '不存在的班组', employer: '' }, NOW);
    expect([none.count, none.total]).toEqual([0, 5]);
  });
});

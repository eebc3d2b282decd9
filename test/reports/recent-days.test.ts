/**
 * A day's punches kept a little while (gateway/reports/recent-days.ts): read once for a day's page,
 * file and JSON; read again as soon as the store takes a punch in the day's span (not for one
 * outside it), after a minute, when the store's file was replaced, and when too many punches came
 * in to look through. The store here is a list of punches in memory with the query store's reads.
 */
import { describe, expect, it } from 'vitest';
import { RecentDays, type RecentDaysStore } from '../../gateway/reports/recent-days';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 3, 1);

class PunchList implements RecentDaysStore {
  /** [seq, worker id, at_ms, out] */
  punches: Array<[number, string, number, number]> = [];
  reads = 0;
  isReady = true;
  failedQueries = 0;
  /** The next reads fail as the query store's do: counted, and answered with nothing. */
  failing = false;

  get lastSeq(): number {
    return this.punches.at(-1)?.[0] ?? 0;
  }

  add(worker: string, atMs: number, out = 0): void {
    this.punches.push([this.lastSeq + 1, worker, atMs, out]);
  }

  punchesAfter(afterSeq: number, limit: number): Array<[number, number, number, string]> {
    if (this.failing) {
      this.failedQueries++;
      return [];
    }
    return this.punches
      .filter(([seq]) => seq > afterSeq)
      .slice(0, limit)
      .map(([seq, id, atMs]) => [seq, Number(id.slice(1)), atMs, id]);
  }

  punchesByWorkerOverTime(fromMs: number, toMs: number): Map<string, number[]> {
    this.reads++;
    if (this.failing) {
      this.failedQueries++;
      return new Map();
    }
    const byId = new Map<string, number[]>();
    for (const [, id, atMs, out] of [...this.punches].sort((a, b) => a[2] - b[2] || a[0] - b[0])) {
      if (atMs < fromMs || atMs >= toMs) continue;
      byId.set(id, [...(byId.get(id) ?? []), atMs, out]);
    }
    return byId;
  }
}

describe('a day’s punches kept a little while', () => {
  it('reads a day once, and again once a punch lands in its span, not for one outside it', () => {
    const store = new PunchList();
    store.add('w1', T0 + 8 * 3_600_000);
    let now = T0 + 10 * DAY;
    const days = new RecentDays(store, () => now);
    const span = [T0 - DAY, T0 + 2 * DAY] as const;
    const first = days.read(...span);
    expect(days.read(...span)).toBe(first);
    expect(store.reads).toBe(1);

    // Today's punch, far from the day: kept.
    store.add('w2', T0 + 10 * DAY);
    expect(days.read(...span)).toBe(first);
    expect(store.reads).toBe(1);

    // A late punch inside the span: read again, and it is there.
    store.add('w2', T0 + 17 * 3_600_000, 1);
    const second = days.read(...span);
    expect(store.reads).toBe(2);
    expect(second.get('w2')).toEqual([T0 + 17 * 3_600_000, 1]);

    // A minute later it is read again, whatever happened.
    now += 61_000;
    days.read(...span);
    expect(store.reads).toBe(3);
    days.clear();
  });

  it('reads again when the store went back (a rebuilt file) or too many punches came in to look through', () => {
    const store = new PunchList();
    for (let i = 0; i < 10; i++) store.add(`w${i}`, T0 + i * 60_000);
    const days = new RecentDays(store, () => T0 + 5 * DAY);
    const span = [T0 - DAY, T0 + 2 * DAY] as const;
    days.read(...span);
    store.punches = store.punches.slice(0, 5);
    days.read(...span);
    expect(store.reads).toBe(2);
    // 2,001 punches after it, all outside the span: too many to look through, so it is read again.
    for (let i = 0; i < 2_001; i++) store.add('w1', T0 + 30 * DAY + i);
    days.read(...span);
    expect(store.reads).toBe(3);
    // Other spans are days of their own.
    days.read(T0, T0 + DAY);
    expect(store.reads).toBe(4);
    days.clear();
  });

  it('keeps nothing a failed query answered, and trusts no check that failed', () => {
    const store = new PunchList();
    store.add('w1', T0 + 8 * 3_600_000);
    const days = new RecentDays(store, () => T0 + 5 * DAY);
    const span = [T0 - DAY, T0 + 2 * DAY] as const;
    store.failing = true;
    expect(days.read(...span).size).toBe(0);
    store.failing = false;
    expect(days.read(...span).get('w1')).toEqual([T0 + 8 * 3_600_000, 0]);
    expect(store.reads).toBe(2);
    // A punch in the span, and the look at what came since fails: read again, not kept as it was.
    store.add('w2', T0 + 9 * 3_600_000);
    store.failing = true;
    days.read(...span);
    store.failing = false;
    expect(days.read(...span).get('w2')).toEqual([T0 + 9 * 3_600_000, 0]);
    // A store not open and caught up is read each time.
    store.isReady = false;
    const reads = store.reads;
    days.read(...span);
    days.read(...span);
    expect(store.reads).toBe(reads + 2);
    days.clear();
  });
});

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { terminalLabel } from './dashboard-model';
import { onSiteSinceMs } from './on-site';
import type { RosterView, WebDeps } from './port';
import { formatShortTime, formatTime } from './time-format';

/** Workers read from the store per call; the loop is yielded between calls (ZK links share it). */
const PAGE = 500;

export interface MusterFilter {
  /** Exact team (班组); '' for every team. */
  readonly team: string;
  /** Exact employer (劳务分包单位); '' for every employer. */
  readonly employer: string;
}

export interface MusterRow {
  readonly workerId: string;
  readonly name: string;
  readonly pin: string;
  /** '' when the worker has none. */
  readonly team: string;
  readonly employer: string;
  readonly terminalId: string;
  /** The terminal's configured name (else its id): the gate the worker came in through. */
  readonly gate: string;
  readonly atMs: number;
  /** Site-local `YYYY-MM-DD HH:mm:ss`. */
  readonly at: string;
  /** As short as is unambiguous today (the phone's cards). */
  readonly short: string;
}

/**
 * Who is inside now (the muster rule: `onSiteSinceMs`), for the page, its refresh and
 * /api/muster. `total` is everyone inside, the dashboard's figure; `count` is what the filter keeps.
 */
export interface Muster {
  readonly indexReady: boolean;
  readonly nightShiftHours: number;
  readonly asOfMs: number;
  readonly asOf: string;
  readonly total: number;
  readonly count: number;
  readonly filter: MusterFilter;
  /** The teams and employers of everyone inside, for the filter's choices. */
  readonly teams: readonly string[];
  readonly employers: readonly string[];
  /** By team (no team last), then by entry time, earliest first. */
  readonly rows: readonly MusterRow[];
}

/** The filter from a query's `team` and `employer`. */
export function readMusterFilter(query: (name: string) => string | undefined): MusterFilter {
  const value = (name: string) => (query(name) ?? '').trim();
  return { team: value('team'), employer: value('employer') };
}

const collator = new Intl.Collator('zh-CN');

function byTeamThenEntry(a: MusterRow, b: MusterRow): number {
  if (a.team !== b.team) {
    if (a.team === '') return 1;
    if (b.team === '') return -1;
    return collator.compare(a.team, b.team);
  }
  return a.atMs - b.atMs || collator.compare(a.name, b.name) || a.workerId.localeCompare(b.workerId);
}

/** What the muster list reads of the gateway. */
export type MusterDeps = Pick<WebDeps, 'punches' | 'timezone' | 'nightShiftHours' | 'terminalName'> & {
  readonly roster: Pick<RosterView, 'get'>;
};

export async function buildMuster(
  deps: MusterDeps,
  filter: MusterFilter,
  nowMs = Date.now(),
): Promise<Muster> {
  const since = onSiteSinceMs(deps, nowMs);
  const everyone: MusterRow[] = [];
  let after = 0;
  for (;;) {
    const page = deps.punches.onSitePage(since, after, PAGE);
    for (const entry of page.entries) {
      const worker = deps.roster.get(entry.workerId);
      everyone.push({
        workerId: entry.workerId,
        name: worker?.name ?? entry.workerId,
        pin: worker?.pin ?? '',
        team: worker?.team ?? '',
        employer: worker?.employer ?? '',
        terminalId: entry.terminalId,
        gate: terminalLabel(deps, entry.terminalId),
        atMs: entry.atMs,
        at: formatTime(entry.atMs, deps.timezone),
        short: formatShortTime(entry.atMs, deps.timezone, nowMs),
      });
    }
    if (page.next === undefined) break;
    after = page.next;
    await yieldToLoop();
  }
  const rows = everyone
    .filter(
      (r) => (!filter.team || r.team === filter.team) && (!filter.employer || r.employer === filter.employer),
    )
    .sort(byTeamThenEntry);
  const distinct = (values: readonly string[]) =>
    [...new Set(values.filter((v) => v !== ''))].sort(collator.compare);
  return {
    indexReady: deps.punches.isReady,
    nightShiftHours: deps.nightShiftHours,
    asOfMs: nowMs,
    asOf: formatTime(nowMs, deps.timezone),
    total: everyone.length,
    count: rows.length,
    filter,
    teams: distinct(everyone.map((r) => r.team)),
    employers: distinct(everyone.map((r) => r.employer)),
    rows,
  };
}

import { DateTime } from 'luxon';
import type { TerminalReport } from '../http/health';
import { countPerSlot, unmatchedSince } from '../query/punch-query';
import type { WebDeps } from './deps';
import { formatTime } from './layout';

export interface DashboardTerminal {
  readonly id: string;
  readonly kind: string;
  readonly online: boolean;
  readonly lastPunch: string;
  readonly clockOffsetSeconds?: number;
  readonly rosterSync?: string;
  readonly lastError?: string;
}

export interface DashboardUpstream {
  readonly name: string;
  readonly connected: boolean;
  readonly backlog: number;
  readonly lastSuccess: string;
  readonly lastError?: string;
  readonly configAlert?: string;
}

export interface Dashboard {
  readonly indexReady: boolean;
  readonly onSite: number;
  readonly onSiteNames: readonly string[];
  readonly entriesToday: number;
  readonly exitsToday: number;
  /** Hour labels 0–23 of today in the site's zone, with counts per hour. */
  readonly hours: readonly number[];
  readonly entries: readonly number[];
  readonly exits: readonly number[];
  readonly lastSeq: number;
  readonly latest?: {
    readonly name: string;
    readonly terminalId: string;
    readonly direction: string;
    readonly at: string;
  };
  readonly terminals: readonly DashboardTerminal[];
  readonly upstreams: readonly DashboardUpstream[];
  readonly alerts: readonly string[];
}

const ON_SITE_NAMES = 50;

/** Today's instants at each hour boundary in the site's zone (23 or 25 slots on a DST day). */
export function todayHourBounds(timezone: string, nowMs = Date.now()): number[] {
  const start = DateTime.fromMillis(nowMs, { zone: timezone }).startOf('day');
  const end = start.plus({ days: 1 }).toMillis();
  const bounds: number[] = [];
  for (let h = 0; ; h++) {
    const at = start.plus({ hours: h }).toMillis();
    if (at >= end) break;
    bounds.push(at);
  }
  bounds.push(end);
  return bounds;
}

/** Everything the dashboard shows, for the first render and for /api/dashboard refreshes. */
export function buildDashboard(deps: WebDeps, nowMs = Date.now()): Dashboard {
  const index = deps.punches.index;
  const health = deps.health();
  const bounds = todayHourBounds(deps.timezone, nowMs);
  const { entries, exits } = countPerSlot(index, bounds);
  const onSiteIds = index.onSite();
  const names = onSiteIds.slice(0, ON_SITE_NAMES).map((id) => deps.roster.get(id)?.name ?? id);
  const alerts = [...health.alerts];
  const terminals = health.terminals.map((t) => dashboardTerminal(deps, t, alerts));
  const unmatched = unmatchedSince(index, bounds[0]!);
  if (unmatched.size > 0) {
    const pins = [...unmatched.entries()].slice(0, 10).map(([pin, n]) => `${pin}×${n}`);
    alerts.push(`unmatched PINs today: ${pins.join(', ')}${unmatched.size > 10 ? ', …' : ''}`);
  }
  const lastRow = index.size - 1;
  const latestPunch = lastRow >= 0 ? index.row(lastRow) : undefined;
  return {
    indexReady: deps.punches.isReady,
    onSite: onSiteIds.length,
    onSiteNames: names,
    entriesToday: entries.reduce((a, b) => a + b, 0),
    exitsToday: exits.reduce((a, b) => a + b, 0),
    hours: bounds.slice(0, -1).map((_, i) => i),
    entries,
    exits,
    lastSeq: index.lastSeq,
    latest: latestPunch && {
      name: latestPunch.workerId
        ? (deps.roster.get(latestPunch.workerId)?.name ?? latestPunch.workerId)
        : `PIN ${latestPunch.pin}`,
      terminalId: latestPunch.terminalId,
      direction: latestPunch.direction,
      at: formatTime(latestPunch.atMs, deps.timezone),
    },
    terminals,
    upstreams: health.upstreams.map((u) => ({
      name: u.upstream,
      connected: u.health.connected,
      backlog: u.backlog,
      lastSuccess: formatTime(u.health.lastSuccessAt ?? u.lastDeliveredAt, deps.timezone),
      lastError: u.lastError ?? u.health.lastError,
      configAlert: u.health.configAlert,
    })),
    alerts,
  };
}

/** A terminal's row; its clock or user-count alert, if any, goes into `alerts`. */
function dashboardTerminal(deps: WebDeps, t: TerminalReport, alerts: string[]): DashboardTerminal {
  const tolerance = deps.clockTolerance(t.id);
  if (
    t.clockOffsetSeconds !== undefined &&
    tolerance !== undefined &&
    Math.abs(t.clockOffsetSeconds) > tolerance
  ) {
    alerts.push(`terminal ${t.id}: clock off by ${t.clockOffsetSeconds} s`);
  }
  const maxUsers = deps.terminal(t.id)?.driver.capabilities().maxUsers;
  if (maxUsers !== undefined && t.userCount !== undefined && t.userCount >= maxUsers) {
    alerts.push(`terminal ${t.id}: full (${t.userCount}/${maxUsers} users)`);
  }
  return {
    id: t.id,
    kind: t.kind,
    online: t.online,
    lastPunch: formatTime(t.lastPunchAt, deps.timezone),
    clockOffsetSeconds: t.clockOffsetSeconds,
    rosterSync: deps.rosterSyncState(t.id),
    lastError: t.lastError,
  };
}

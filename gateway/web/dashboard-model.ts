import { DateTime } from 'luxon';
import type { TerminalReport } from '../http/health';
import { type PageAlertFacts, type Said, type ShownAlertFacts, sayAlert, sayError } from './alert-words';
import { type Lang, say, text } from './i18n';
import { onSiteNow } from './on-site';
import type { RosterSyncState, WebDeps } from './port';
import { formatTime } from './time-format';
import { directionName, platformName } from './words';

export interface DashboardTerminal {
  readonly id: string;
  /** The configured name, else the id: what the page shows. */
  readonly name: string;
  readonly kind: string;
  readonly online: boolean;
  readonly status: string;
  readonly lastPunch: string;
  readonly clockOffsetSeconds?: number;
  readonly clockOffset: string;
  readonly rosterSyncState?: RosterSyncState;
  readonly rosterSync: Said;
  readonly lastError?: string;
}

export interface DashboardUpstream {
  readonly name: string;
  /** The platform's name in the reader's language. */
  readonly label: string;
  readonly connected: boolean;
  readonly status: string;
  readonly backlog: number;
  readonly lastSuccess: string;
  readonly lastError?: string;
  readonly configAlert?: string;
  /** The configuration alert, else the last error, said for the reader; `—` when neither. */
  readonly problem: Said;
}

/** An alert: its code and facts, its English line (`text`, as /healthz says it) and its words for the reader. */
export type DashboardAlert = ShownAlertFacts & { readonly text: string; readonly said: Said };

/**
 * Everything the dashboard shows, for the first render and for /api/dashboard refreshes. Codes and
 * numbers for programs; the words (`status`, `said`, `label`…) in the language asked for, so the
 * refreshing script writes them as they come.
 */
export interface Dashboard {
  readonly lang: Lang;
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
    readonly terminalName: string;
    readonly direction: string;
    readonly directionText: string;
    readonly at: string;
  };
  readonly terminals: readonly DashboardTerminal[];
  readonly upstreams: readonly DashboardUpstream[];
  readonly alerts: readonly DashboardAlert[];
}

const ON_SITE_NAMES = 50;
const NONE = '—';

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

/** The terminal's name as the page shows it: the configured one, else its id. */
export function terminalLabel(deps: Pick<WebDeps, 'terminalName'>, id: string): string {
  return deps.terminalName(id) ?? id;
}

/** A roster sync state in words (`—` when the terminal is not running). */
export function sayRosterSync(lang: Lang, state: RosterSyncState | undefined): Said {
  switch (state?.kind) {
    case undefined:
      return { text: NONE };
    case 'notApplicable':
      return { text: text(lang, 'notApplicable') };
    case 'inSync':
      return { text: text(lang, 'syncInSync') };
    case 'pending':
      return { text: say(lang, 'syncPending', { n: state.pending }) };
    case 'full':
      return { text: say(lang, 'syncFull', { n: state.pending }) };
    case 'error':
      return {
        text: `${text(lang, 'syncError')} (${say(lang, 'syncPending', { n: state.pending })})`,
        raw: state.error,
      };
  }
}

export function buildDashboard(deps: WebDeps, lang: Lang, nowMs = Date.now()): Dashboard {
  const index = deps.punches;
  const health = deps.health();
  const bounds = todayHourBounds(deps.timezone, nowMs);
  const { entries, exits } = index.countPerSlot(bounds);
  const onSiteIds = onSiteNow(deps, nowMs);
  const names = onSiteIds.slice(0, ON_SITE_NAMES).map((id) => deps.roster.get(id)?.name ?? id);
  const alerts: DashboardAlert[] = [];
  const named = (id: string) => terminalLabel(deps, id);
  const raise = (facts: ShownAlertFacts, english: string) =>
    alerts.push({ ...facts, text: english, said: sayAlert(lang, facts, named) });
  for (const alert of health.alertDetails) raise(alert, alert.text);
  const terminals = health.terminals.map((t) => dashboardTerminal(deps, lang, t, raise));
  const unmatched = index.unmatchedSince(bounds[0]!);
  if (unmatched.size > 0) {
    const pins = [...unmatched.entries()].slice(0, 10).map(([pin, count]) => ({ pin, count }));
    const more = unmatched.size > 10;
    raise(
      { code: 'unmatchedToday', pins, more },
      `unmatched PINs today: ${pins.map((p) => `${p.pin}×${p.count}`).join(', ')}${more ? ', …' : ''}`,
    );
  }
  const latestPunch = index.latest();
  return {
    lang,
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
        : say(lang, 'pinN', { n: latestPunch.pin }),
      terminalId: latestPunch.terminalId,
      terminalName: named(latestPunch.terminalId),
      direction: latestPunch.direction,
      directionText: directionName(lang, latestPunch.direction),
      at: formatTime(latestPunch.atMs, deps.timezone),
    },
    terminals,
    upstreams: health.upstreams.map((u) => {
      const lastError = u.lastError ?? u.health.lastError;
      const configAlert = u.health.configAlert;
      const problem: Said = configAlert
        ? sayAlert(lang, { code: 'upstreamConfig', upstream: u.upstream, detail: configAlert }, named)
        : lastError
          ? sayError(lang, lastError)
          : { text: NONE };
      return {
        name: u.upstream,
        label: platformName(lang, u.upstream),
        connected: u.health.connected,
        status: text(lang, u.health.connected ? 'connected' : 'disconnected'),
        backlog: u.backlog,
        lastSuccess: formatTime(u.health.lastSuccessAt ?? u.lastDeliveredAt, deps.timezone),
        lastError,
        configAlert,
        problem,
      };
    }),
    alerts,
  };
}

/** A terminal's row; its clock or user-count alert, if any, is raised. */
function dashboardTerminal(
  deps: WebDeps,
  lang: Lang,
  t: TerminalReport,
  raise: (facts: PageAlertFacts, english: string) => void,
): DashboardTerminal {
  const tolerance = deps.clockTolerance(t.id);
  const seconds = t.clockOffsetSeconds;
  if (seconds !== undefined && tolerance !== undefined && Math.abs(seconds) > tolerance) {
    raise(
      { code: 'clockBeyondTolerance', terminalId: t.id, seconds, tolerance },
      `terminal ${t.id}: clock off by ${seconds} s`,
    );
  }
  const maxUsers = deps.terminal(t.id)?.driver.capabilities().maxUsers;
  if (maxUsers !== undefined && t.userCount !== undefined && t.userCount >= maxUsers) {
    raise(
      { code: 'usersFull', terminalId: t.id, users: t.userCount, max: maxUsers },
      `terminal ${t.id}: full (${t.userCount}/${maxUsers} users)`,
    );
  }
  const rosterSyncState = deps.rosterSyncState(t.id);
  return {
    id: t.id,
    name: terminalLabel(deps, t.id),
    kind: t.kind,
    online: t.online,
    status: text(lang, t.online ? 'online' : 'offline'),
    lastPunch: formatTime(t.lastPunchAt, deps.timezone),
    clockOffsetSeconds: seconds,
    clockOffset: seconds === undefined ? NONE : say(lang, 'secondsN', { n: seconds }),
    rosterSyncState,
    rosterSync: sayRosterSync(lang, rosterSyncState),
    lastError: t.lastError,
  };
}

import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import type { UpstreamName } from '../model';
import type { PunchPage, StoredPunch } from '../query/punch-query';
import { type PageRoutes, pageContext } from './context';
import { terminalLabel } from './dashboard-model';
import { type Lang, say } from './i18n';
import { PunchesPage, type PunchRowView } from './pages/punches';
import type { WebDeps } from './port';
import { pagePosition, readPunchParams, toPunchFilter } from './punch-params';
import { punchSay } from './punch-words';
import { formatShortTime, formatTime } from './time-format';

export const PUNCH_PAGE_SIZE = 50;

export function punchRowView(
  deps: WebDeps,
  lang: Lang,
  punch: StoredPunch,
  cursors: ReadonlyArray<[UpstreamName, number]>,
  nowMs = Date.now(),
): PunchRowView {
  return {
    seq: punch.seq,
    at: formatTime(punch.atMs, deps.timezone),
    short: formatShortTime(punch.atMs, deps.timezone, nowMs),
    name: punch.workerId
      ? (deps.roster.get(punch.workerId)?.name ?? punch.workerId)
      : say(lang, 'pinN', { n: punch.pin }),
    pin: punch.pin,
    terminalId: punch.terminalId,
    terminalName: terminalLabel(deps, punch.terminalId),
    direction: punch.direction,
    method: punch.method,
    flags: punch.flags,
    delivery: cursors.map(([upstream, cursor]) => ({ upstream, delivered: punch.seq <= cursor })),
  };
}

/** Each enabled upstream's cursor: a punch is delivered there when its seq is at or below it. */
export function upstreamCursors(deps: WebDeps): Array<[UpstreamName, number]> {
  return deps.upstreamNames().map((n) => [n, deps.outboxCursor(n) ?? 0]);
}

/** `/punches`: the filtered list, newest first, a page at a time (the CSV is `/punches.csv`). */
export function punchRoutes(deps: WebDeps): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => {
    const params = readPunchParams((n) => c.req.query(n));
    const asked = pagePosition(params, PUNCH_PAGE_SIZE);
    const page = pageContext(c, deps.siteName);
    const result: PunchPage = asked.problem
      ? { rows: [], total: 0, capped: false, page: 1, pageSize: PUNCH_PAGE_SIZE }
      : deps.punches.query(toPunchFilter(deps, params), params.page, PUNCH_PAGE_SIZE, asked.position);
    const cursors = upstreamCursors(deps);
    return c.html(
      <PunchesPage
        page={page}
        params={params}
        result={result}
        rows={result.rows.map((p) => punchRowView(deps, page.lang, p, cursors))}
        terminals={deps.punches.terminalIds().map((id) => ({ id, name: terminalLabel(deps, id) }))}
        upstreams={deps.upstreamNames()}
        indexReady={deps.punches.isReady}
        problem={asked.problem && punchSay(page.lang, asked.problem.word, asked.problem.values)}
      />,
      asked.problem ? 400 : 200,
    );
  });
  return routes;
}

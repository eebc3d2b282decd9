import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import type { UpstreamName } from '../model';
import type { IndexedPunch } from '../query/punch-index';
import { queryPunches } from '../query/punch-query';
import { type PageRoutes, pageContext } from './context';
import type { WebDeps } from './deps';
import { formatTime } from './layout';
import { PunchesPage, type PunchRowView } from './pages/punches';
import { readPunchParams, toPunchFilter } from './punch-params';

export const PUNCH_PAGE_SIZE = 50;

export function punchRowView(
  deps: WebDeps,
  punch: IndexedPunch,
  cursors: ReadonlyArray<[UpstreamName, number]>,
): PunchRowView {
  return {
    seq: punch.seq,
    at: formatTime(punch.atMs, deps.timezone),
    name: punch.workerId ? (deps.roster.get(punch.workerId)?.name ?? punch.workerId) : `PIN ${punch.pin}`,
    pin: punch.pin,
    terminalId: punch.terminalId,
    direction: punch.direction,
    method: punch.method,
    flags: punch.flags.join(' '),
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
    const result = queryPunches(
      deps.punches.index,
      toPunchFilter(deps, params),
      params.page,
      PUNCH_PAGE_SIZE,
    );
    const cursors = upstreamCursors(deps);
    return c.html(
      <PunchesPage
        page={pageContext(c, deps.siteName)}
        params={params}
        result={result}
        rows={result.rows.map((p) => punchRowView(deps, p, cursors))}
        terminalIds={deps.punches.index.terminals.values}
        upstreams={deps.upstreamNames()}
        indexReady={deps.punches.isReady}
      />,
    );
  });
  return routes;
}

import type { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import type { UpstreamName } from '../model';
import { buildDashboard } from '../web/dashboard-model';
import { LANG_COOKIE, parseLang } from '../web/i18n';
import type { WebDeps } from '../web/port';
import { cursorText, pagePosition, readPunchParams, toPunchFilter } from '../web/punch-params';
import { PUNCH_PAGE_SIZE, upstreamCursors } from '../web/punch-routes';
import { punchSay } from '../web/punch-words';
import type { GuardEnv } from './guard';

const MAX_API_PAGE = 1000;

/**
 * The JSON API under /api/ (behind the same guard as the page: a session, or the bearer token).
 * Punches come back as stored, with their delivery state per upstream.
 */
export function registerApiRoutes(app: Hono<GuardEnv>, deps: WebDeps): void {
  // Words in the language the page asks for (`?lang=`), else the reader's cookie; codes and numbers beside them.
  app.get('/api/dashboard', (c) =>
    c.json(buildDashboard(deps, parseLang(c.req.query('lang') ?? getCookie(c, LANG_COOKIE))), 200, {
      'Cache-Control': 'no-store',
    }),
  );

  app.get('/api/punches', (c) => {
    const params = readPunchParams((n) => c.req.query(n));
    const size = Math.min(MAX_API_PAGE, Math.max(1, Number(c.req.query('pageSize')) || PUNCH_PAGE_SIZE));
    const asked = pagePosition(params, size);
    if (asked.problem)
      return c.json({ error: punchSay('en', asked.problem.word, asked.problem.values) }, 400);
    const result = deps.punches.query(toPunchFilter(deps, params), params.page, size, asked.position);
    const cursors = upstreamCursors(deps);
    return c.json({
      // At most COUNT_LIMIT: `totalCapped` says counting stopped there.
      total: result.total,
      totalCapped: result.capped,
      page: result.page,
      pageSize: result.pageSize,
      // Pass as `before=` / `after=` for the next older / newer page.
      older: result.older && cursorText(result.older),
      newer: result.newer && cursorText(result.newer),
      punches: result.rows.map((p) => ({
        ...p,
        delivered: Object.fromEntries(cursors.map(([name, cursor]) => [name, p.seq <= cursor])),
      })),
    });
  });

  app.get('/api/workers', (c) => {
    const q = (c.req.query('q') ?? '').toLowerCase();
    const workers = deps.roster
      .list()
      .filter((w) => !q || w.name.toLowerCase().includes(q) || w.pin === q)
      .map((w) => ({
        id: w.id,
        pin: w.pin,
        name: w.name,
        status: w.status,
        sources: w.sources,
        identities: { sichuanUserId: w.identities.sichuanUserId, deliUserId: w.identities.deliUserId },
        templates: w.templates.map((t) => ({ kind: t.kind, index: t.index, format: t.format })),
        lastPunch: deps.punches.lastPunchOf(w.id),
      }));
    return c.json({ total: workers.length, workers });
  });

  app.get('/api/terminals', (c) => c.json({ terminals: deps.health().terminals }));
  app.get('/api/upstreams', (c) => c.json({ upstreams: deps.health().upstreams }));
  app.post('/api/upstreams/:name/retry', (c) =>
    deps.retryNow(c.req.param('name') as UpstreamName)
      ? c.json({ ok: true })
      : c.json({ error: 'unknown upstream' }, 404),
  );
}

import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { type PageRoutes, pageContext } from './context';
import { buildMuster, readMusterFilter } from './muster-model';
import { MusterPage } from './pages/muster';
import type { WebDeps } from './port';

/**
 * The muster list (在场人员): `/muster` for people (it refreshes itself and prints), `/api/muster`
 * with the same data for programs. Both behind the guard: a session, or the API token.
 */
export function musterRoutes(deps: WebDeps): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/muster', async (c) => {
    const page = pageContext(c, deps.siteName);
    const data = await buildMuster(
      deps,
      readMusterFilter((n) => c.req.query(n)),
    );
    return c.html(<MusterPage page={page} data={data} />);
  });
  // Names, ids, numbers and site-local times: nothing in it depends on the reader's language.
  routes.get('/api/muster', async (c) => {
    const data = await buildMuster(
      deps,
      readMusterFilter((n) => c.req.query(n)),
    );
    return c.json(data, 200, { 'Cache-Control': 'no-store' });
  });
  return routes;
}

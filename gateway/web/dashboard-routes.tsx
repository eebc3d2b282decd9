import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { type PageRoutes, pageContext } from './context';
import { buildDashboard } from './dashboard-model';
import { DashboardPage } from './pages/dashboard';
import type { WebDeps } from './port';

/** `/`: the dashboard's first render (the script refreshes it from /api/dashboard). */
export function dashboardRoutes(deps: WebDeps): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => {
    const page = pageContext(c, deps.siteName);
    return c.html(<DashboardPage page={page} data={buildDashboard(deps, page.lang)} />);
  });
  return routes;
}

import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { type PageRoutes, pageContext } from './context';
import { buildDashboard } from './dashboard-model';
import type { WebDeps } from './deps';
import { DashboardPage } from './pages/dashboard';

/** `/`: the dashboard's first render (the script refreshes it from /api/dashboard). */
export function dashboardRoutes(deps: WebDeps): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) =>
    c.html(<DashboardPage page={pageContext(c, deps.siteName)} data={buildDashboard(deps)} />),
  );
  return routes;
}

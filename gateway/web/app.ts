import { Hono } from 'hono';
import { registerApiRoutes } from '../http/api';
import { type GuardEnv, guard } from '../http/guard';
import { accountRoutes } from './account-routes';
import { dashboardRoutes } from './dashboard-routes';
import type { WebDeps } from './deps';
import { EnrolmentJobs } from './enrolment-jobs';
import { enrolmentApiRoutes, enrolmentRoutes } from './enrolment-routes';
import { assetRoutes, isOpenPath, langRoutes } from './open-routes';
import { PageAuth } from './page-auth';
import { punchCsvRoutes } from './punch-csv';
import { punchRoutes } from './punch-routes';
import { registrationRoutes } from './registration-routes';
import { securityHeaders, uploadLimit } from './security';
import { sessionRoutes } from './session-routes';
import { setupRoutes } from './setup-routes';
import { terminalRoutes } from './terminal-routes';
import { UpstreamErrorLog } from './upstream-errors';
import { upstreamRoutes } from './upstream-routes';
import { workerRoutes } from './worker-routes';

export interface WebApp {
  readonly app: Hono<GuardEnv>;
  /** Loads the password and starts the punch index (which scans the journal in the background). */
  start(): Promise<void>;
  stop(): void;
}

/**
 * The site manager's page and JSON API; mount with `app.route('/', web.app)`. Each part is a
 * sub-app of its own file; the order below is the order hono tries them in, so the middleware
 * comes first, the open routes before the guard, and `/workers/new` before `/workers/:id`.
 */
export function createWebApp(given: WebDeps): WebApp {
  const errors = new UpstreamErrorLog();
  // Upstreams report only their last error; every health read notes it for the upstreams page.
  const deps: WebDeps = { ...given, health: () => errors.observe(given.health()) };
  const auth = new PageAuth(deps);
  const jobs = new EnrolmentJobs(deps);
  const app = new Hono<GuardEnv>();

  app.use('*', securityHeaders());
  app.use('*', uploadLimit());
  app.route('/assets', assetRoutes());
  app.route('/lang', langRoutes());
  app.use('*', guard({ sessions: auth.sessions, apiToken: deps.apiToken, open: isOpenPath }));
  app.route('/', sessionRoutes(deps, auth));
  app.route('/setup', setupRoutes(deps, auth));
  app.route('/account', accountRoutes(deps, auth));
  app.route('/', dashboardRoutes(deps));
  app.route('/workers/new', registrationRoutes(deps));
  app.route('/workers', workerRoutes(deps, jobs));
  app.route('/workers', enrolmentRoutes(deps, jobs));
  app.route('/api/enrolments', enrolmentApiRoutes(jobs));
  app.route('/punches', punchRoutes(deps));
  app.route('/punches.csv', punchCsvRoutes(deps));
  app.route('/terminals', terminalRoutes(deps));
  app.route('/upstreams', upstreamRoutes(deps, errors));
  registerApiRoutes(app, deps);

  return {
    app,
    start: async () => {
      await auth.load();
      void deps.punches.start();
    },
    stop: () => deps.punches.stop(),
  };
}

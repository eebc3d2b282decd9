import { type Context, Hono } from 'hono';
import { registerApiRoutes } from '../http/api';
import { type GuardEnv, guard } from '../http/guard';
import { accountRoutes } from './account-routes';
import { dashboardRoutes } from './dashboard-routes';
import { EnrolmentJobs } from './enrolment-jobs';
import { enrolmentApiRoutes, enrolmentRoutes } from './enrolment-routes';
import { Flash } from './flash';
import { importRoutes } from './import-routes';
import { musterRoutes } from './muster-routes';
import { assetRoutes, isOpenPath, langRoutes } from './open-routes';
import { PageAuth } from './page-auth';
import type { WebDeps } from './port';
import { punchCsvRoutes } from './punch-csv';
import { punchRoutes } from './punch-routes';
import { registrationRoutes } from './registration-routes';
import { reportRoutes } from './report-routes';
import { uploadLimit } from './security';
import { sessionRoutes } from './session-routes';
import { setupRoutes } from './setup-routes';
import { SheetFileWriters } from './sheet-writers';
import { terminalRoutes } from './terminal-routes';
import { UpstreamErrorLog } from './upstream-errors';
import { upstreamRoutes } from './upstream-routes';
import type { WorkerNotice } from './worker-detail';
import { workerRoutes } from './worker-routes';

export interface WebApp {
  readonly app: Hono<GuardEnv>;
  /** Loads the password (the punches come from the query store, a part of its own). */
  start(): Promise<void>;
  /** Ends the sheet writer's thread. */
  stop(): Promise<void>;
  /** Whether a request carries a logged-in session. */
  signedIn(c: Context): boolean;
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
  // What a POST about a worker leaves for their page (post/redirect/get), shared by both route files.
  const workerNotices = new Flash<WorkerNotice>();
  const sheetWriters = new SheetFileWriters({ logger: deps.logger.child({ part: 'sheet-writer' }) });
  const app = new Hono<GuardEnv>();

  // Security headers and the Host check come first, from the gateway's HTTP app it is mounted on.
  app.use('*', uploadLimit());
  app.route('/assets', assetRoutes());
  app.route('/lang', langRoutes());
  app.use('*', guard({ sessions: auth.sessions, apiToken: deps.apiToken, open: isOpenPath }));
  app.route('/', sessionRoutes(deps, auth));
  app.route('/setup', setupRoutes(deps, auth));
  app.route('/account', accountRoutes(deps, auth));
  app.route('/', dashboardRoutes(deps));
  app.route('/workers/new', registrationRoutes(deps));
  app.route('/workers/import', importRoutes(deps));
  app.route('/workers', workerRoutes(deps, jobs, workerNotices));
  app.route('/workers', enrolmentRoutes(deps, jobs, workerNotices));
  app.route('/api/enrolments', enrolmentApiRoutes(jobs));
  app.route('/punches', punchRoutes(deps));
  app.route('/punches.csv', punchCsvRoutes(deps));
  app.route('/terminals', terminalRoutes(deps));
  app.route('/upstreams', upstreamRoutes(deps, errors));
  app.route('/', musterRoutes(deps));
  app.route('/', reportRoutes(deps, sheetWriters));
  registerApiRoutes(app, deps);

  return {
    app,
    start: async () => {
      await auth.load();
    },
    stop: () => sheetWriters.stop(),
    signedIn: (c) => auth.signedIn(c),
  };
}

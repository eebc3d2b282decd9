import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import type { TemplateKind } from '../model';
import { field, type PageRoutes, pageContext } from './context';
import type { EnrolmentJobs } from './enrolment-jobs';
import type { Flash } from './flash';
import { text } from './i18n';
import type { WebDeps } from './port';
import type { WorkerNotice } from './worker-detail';
import { workerPath } from './worker-routes';

/** `/workers/:id/enrol`: starts a fingerprint or face enrolment on the chosen terminal. */
export function enrolmentRoutes(
  deps: WebDeps,
  jobs: EnrolmentJobs,
  notices: Flash<WorkerNotice>,
): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.post('/:id/enrol', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    const body = await c.req.parseBody();
    const kind: TemplateKind = field(body, 'kind') === 'fa' ? 'fa' : 'fp';
    const terminal = deps.terminal(field(body, 'terminalId'));
    if (!terminal) {
      notices.put(c, { kind: 'error', text: text(pageContext(c, deps.siteName).lang, 'unknownTerminal') });
    } else jobs.start(worker.id, terminal.id, kind);
    // Post/redirect/get: the worker's page shows the job and reloads itself when it ends, and a
    // reload of this POST's own answer would start the enrolment all over again.
    return seeOther(c, workerPath(worker.id));
  });
  return routes;
}

/** `/api/enrolments/:id`: how an enrolment is going, polled by the worker's page. */
export function enrolmentApiRoutes(jobs: EnrolmentJobs): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/:id', (c) => {
    const job = jobs.get(c.req.param('id'));
    return job ? c.json(job) : c.json({ error: 'no such enrolment' }, 404);
  });
  return routes;
}

import { queryPunches } from '../query/punch-query';
import type { Worker } from '../roster/roster';
import { pageContext, type WebContext } from './context';
import type { WebDeps } from './deps';
import type { EnrolmentJobs } from './enrolment-jobs';
import { WorkerDetailPage } from './pages/workers';

export interface WorkerDetailExtra {
  readonly notice?: { kind: 'ok' | 'error'; text: string };
}

const RECENT_PUNCHES = 20;

/** The worker's page with their latest enrolment; the answer of every worker route that stays on it. */
export function renderWorkerDetail(
  c: WebContext,
  deps: WebDeps,
  jobs: EnrolmentJobs,
  worker: Worker,
  extra: WorkerDetailExtra = {},
): Response | Promise<Response> {
  const punches = queryPunches(deps.punches.index, { workerIds: [worker.id] }, 1, RECENT_PUNCHES).rows;
  return c.html(
    <WorkerDetailPage
      page={pageContext(c, deps.siteName)}
      worker={worker}
      punches={punches}
      timezone={deps.timezone}
      terminalIds={deps.terminals().map((t) => t.id)}
      holding={deps.terminalsHolding(worker.id)}
      job={jobs.latestFor(worker.id)}
      notice={extra.notice}
    />,
  );
}

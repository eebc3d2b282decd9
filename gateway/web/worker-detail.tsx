import type { Worker } from '../roster/roster';
import { pageContext, type WebContext } from './context';
import { terminalLabel } from './dashboard-model';
import type { EnrolmentJobs } from './enrolment-jobs';
import { WorkerDetailPage } from './pages/workers';
import type { WebDeps } from './port';
import { type TeamField, teamValues } from './team-fields';

/** An outcome shown once on the worker's page after a POST about them. */
export interface WorkerNotice {
  readonly kind: 'ok' | 'error';
  readonly text: string;
  /** The team form's values as typed, when it was refused (the form comes back filled). */
  readonly typed?: Readonly<Partial<Record<TeamField, string>>>;
}

export interface WorkerDetailExtra {
  readonly notice?: WorkerNotice;
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
  const punches = deps.punches.query({ workerIds: [worker.id] }, 1, RECENT_PUNCHES).rows;
  return c.html(
    <WorkerDetailPage
      page={pageContext(c, deps.siteName)}
      worker={worker}
      punches={punches}
      timezone={deps.timezone}
      terminals={deps.terminals().map((t) => ({ id: t.id, name: terminalLabel(deps, t.id) }))}
      holding={deps.terminalsHolding(worker.id).map((id) => ({ id, name: terminalLabel(deps, id) }))}
      terminalName={(id) => terminalLabel(deps, id)}
      job={jobs.latestFor(worker.id)}
      notice={extra.notice}
      teamChoices={{
        team: teamValues(deps.roster.list(), 'team'),
        employer: teamValues(deps.roster.list(), 'employer'),
      }}
    />,
  );
}

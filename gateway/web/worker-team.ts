import type { Worker } from '../roster/roster';
import { pageContext, type WebContext } from './context';
import type { WebDeps } from './port';
import { cleanTeamValue, TEAM_FIELDS, type TeamField } from './team-fields';
import { sayTeamProblem, tw } from './team-words';
import type { WorkerNotice } from './worker-detail';

/**
 * The worker page's team and employer form (`POST /workers/:id/team`). Only the fields that differ
 * go to the roster, as a local change carrying nothing else: the roster takes it as data about the
 * worker, not as the page claiming them (a Deli-only worker stays Deli-only, and a removed one
 * stays removed). A field the form does not send is left as it is; an empty one clears.
 */
export async function saveTeam(c: WebContext, deps: WebDeps, worker: Worker): Promise<WorkerNotice> {
  const { lang } = pageContext(c, deps.siteName);
  const body = await c.req.parseBody();
  const typed: Partial<Record<TeamField, string>> = {};
  const change: Partial<Record<TeamField, string>> = {};
  for (const field of TEAM_FIELDS) {
    const given = body[field];
    if (typeof given !== 'string') continue;
    typed[field] = given;
    const cleaned = cleanTeamValue(field, given);
    if ('problem' in cleaned) return { kind: 'error', text: sayTeamProblem(lang, cleaned.problem), typed };
    if (cleaned.value !== (worker[field] ?? '')) change[field] = cleaned.value;
  }
  if (change.team !== undefined || change.employer !== undefined) {
    await deps.roster.apply([
      { source: 'local', op: 'upsert', identity: { gatewayId: worker.id }, ...change },
    ]);
    deps.logger.info({ workerId: worker.id, ...change }, 'web: team and employer saved');
  }
  return { kind: 'ok', text: tw(lang, 'teamSaved') };
}

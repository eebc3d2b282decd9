import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import type { Worker } from '../roster/roster';
import { type PageRoutes, pageContext, type WebContext } from './context';
import type { EnrolmentJobs } from './enrolment-jobs';
import type { Flash } from './flash';
import { say, text } from './i18n';
import { onSiteNow } from './on-site';
import { WorkersPage } from './pages/workers';
import type { WebDeps } from './port';
import { chineseOrder, teamValues } from './team-fields';
import { identityName } from './words';
import { renderWorkerDetail, type WorkerNotice } from './worker-detail';
import { searchWorkers } from './worker-search';
import { saveTeam } from './worker-team';

const PAGE_SIZE = 100;
const PLATFORM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The worker's own page, where every POST about them answers 303 to. */
export function workerPath(id: string): string {
  return `/workers/${encodeURIComponent(id)}`;
}

/**
 * `/workers`: the list, a worker's page, local remove/restore and linking platform identities by
 * hand. Each POST answers 303 to the worker's page, which shows its outcome once (`notices`).
 */
export function workerRoutes(deps: WebDeps, jobs: EnrolmentJobs, notices: Flash<WorkerNotice>): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => listWorkers(c, deps));
  routes.get('/:id', (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    return worker ? renderWorkerDetail(c, deps, jobs, worker, { notice: notices.take(c) }) : c.notFound();
  });
  routes.post('/:id/remove', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    await deps.roster.apply([
      { source: 'local', op: 'remove', identity: { gatewayId: worker.id }, removalReason: 'local' },
    ]);
    return seeOther(c, workerPath(worker.id));
  });
  routes.post('/:id/restore', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    const notice = await restoreWorker(c, deps, worker.id);
    if (notice) notices.put(c, notice);
    return seeOther(c, workerPath(worker.id));
  });
  routes.post('/:id/team', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    notices.put(c, await saveTeam(c, deps, worker));
    return seeOther(c, workerPath(worker.id));
  });
  routes.post('/:id/link', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    const notice = await linkIdentity(c, deps, worker.id);
    if (notice) notices.put(c, notice);
    return seeOther(c, workerPath(worker.id));
  });
  return routes;
}

/** The team and employer filter's choices, from one pass over the roster. */
function teamChoices(deps: WebDeps): { team: string[]; employer: string[] } {
  const workers = deps.roster.list();
  return { team: teamValues(workers, 'team'), employer: teamValues(workers, 'employer') };
}

function byName(a: Worker, b: Worker): number {
  return chineseOrder.compare(a.name, b.name) || a.pin.localeCompare(b.pin);
}

/**
 * The whole roster by name, sorted once per roster revision: 5,000 names through the collator are
 * ≈ 14 ms, which every view of the workers page spent (and every page behind it waited for).
 */
const sortedRosters = new WeakMap<
  WebDeps['roster'],
  { revision: number; list: readonly Worker[]; sorted: Worker[] }
>();
function rosterByName(deps: WebDeps): readonly Worker[] {
  const list = deps.roster.list();
  const kept = sortedRosters.get(deps.roster);
  if (kept && kept.revision === deps.roster.revision && kept.list === list) return kept.sorted;
  const sorted = [...list].sort(byName);
  sortedRosters.set(deps.roster, { revision: deps.roster.revision, list, sorted });
  return sorted;
}

function listWorkers(c: WebContext, deps: WebDeps) {
  const q = (c.req.query('q') ?? '').trim();
  const status = c.req.query('status') ?? 'active';
  const pageNo = Math.max(1, Number(c.req.query('page')) || 1);
  const team = c.req.query('team') || undefined;
  const employer = c.req.query('employer') || undefined;
  const found = q ? searchWorkers(deps, q).sort(byName) : rosterByName(deps);
  const all = found
    .filter((w) => status === 'all' || w.status === status)
    .filter((w) => (!team || w.team === team) && (!employer || w.employer === employer));
  return c.html(
    <WorkersPage
      page={pageContext(c, deps.siteName)}
      workers={all.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE)}
      total={all.length}
      q={q}
      status={status}
      pageNo={pageNo}
      pages={Math.ceil(all.length / PAGE_SIZE)}
      onSite={new Set(onSiteNow(deps))}
      teamChoices={teamChoices(deps)}
      teamFilter={{ team, employer }}
    />,
  );
}

/** A platform's removal (禁入, 红黄码) outranks a local restore: then the page says the worker stays removed. */
async function restoreWorker(c: WebContext, deps: WebDeps, id: string): Promise<WorkerNotice | undefined> {
  await deps.roster.apply([{ source: 'local', op: 'upsert', identity: { gatewayId: id } }]);
  if (deps.roster.get(id)?.status !== 'active') {
    return { kind: 'error', text: text(pageContext(c, deps.siteName).lang, 'stillRemoved') };
  }
  return undefined;
}

/** Links a Sichuan or Deli id typed by hand; the roster merges the record that already held it. */
async function linkIdentity(c: WebContext, deps: WebDeps, id: string): Promise<WorkerNotice | undefined> {
  const body = await c.req.parseBody();
  const p = pageContext(c, deps.siteName);
  const identity: { sichuanUserId?: string; deliUserId?: string } = {};
  for (const name of ['sichuanUserId', 'deliUserId'] as const) {
    const value = typeof body[name] === 'string' ? (body[name] as string).trim() : '';
    if (value === '') continue;
    if (!PLATFORM_ID.test(value)) {
      return { kind: 'error', text: say(p.lang, 'platformIdRule', { field: identityName(p.lang, name) }) };
    }
    identity[name] = value;
  }
  if (!identity.sichuanUserId && !identity.deliUserId) return undefined;
  try {
    const { merged } = await deps.roster.link(id, identity);
    const note = merged
      ? `${text(p.lang, 'linked')} ${text(p.lang, 'mergedWith')} ${merged}`
      : text(p.lang, 'linked');
    return { kind: 'ok', text: note };
  } catch (error) {
    return { kind: 'error', text: (error as Error).message };
  }
}

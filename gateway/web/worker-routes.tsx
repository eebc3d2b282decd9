import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { type PageRoutes, pageContext, type WebContext } from './context';
import type { WebDeps } from './deps';
import type { EnrolmentJobs } from './enrolment-jobs';
import { text } from './i18n';
import { WorkersPage } from './pages/workers';
import { renderWorkerDetail } from './worker-detail';
import { workerMatches } from './worker-search';

const PAGE_SIZE = 100;
const PLATFORM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** `/workers`: the list, a worker's page, local remove/restore and linking platform identities by hand. */
export function workerRoutes(deps: WebDeps, jobs: EnrolmentJobs): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => listWorkers(c, deps));
  routes.get('/:id', (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    return worker ? renderWorkerDetail(c, deps, jobs, worker) : c.notFound();
  });
  routes.post('/:id/remove', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    await deps.roster.apply([
      { source: 'local', op: 'remove', identity: { gatewayId: worker.id }, removalReason: 'local' },
    ]);
    return c.redirect(`/workers/${encodeURIComponent(worker.id)}`, 303);
  });
  routes.post('/:id/restore', (c) => restoreWorker(c, deps, jobs, c.req.param('id')));
  routes.post('/:id/link', (c) => linkIdentity(c, deps, jobs, c.req.param('id')));
  return routes;
}

function listWorkers(c: WebContext, deps: WebDeps) {
  const q = (c.req.query('q') ?? '').trim();
  const status = c.req.query('status') ?? 'active';
  const pageNo = Math.max(1, Number(c.req.query('page')) || 1);
  const all = deps.roster
    .list()
    .filter((w) => (status === 'all' ? true : w.status === status) && workerMatches(w, q))
    .sort((a, b) => a.name.localeCompare(b.name, 'zh-CN') || a.pin.localeCompare(b.pin));
  return c.html(
    <WorkersPage
      page={pageContext(c, deps.siteName)}
      workers={all.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE)}
      total={all.length}
      q={q}
      status={status}
      pageNo={pageNo}
      pages={Math.ceil(all.length / PAGE_SIZE)}
      onSite={new Set(deps.punches.index.onSite())}
    />,
  );
}

/** A platform's removal (禁入, 红黄码) outranks a local restore: then the page says the worker stays removed. */
async function restoreWorker(c: WebContext, deps: WebDeps, jobs: EnrolmentJobs, id: string) {
  const worker = deps.roster.get(id);
  if (!worker) return c.notFound();
  await deps.roster.apply([{ source: 'local', op: 'upsert', identity: { gatewayId: worker.id } }]);
  const after = deps.roster.get(worker.id)!;
  if (after.status !== 'active') {
    const notice = { kind: 'error' as const, text: text(pageContext(c, deps.siteName).lang, 'stillRemoved') };
    return renderWorkerDetail(c, deps, jobs, after, { notice });
  }
  return c.redirect(`/workers/${encodeURIComponent(worker.id)}`, 303);
}

/** Links a Sichuan or Deli id typed by hand; the roster merges the record that already held it. */
async function linkIdentity(c: WebContext, deps: WebDeps, jobs: EnrolmentJobs, id: string) {
  const worker = deps.roster.get(id);
  if (!worker) return c.notFound();
  const body = await c.req.parseBody();
  const p = pageContext(c, deps.siteName);
  const identity: { sichuanUserId?: string; deliUserId?: string } = {};
  for (const name of ['sichuanUserId', 'deliUserId'] as const) {
    const value = typeof body[name] === 'string' ? (body[name] as string).trim() : '';
    if (value === '') continue;
    if (!PLATFORM_ID.test(value)) {
      const notice = { kind: 'error' as const, text: `${name}: 1–64 letters, digits, "-" or "_"` };
      return renderWorkerDetail(c, deps, jobs, worker, { notice });
    }
    identity[name] = value;
  }
  if (!identity.sichuanUserId && !identity.deliUserId) {
    return c.redirect(`/workers/${encodeURIComponent(worker.id)}`, 303);
  }
  try {
    const { merged } = await deps.roster.link(worker.id, identity);
    const note = merged
      ? `${text(p.lang, 'linked')} ${text(p.lang, 'mergedWith')} ${merged}`
      : text(p.lang, 'linked');
    return renderWorkerDetail(c, deps, jobs, deps.roster.get(worker.id)!, {
      notice: { kind: 'ok', text: note },
    });
  } catch (error) {
    return renderWorkerDetail(c, deps, jobs, worker, {
      notice: { kind: 'error', text: (error as Error).message },
    });
  }
}

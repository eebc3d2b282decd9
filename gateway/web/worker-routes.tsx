import { randomUUID } from 'node:crypto';
import type { TemplateKind } from '../model';
import { queryPunches } from '../query/punch-query';
import type { Worker } from '../roster/roster';
import { field, pageContext, type WebApp, type WebContext } from './context';
import type { RegistrationForm, WebDeps } from './deps';
import { text } from './i18n';
import {
  type EnrolmentJob,
  RegisterPage,
  type RegisterValues,
  WorkerDetailPage,
  WorkersPage,
} from './pages/workers';

const PAGE_SIZE = 100;
const ENROL_TIMEOUT_MS = 120_000;
const MAX_PHOTO_BYTES = 2 * 1024 * 1024;
const JOBS_KEPT = 50;

function matches(worker: Worker, q: string): boolean {
  if (!q) return true;
  const needle = q.toLowerCase();
  const ids = worker.identities;
  return (
    worker.name.toLowerCase().includes(needle) ||
    worker.pin === q ||
    worker.id === q ||
    ids.sichuanUserId === q ||
    ids.deliUserId === q ||
    (ids.idCardNo !== undefined && ids.idCardNo.toUpperCase() === q.toUpperCase())
  );
}

/** Workers whose name or identities match a search, for the punch filter too. */
export function searchWorkers(deps: WebDeps, q: string): Worker[] {
  return deps.roster.list().filter((w) => matches(w, q));
}

export function registerWorkerRoutes(app: WebApp, deps: WebDeps): void {
  const jobs = new Map<string, EnrolmentJob>();
  const page = (c: WebContext) => pageContext(c, deps.siteName);

  app.get('/workers', (c) => {
    const q = (c.req.query('q') ?? '').trim();
    const status = c.req.query('status') ?? 'active';
    const pageNo = Math.max(1, Number(c.req.query('page')) || 1);
    const all = deps.roster
      .list()
      .filter((w) => (status === 'all' ? true : w.status === status) && matches(w, q))
      .sort((a, b) => a.name.localeCompare(b.name, 'zh-CN') || a.pin.localeCompare(b.pin));
    const onSite = new Set(deps.punches.index.onSite());
    return c.html(
      <WorkersPage
        page={page(c)}
        workers={all.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE)}
        total={all.length}
        q={q}
        status={status}
        pageNo={pageNo}
        pages={Math.ceil(all.length / PAGE_SIZE)}
        onSite={onSite}
      />,
    );
  });

  const registerAvailable = () => deps.registration() !== undefined;
  app.get('/workers/new', (c) =>
    c.html(<RegisterPage page={page(c)} values={{}} available={registerAvailable()} />),
  );
  app.post('/workers/new', async (c) => {
    const p = page(c);
    const body = await c.req.parseBody();
    const values: Record<string, string> = {};
    for (const name of [
      'name',
      'idCardNo',
      'gender',
      'nation',
      'birthday',
      'address',
      'idIssuer',
      'idPeriod',
      'userType',
    ]) {
      values[name] = field(body, name);
    }
    const render = (status: 200 | 400 | 502, extra: { error?: string; userId?: string; workerId?: string }) =>
      c.html(
        <RegisterPage
          page={p}
          values={extra.userId ? {} : values}
          available={registerAvailable()}
          {...extra}
        />,
        status,
      );
    const registration = deps.registration();
    if (!registration) return render(400, { error: text(p.lang, 'noSichuan') });
    const problem = checkRegistration(values);
    if (problem) return render(400, { error: problem });
    const idPhoto = await photoOf(body['idPhoto']);
    const photo = await photoOf(body['photo']);
    if (!idPhoto || !photo)
      return render(400, { error: 'ID photo and live photo are required (JPEG/PNG ≤ 2 MB)' });
    const form: RegistrationForm = {
      idCardNo: values.idCardNo!.toUpperCase(),
      name: values.name!,
      gender: values.gender === 'female' ? 'female' : 'male',
      nation: values.nation!,
      birthday: values.birthday!,
      address: values.address!,
      idIssuer: values.idIssuer!,
      idPeriod: values.idPeriod!,
      idPhoto,
      photo,
      userType: values.userType === '2' ? 2 : 1,
    };
    let userId: string;
    try {
      ({ userId } = await registration.register(form));
    } catch (error) {
      deps.logger.warn({ error: (error as Error).message }, 'web: RegistData failed');
      return render(502, { error: (error as Error).message });
    }
    await deps.roster.apply([
      {
        source: 'local',
        op: 'upsert',
        identity: { sichuanUserId: userId, idCardNo: form.idCardNo },
        name: form.name,
        gender: form.gender,
        workerType: String(form.userType),
        facePhoto: photo,
      },
    ]);
    const worker = deps.roster.list().find((w) => w.identities.sichuanUserId === userId);
    deps.logger.info({ userId, workerId: worker?.id }, 'web: worker registered on Sichuan');
    return render(200, { userId, workerId: worker?.id });
  });

  const detail = (
    c: WebContext,
    worker: Worker,
    extra: { job?: EnrolmentJob; notice?: { kind: 'ok' | 'error'; text: string } } = {},
  ) => {
    const punches = queryPunches(deps.punches.index, { workerIds: [worker.id] }, 1, 20).rows;
    const job = extra.job ?? [...jobs.values()].reverse().find((j) => j.workerId === worker.id);
    return c.html(
      <WorkerDetailPage
        page={page(c)}
        worker={worker}
        punches={punches}
        timezone={deps.timezone}
        terminalIds={deps.terminals().map((t) => t.id)}
        holding={deps.terminalsHolding?.(worker.id)}
        job={job}
        notice={extra.notice}
      />,
    );
  };

  app.get('/workers/:id', (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    return worker ? detail(c, worker) : c.notFound();
  });

  app.post('/workers/:id/remove', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    await deps.roster.apply([
      { source: 'local', op: 'remove', identity: { gatewayId: worker.id }, removalReason: 'local' },
    ]);
    return c.redirect(`/workers/${encodeURIComponent(worker.id)}`, 303);
  });

  app.post('/workers/:id/restore', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    await deps.roster.apply([{ source: 'local', op: 'upsert', identity: { gatewayId: worker.id } }]);
    const after = deps.roster.get(worker.id)!;
    const p = page(c);
    if (after.status !== 'active')
      return detail(c, after, { notice: { kind: 'error', text: text(p.lang, 'stillRemoved') } });
    return c.redirect(`/workers/${encodeURIComponent(worker.id)}`, 303);
  });

  app.post('/workers/:id/link', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    const body = await c.req.parseBody();
    const p = page(c);
    const identity: { sichuanUserId?: string; deliUserId?: string } = {};
    for (const field of ['sichuanUserId', 'deliUserId'] as const) {
      const value = typeof body[field] === 'string' ? (body[field] as string).trim() : '';
      if (value === '') continue;
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
        return detail(c, worker, {
          notice: { kind: 'error', text: `${field}: 1–64 letters, digits, "-" or "_"` },
        });
      }
      identity[field] = value;
    }
    if (!identity.sichuanUserId && !identity.deliUserId)
      return c.redirect(`/workers/${encodeURIComponent(worker.id)}`, 303);
    try {
      const { merged } = await deps.roster.link(worker.id, identity);
      const note = merged
        ? `${text(p.lang, 'linked')} ${text(p.lang, 'mergedWith')} ${merged}`
        : text(p.lang, 'linked');
      return detail(c, deps.roster.get(worker.id)!, { notice: { kind: 'ok', text: note } });
    } catch (error) {
      return detail(c, worker, { notice: { kind: 'error', text: (error as Error).message } });
    }
  });

  app.post('/workers/:id/enrol', async (c) => {
    const worker = deps.roster.get(c.req.param('id'));
    if (!worker) return c.notFound();
    const body = await c.req.parseBody();
    const kind: TemplateKind = field(body, 'kind') === 'fa' ? 'fa' : 'fp';
    const terminal = deps.terminal(field(body, 'terminalId'));
    if (!terminal) return detail(c, worker, { notice: { kind: 'error', text: 'unknown terminal' } });
    const job: EnrolmentJob = {
      id: randomUUID(),
      workerId: worker.id,
      terminalId: terminal.id,
      kind,
      state: 'waiting',
    };
    jobs.set(job.id, job);
    while (jobs.size > JOBS_KEPT) jobs.delete(jobs.keys().next().value!);
    void runEnrolment(deps, job, worker).then(
      () => {
        job.state = 'done';
      },
      (error: unknown) => {
        job.state = 'failed';
        job.message = (error as Error).message;
        deps.logger.warn(
          { workerId: worker.id, terminalId: job.terminalId, error: job.message },
          'web: enrolment failed',
        );
      },
    );
    return detail(c, worker, { job });
  });

  app.get('/api/enrolments/:id', (c) => {
    const job = jobs.get(c.req.param('id'));
    return job ? c.json(job) : c.json({ error: 'no such enrolment' }, 404);
  });
}

async function runEnrolment(deps: WebDeps, job: EnrolmentJob, worker: Worker): Promise<void> {
  const signal = AbortSignal.timeout(ENROL_TIMEOUT_MS);
  if (deps.enrol) return deps.enrol(worker.id, job.kind, job.terminalId, signal);
  const terminal = deps.terminal(job.terminalId);
  if (!terminal) throw new Error(`terminal ${job.terminalId} is gone`);
  if (!terminal.driver.capabilities().enrolment.includes(job.kind)) {
    throw new Error(
      `terminal ${job.terminalId} cannot enrol ${job.kind === 'fp' ? 'fingerprints' : 'faces'}`,
    );
  }
  const result = await terminal.driver.startEnrolment(worker.pin, job.kind, signal);
  await deps.roster.apply([
    {
      source: 'local',
      op: 'upsert',
      identity: { gatewayId: worker.id },
      biometrics: result.templates.map((t) => ({
        kind: t.kind,
        index: t.index,
        format: t.format,
        data: t.data,
      })),
    },
  ]);
}

const ID_NUMBER = /^\d{17}[\dXx]$/;
const ID_PERIOD = /^\d{8}-(\d{8}|长期)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The form's own checks, before anything is sent to the platform. */
function checkRegistration(values: RegisterValues): string | undefined {
  for (const name of ['name', 'idCardNo', 'nation', 'birthday', 'address', 'idIssuer', 'idPeriod']) {
    if (!values[name]) return `${name}: required`;
  }
  if (!ID_NUMBER.test(values.idCardNo!)) return 'idCardNo: 18 characters, digits (last may be X)';
  if (!DATE.test(values.birthday!)) return 'birthday: yyyy-MM-dd';
  if (!ID_PERIOD.test(values.idPeriod!)) return 'idPeriod: yyyyMMdd-yyyyMMdd or yyyyMMdd-长期';
  return undefined;
}

async function photoOf(value: unknown): Promise<Uint8Array | undefined> {
  if (!(value instanceof File) || value.size === 0 || value.size > MAX_PHOTO_BYTES) return undefined;
  return new Uint8Array(await value.arrayBuffer());
}

import type { IndexedPunch } from '../../query/punch-index';
import type { Worker } from '../../roster/roster';
import { Csrf, formatTime, Layout, Notice, type PageContext, t } from '../layout';

export interface EnrolmentJob {
  readonly id: string;
  readonly workerId: string;
  readonly terminalId: string;
  readonly kind: 'fp' | 'fa';
  state: 'waiting' | 'done' | 'failed';
  message?: string;
}

export function WorkersPage(props: {
  page: PageContext;
  workers: readonly Worker[];
  total: number;
  q: string;
  status: string;
  pageNo: number;
  pages: number;
  onSite: ReadonlySet<string>;
}) {
  const { page } = props;
  const link = (n: number) => `/workers?q=${encodeURIComponent(props.q)}&status=${props.status}&page=${n}`;
  return (
    <Layout page={page} title={t(page, 'workers')}>
      <p>
        <a class="button" href="/workers/new">
          {t(page, 'registerWorker')}
        </a>
      </p>
      <form method="get" action="/workers" class="filters">
        <input type="search" name="q" value={props.q} placeholder={t(page, 'searchHint')} />
        <select name="status">
          {(['active', 'removed', 'all'] as const).map((s) => (
            <option value={s} selected={props.status === s}>
              {t(page, s)}
            </option>
          ))}
        </select>
        <button type="submit">{t(page, 'search')}</button>
      </form>
      <p class="muted">
        {t(page, 'total')} {String(props.total)} {t(page, 'workerCount')}
      </p>
      <WorkerTable page={page} workers={props.workers} onSite={props.onSite} />
      <Pager page={page} pageNo={props.pageNo} pages={props.pages} link={link} />
    </Layout>
  );
}

function WorkerTable(props: { page: PageContext; workers: readonly Worker[]; onSite: ReadonlySet<string> }) {
  const { page } = props;
  return (
    <div class="scroll">
      <table id="worker-table">
        <thead>
          <tr>
            <th>{t(page, 'name')}</th>
            <th>{t(page, 'pin')}</th>
            <th>{t(page, 'status')}</th>
            <th>{t(page, 'sources')}</th>
            <th>{t(page, 'onSite')}</th>
          </tr>
        </thead>
        <tbody>
          {props.workers.map((w) => (
            <tr>
              <td>
                <a href={`/workers/${encodeURIComponent(w.id)}`} class="worker-name">
                  {w.name || w.id}
                </a>
              </td>
              <td>{w.pin}</td>
              <td>{w.status === 'active' ? t(page, 'active') : t(page, 'removed')}</td>
              <td>{w.sources.join(', ')}</td>
              <td>{props.onSite.has(w.id) ? '●' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Pager(props: {
  page: PageContext;
  pageNo: number;
  pages: number;
  link: (n: number) => string;
}) {
  const { page, pageNo, pages } = props;
  return (
    <nav class="pager">
      {pageNo > 1 && <a href={props.link(pageNo - 1)}>{t(page, 'previous')}</a>}
      <span>
        {String(pageNo)} / {String(Math.max(1, pages))}
      </span>
      {pageNo < pages && (
        <a href={props.link(pageNo + 1)} id="next-page">
          {t(page, 'next')}
        </a>
      )}
    </nav>
  );
}

export function WorkerDetailPage(props: {
  page: PageContext;
  worker: Worker;
  punches: readonly IndexedPunch[];
  timezone: string;
  terminalIds: readonly string[];
  holding: readonly string[];
  job?: EnrolmentJob;
  notice?: { kind: 'ok' | 'error'; text: string };
}) {
  const { page, worker } = props;
  return (
    <Layout page={page} title={worker.name || worker.id}>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      {props.job && <EnrolmentProgress page={page} job={props.job} />}
      <WorkerFacts page={page} worker={worker} holding={props.holding} />
      <WorkerForms page={page} worker={worker} terminalIds={props.terminalIds} />
      <h2>{t(page, 'recentPunches')}</h2>
      <div class="scroll">
        <table>
          <tbody>
            {props.punches.map((p) => (
              <tr>
                <td>{formatTime(p.atMs, props.timezone)}</td>
                <td>{p.direction === 'in' ? t(page, 'in') : t(page, 'out')}</td>
                <td>{p.terminalId}</td>
                <td>{p.method}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}

/** While it waits, the script polls `data-poll` and reloads the page when the job ends. */
function EnrolmentProgress(props: { page: PageContext; job: EnrolmentJob }) {
  const { page, job } = props;
  return (
    <p
      class={`notice ${job.state === 'failed' ? 'error' : 'ok'}`}
      id="enrolment"
      data-state={job.state}
      data-poll={job.state === 'waiting' ? `/api/enrolments/${job.id}` : undefined}
    >
      {job.state === 'waiting'
        ? `${t(page, 'enrolWaiting')} (${job.terminalId})`
        : job.state === 'done'
          ? t(page, 'enrolDone')
          : `${t(page, 'enrolFailed')} ${job.message ?? ''}`}
    </p>
  );
}

function WorkerFacts(props: { page: PageContext; worker: Worker; holding: readonly string[] }) {
  const { page, worker } = props;
  return (
    <dl class="facts">
      <dt>{t(page, 'name')}</dt>
      <dd id="worker-name">{worker.name}</dd>
      <dt>{t(page, 'pin')}</dt>
      <dd>{worker.pin}</dd>
      <dt>{t(page, 'status')}</dt>
      <dd>
        {worker.status === 'active'
          ? t(page, 'active')
          : `${t(page, 'removed')} (${worker.removal?.reason ?? ''}, ${worker.removal?.source ?? ''})`}
      </dd>
      <dt>{t(page, 'identities')}</dt>
      <dd>
        {Object.entries(worker.identities)
          .filter(([, v]) => v)
          .map(([k, v]) => `${k}: ${k === 'idCardNo' ? maskId(String(v)) : v}`)
          .join(' · ') || '—'}
      </dd>
      <dt>{t(page, 'sources')}</dt>
      <dd>{worker.sources.join(', ')}</dd>
      <dt>{t(page, 'templates')}</dt>
      <dd>
        {worker.templates.map((tp) => `${tp.kind}#${tp.index} (${tp.format})`).join(', ') || '—'}
        {worker.facePhoto ? ' · photo' : ''}
      </dd>
      <dt>{t(page, 'holdingTerminals')}</dt>
      <dd>{props.holding.join(', ') || '—'}</dd>
    </dl>
  );
}

/** Enrolment, linking platform ids by hand, and local remove/restore. */
function WorkerForms(props: { page: PageContext; worker: Worker; terminalIds: readonly string[] }) {
  const { page, worker } = props;
  const base = `/workers/${encodeURIComponent(worker.id)}`;
  return (
    <>
      <EnrolForm page={page} action={`${base}/enrol`} terminalIds={props.terminalIds} />
      <h2>{t(page, 'linkIdentity')}</h2>
      <p class="hint">{t(page, 'linkHint')}</p>
      <form method="post" action={`${base}/link`} class="filters" id="link-form">
        <Csrf page={page} />
        <input
          name="sichuanUserId"
          placeholder="Sichuan userId"
          value={worker.identities.sichuanUserId ?? ''}
        />
        <input name="deliUserId" placeholder="Deli user_id" value={worker.identities.deliUserId ?? ''} />
        <button type="submit">{t(page, 'linkIdentity')}</button>
      </form>
      <form method="post" action={`${base}/${worker.status === 'active' ? 'remove' : 'restore'}`}>
        <Csrf page={page} />
        <button type="submit" class={worker.status === 'active' ? 'danger' : ''}>
          {worker.status === 'active' ? t(page, 'remove') : t(page, 'restore')}
        </button>
      </form>
    </>
  );
}

function EnrolForm(props: { page: PageContext; action: string; terminalIds: readonly string[] }) {
  const { page } = props;
  return (
    <>
      <h2>{t(page, 'enrol')}</h2>
      <form method="post" action={props.action} class="filters">
        <Csrf page={page} />
        <select name="kind">
          <option value="fp">{t(page, 'enrolFp')}</option>
          <option value="fa">{t(page, 'enrolFa')}</option>
        </select>
        <select name="terminalId">
          {props.terminalIds.map((id) => (
            <option value={id}>{id}</option>
          ))}
        </select>
        <button type="submit">{t(page, 'enrol')}</button>
      </form>
    </>
  );
}

/** ID numbers are personal data: the page shows only the first 6 and last 4 characters. */
function maskId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 6)}${'*'.repeat(id.length - 10)}${id.slice(-4)}` : id;
}

export interface RegisterValues {
  readonly [field: string]: string;
}

export function RegisterPage(props: {
  page: PageContext;
  values: RegisterValues;
  available: boolean;
  error?: string;
  userId?: string;
  workerId?: string;
}) {
  const { page, values } = props;
  const input = (
    name: string,
    key: Parameters<typeof t>[1],
    attrs: Record<string, string | boolean> = {},
  ) => (
    <label>
      {t(page, key)}
      <input name={name} value={values[name] ?? ''} required {...attrs} />
    </label>
  );
  return (
    <Layout page={page} title={t(page, 'registerWorker')}>
      {!props.available && <Notice kind="error">{t(page, 'noSichuan')}</Notice>}
      <RegisterResult page={page} error={props.error} userId={props.userId} workerId={props.workerId} />
      <form method="post" action="/workers/new" enctype="multipart/form-data" class="grid" id="register-form">
        <Csrf page={page} />
        {input('name', 'name')}
        {input('idCardNo', 'idCardNo', { pattern: '[0-9]{17}[0-9Xx]' })}
        <label>
          {t(page, 'gender')}
          <select name="gender">
            <option value="male" selected={values.gender !== 'female'}>
              {t(page, 'male')}
            </option>
            <option value="female" selected={values.gender === 'female'}>
              {t(page, 'female')}
            </option>
          </select>
        </label>
        {input('nation', 'nation')}
        {input('birthday', 'birthday', { type: 'date' })}
        {input('address', 'address')}
        {input('idIssuer', 'idIssuer')}
        {input('idPeriod', 'idPeriod', { pattern: '[0-9]{8}-([0-9]{8}|长期)' })}
        <label>
          {t(page, 'userType')}
          <select name="userType">
            <option value="1" selected={values.userType !== '2'}>
              {t(page, 'labour')}
            </option>
            <option value="2" selected={values.userType === '2'}>
              {t(page, 'postStaff')}
            </option>
          </select>
        </label>
        <PhotoInput page={page} name="idPhoto" label={t(page, 'idPhoto')} />
        <PhotoInput page={page} name="photo" label={t(page, 'livePhoto')} />
        <button type="submit" disabled={!props.available}>
          {t(page, 'submit')}
        </button>
      </form>
    </Layout>
  );
}

/** The platform's answer: its error, or the userId it gave and a link to the stored worker. */
function RegisterResult(props: { page: PageContext; error?: string; userId?: string; workerId?: string }) {
  const { page } = props;
  return (
    <>
      {props.error && (
        <p class="notice error" role="alert" id="register-result">
          {t(page, 'registerFailed')} {props.error}
        </p>
      )}
      {props.userId && (
        <p class="notice ok" role="status" id="register-result">
          {t(page, 'registered')} <strong id="registered-user-id">{props.userId}</strong>{' '}
          {props.workerId && <a href={`/workers/${encodeURIComponent(props.workerId)}`}>→</a>}
        </p>
      )}
    </>
  );
}

function PhotoInput(props: { page: PageContext; name: string; label: string }) {
  return (
    <fieldset class="photo" data-photo={props.name}>
      <legend>{props.label}</legend>
      <input type="file" name={props.name} accept="image/jpeg,image/png" capture="environment" required />
      <button
        type="button"
        class="camera"
        data-camera={props.name}
        data-capture-label={t(props.page, 'capture')}
      >
        {t(props.page, 'takePhoto')}
      </button>
    </fieldset>
  );
}

import type { StoredPunch } from '../../query/punch-query';
import type { Worker } from '../../roster/roster';
import { type Said, sayError } from '../alert-words';
import { sayRegistrationProblem } from '../form-words';
import {
  Csrf,
  formatTime,
  Layout,
  Notice,
  type PageContext,
  SaidText,
  type TerminalChoice,
  t,
  tv,
} from '../layout';
import { tw } from '../team-words';
import {
  directionName,
  IDENTITY_KEYS,
  type IdentityKey,
  identityName,
  joinWords,
  methodName,
  removalReasonName,
  sourceName,
  templateKindName,
} from '../words';
import { type TeamChoices, TeamFilters, TeamForm, TeamInputs } from './team';

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
  /** The team and employer filters: what the roster has, and what is chosen. */
  teamChoices: TeamChoices;
  teamFilter: { readonly team?: string; readonly employer?: string };
}) {
  const { page } = props;
  const teamQuery = (['team', 'employer'] as const)
    .map((f) => (props.teamFilter[f] ? `&${f}=${encodeURIComponent(props.teamFilter[f])}` : ''))
    .join('');
  const link = (n: number) =>
    `/workers?q=${encodeURIComponent(props.q)}&status=${props.status}${teamQuery}&page=${n}`;
  return (
    <Layout page={page} title={t(page, 'workers')}>
      <p>
        <a class="button" href="/workers/new">
          {t(page, 'registerWorker')}
        </a>{' '}
        <a class="button" href="/workers/import" id="import-link">
          {tw(page.lang, 'importTeams')}
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
        <TeamFilters page={page} choices={props.teamChoices} selected={props.teamFilter} />
        <button type="submit">{t(page, 'search')}</button>
      </form>
      <p class="muted" id="worker-total">
        {tv(page, 'totalWorkers', { n: props.total })}
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
            <th>{tw(page.lang, 'team')}</th>
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
              <td class="team">{w.team ?? ''}</td>
              <td>{w.status === 'active' ? t(page, 'active') : t(page, 'removed')}</td>
              <td>
                {joinWords(
                  page.lang,
                  w.sources.map((s) => sourceName(page.lang, s)),
                )}
              </td>
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
  punches: readonly StoredPunch[];
  timezone: string;
  /** The running terminals, to enrol on. */
  terminals: readonly TerminalChoice[];
  holding: readonly TerminalChoice[];
  /** A terminal's name (punches may come from a terminal no longer configured). */
  terminalName: (id: string) => string;
  job?: EnrolmentJob;
  notice?: { kind: 'ok' | 'error'; text: string; typed?: { team?: string; employer?: string } };
  teamChoices: TeamChoices;
}) {
  const { page, worker } = props;
  return (
    <Layout page={page} title={worker.name || worker.id}>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      {props.job && (
        <EnrolmentProgress page={page} job={props.job} terminal={props.terminalName(props.job.terminalId)} />
      )}
      <WorkerFacts page={page} worker={worker} holding={props.holding} />
      <TeamForm page={page} worker={worker} choices={props.teamChoices} typed={props.notice?.typed} />
      <WorkerForms page={page} worker={worker} terminals={props.terminals} />
      <h2>{t(page, 'recentPunches')}</h2>
      <div class="scroll">
        <table id="worker-punches">
          <thead>
            <tr>
              <th>{t(page, 'time')}</th>
              <th>{t(page, 'direction')}</th>
              <th>{t(page, 'terminal')}</th>
              <th>{t(page, 'method')}</th>
            </tr>
          </thead>
          <tbody>
            {props.punches.map((p) => (
              <tr>
                <td>{formatTime(p.atMs, props.timezone)}</td>
                <td>{directionName(page.lang, p.direction)}</td>
                <td>{props.terminalName(p.terminalId)}</td>
                <td>{methodName(page.lang, p.method)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}

/** While it waits, the script polls `data-poll` and reloads the page when the job ends. */
function EnrolmentProgress(props: { page: PageContext; job: EnrolmentJob; terminal: string }) {
  const { page, job } = props;
  const failure: Said = sayError(page.lang, job.message ?? '');
  return (
    <p
      class={`notice ${job.state === 'failed' ? 'error' : 'ok'}`}
      id="enrolment"
      data-state={job.state}
      data-poll={job.state === 'waiting' ? `/api/enrolments/${job.id}` : undefined}
    >
      {job.state === 'waiting' ? (
        tv(page, 'enrolWaiting', { terminal: props.terminal })
      ) : job.state === 'done' ? (
        t(page, 'enrolDone')
      ) : (
        <>
          {t(page, 'enrolFailed')} <SaidText said={failure} />
        </>
      )}
    </p>
  );
}

function WorkerFacts(props: { page: PageContext; worker: Worker; holding: readonly TerminalChoice[] }) {
  const { page, worker } = props;
  const { lang } = page;
  const identities = IDENTITY_KEYS.filter((k) => worker.identities[k]);
  return (
    <dl class="facts">
      <dt>{t(page, 'name')}</dt>
      <dd id="worker-name">{worker.name}</dd>
      <dt>{t(page, 'pin')}</dt>
      <dd>{worker.pin}</dd>
      <dt>{tw(lang, 'team')}</dt>
      <dd id="worker-team">{worker.team ?? '—'}</dd>
      <dt>{tw(lang, 'employer')}</dt>
      <dd id="worker-employer">{worker.employer ?? '—'}</dd>
      <dt>{t(page, 'status')}</dt>
      <dd id="worker-status">
        <WorkerStatus page={page} worker={worker} />
      </dd>
      <dt>{t(page, 'identities')}</dt>
      <dd>
        {identities.length === 0
          ? '—'
          : identities.map((k, i) => (
              <>
                {i > 0 && ' · '}
                {`${identityName(lang, k)}${lang === 'en' ? ': ' : '：'}`}
                <span class="id">{identityValue(k, worker.identities[k]!)}</span>
              </>
            ))}
      </dd>
      <dt>{t(page, 'sources')}</dt>
      <dd>
        {joinWords(
          lang,
          worker.sources.map((s) => sourceName(lang, s)),
        )}
      </dd>
      <dt>{t(page, 'templates')}</dt>
      <dd>
        {[
          ...worker.templates.map((tp) => (
            <span>
              {tv(page, 'templateN', { kind: templateKindName(lang, tp.kind), n: tp.index })}{' '}
              <small class="raw" translate="no">
                {tp.format}
              </small>
            </span>
          )),
          ...(worker.facePhoto ? [<span>{t(page, 'facePhoto')}</span>] : []),
        ].flatMap((item, i) => (i > 0 ? [lang === 'en' ? ', ' : '、', item] : [item]))}
        {worker.templates.length === 0 && !worker.facePhoto && '—'}
      </dd>
      <dt>{t(page, 'holdingTerminals')}</dt>
      <dd id="holding-terminals">
        {joinWords(
          lang,
          props.holding.map((h) => h.name),
        ) || '—'}
      </dd>
    </dl>
  );
}

/** Active, or removed: why (the model's removal reason), by whom, and the platform's own words if any. */
function WorkerStatus(props: { page: PageContext; worker: Worker }) {
  const { page, worker } = props;
  const { lang } = page;
  const removal = worker.removal;
  if (worker.status === 'active') return <>{t(page, 'active')}</>;
  if (!removal) return <>{t(page, 'removed')}</>;
  const open = lang === 'en' ? ' (' : '（';
  const close = lang === 'en' ? ')' : '）';
  return (
    <>
      {`${t(page, 'removed')}${lang === 'en' ? ': ' : '：'}${removalReasonName(lang, removal.reason)}${open}${tv(page, 'removalBy', { source: sourceName(lang, removal.source) })}${close}`}
      {removal.detail && (
        <>
          {' '}
          <small class="raw" translate="no">
            {removal.detail}
          </small>
        </>
      )}
    </>
  );
}

function identityValue(key: IdentityKey, value: string): string {
  return key === 'idCardNo' ? maskId(value) : value;
}

/** Enrolment, linking platform ids by hand, and local remove/restore. */
function WorkerForms(props: { page: PageContext; worker: Worker; terminals: readonly TerminalChoice[] }) {
  const { page, worker } = props;
  const base = `/workers/${encodeURIComponent(worker.id)}`;
  return (
    <>
      <EnrolForm page={page} action={`${base}/enrol`} terminals={props.terminals} />
      <h2>{t(page, 'linkIdentity')}</h2>
      <p class="hint">{t(page, 'linkHint')}</p>
      <form method="post" action={`${base}/link`} class="filters" id="link-form">
        <Csrf page={page} />
        {(['sichuanUserId', 'deliUserId'] as const).map((key) => (
          <label>
            {identityName(page.lang, key)}
            <input name={key} value={worker.identities[key] ?? ''} />
          </label>
        ))}
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

function EnrolForm(props: { page: PageContext; action: string; terminals: readonly TerminalChoice[] }) {
  const { page } = props;
  return (
    <>
      <h2>{t(page, 'enrol')}</h2>
      <form method="post" action={props.action} class="filters">
        <Csrf page={page} />
        <label>
          {t(page, 'method')}
          <select name="kind">
            {(['fp', 'fa'] as const).map((kind) => (
              <option value={kind}>{templateKindName(page.lang, kind)}</option>
            ))}
          </select>
        </label>
        <label>
          {t(page, 'enrolOn')}
          <select name="terminalId">
            {props.terminals.map((term) => (
              <option value={term.id}>{term.name}</option>
            ))}
          </select>
        </label>
        <button type="submit">{t(page, 'enrol')}</button>
      </form>
    </>
  );
}

/** ID numbers are personal data: the page shows only the first 6 and last 4 characters. */
export function maskId(id: string): string {
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
  /** The error is the form's own check: nothing went to the platform. */
  errorIsLocal?: boolean;
  userId?: string;
  workerId?: string;
  /** Optional team and employer, offered from what the roster already has. */
  teamChoices: TeamChoices;
}) {
  const { page, values } = props;
  const input = (
    name: string,
    key: Parameters<typeof t>[1],
    attrs: Record<string, string | boolean> = {},
    hint?: string,
  ) => (
    <label>
      {t(page, key)}
      <input name={name} value={values[name] ?? ''} required {...attrs} />
      {hint && <small class="hint">{hint}</small>}
    </label>
  );
  return (
    <Layout page={page} title={t(page, 'registerWorker')}>
      {!props.available && <Notice kind="error">{t(page, 'noSichuan')}</Notice>}
      <RegisterResult
        page={page}
        error={props.error}
        errorIsLocal={props.errorIsLocal}
        userId={props.userId}
        workerId={props.workerId}
      />
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
        {input('idPeriod', 'idPeriod', { pattern: '[0-9]{8}-([0-9]{8}|长期)' }, t(page, 'idPeriodHint'))}
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
        <TeamInputs page={page} values={values} choices={props.teamChoices} />
        <div class="photos">
          <PhotoInput page={page} name="idPhoto" label={t(page, 'idPhoto')} />
          <PhotoInput page={page} name="photo" label={t(page, 'livePhoto')} />
        </div>
        <div class="form-actions">
          <button type="submit" disabled={!props.available}>
            {t(page, 'submit')}
          </button>
        </div>
      </form>
    </Layout>
  );
}

/** The platform's answer: its error, or the userId it gave and a link to the stored worker. */
function RegisterResult(props: {
  page: PageContext;
  error?: string;
  errorIsLocal?: boolean;
  userId?: string;
  workerId?: string;
}) {
  const { page } = props;
  return (
    <>
      {props.error && (
        <p
          class="notice error"
          role="alert"
          id="register-result"
          data-local={String(props.errorIsLocal === true)}
        >
          {t(page, props.errorIsLocal ? 'registerNotSent' : 'registerFailed')}{' '}
          <SaidText
            said={
              props.errorIsLocal
                ? sayRegistrationProblem(page.lang, props.error)
                : sayError(page.lang, props.error)
            }
          />
        </p>
      )}
      {props.userId && (
        <p class="notice ok" role="status" id="register-result">
          {t(page, 'registered')} <strong id="registered-user-id">{props.userId}</strong>{' '}
          {props.workerId && (
            <a href={`/workers/${encodeURIComponent(props.workerId)}`}>{t(page, 'openWorker')}</a>
          )}
        </p>
      )}
    </>
  );
}

/**
 * The file field is the browser's own (its button speaks the browser's language), so it is hidden
 * behind a button of ours; the script writes the chosen file's name beside it.
 */
function PhotoInput(props: { page: PageContext; name: string; label: string }) {
  const { page } = props;
  return (
    <fieldset class="photo" data-photo={props.name}>
      <legend>{props.label}</legend>
      <div class="pick">
        <label class="button file-pick">
          <input
            type="file"
            name={props.name}
            accept="image/jpeg,image/png"
            capture="environment"
            required
            class="file-input"
          />
          {t(page, 'choosePhoto')}
        </label>
        <button type="button" class="camera" data-camera={props.name} data-capture-label={t(page, 'capture')}>
          {t(page, 'takePhoto')}
        </button>
      </div>
      <span class="file-name muted" data-file-name={props.name}>
        {t(page, 'noPhotoChosen')}
      </span>
      <small class="hint">{t(page, 'photoHint')}</small>
    </fieldset>
  );
}

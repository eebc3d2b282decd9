import type { TerminalStatus } from '../../terminals/supervisor';
import { sayError } from '../alert-words';
import { sayRosterSync } from '../dashboard-model';
import { sayConfigProblem } from '../form-words';
import { Csrf, formatTime, Layout, Notice, type PageContext, SaidText, t, tl, tv } from '../layout';
import type { RosterSyncState } from '../port';
import {
  DRIVER_CHOICES,
  driverName,
  TERMINAL_DIRECTION_CHOICES,
  TRANSPORT_CHOICES,
  terminalDirectionName,
  transportName,
} from '../words';

export interface TerminalRow {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly address: string;
  readonly enabled: boolean;
  readonly status?: TerminalStatus;
  readonly rosterSync?: RosterSyncState;
}

export interface PageNotice {
  readonly kind: 'ok' | 'error';
  readonly text: string;
  /** A peer's own words behind it (an error message), shown as data. */
  readonly raw?: string;
  readonly problems?: readonly string[];
}

export function TerminalsPage(props: {
  page: PageContext;
  rows: readonly TerminalRow[];
  editable: boolean;
  timezone: string;
  notice?: PageNotice;
}) {
  const { page } = props;
  return (
    <Layout page={page} title={t(page, 'terminals')}>
      <NoticeBlock page={page} notice={props.notice} />
      {props.editable ? (
        <p>
          <a class="button" href="/terminals/new" id="add-terminal">
            {t(page, 'addTerminal')}
          </a>
        </p>
      ) : (
        <Notice kind="error">{t(page, 'noConfigFile')}</Notice>
      )}
      {props.rows.map((row) => (
        <TerminalCard page={page} row={row} editable={props.editable} timezone={props.timezone} />
      ))}
    </Layout>
  );
}

/** One terminal; the actions that talk to it only while it runs (status known). */
function TerminalCard(props: { page: PageContext; row: TerminalRow; editable: boolean; timezone: string }) {
  const { page, row } = props;
  const base = `/terminals/${encodeURIComponent(row.id)}`;
  const s = row.status;
  const sep = ' · ';
  return (
    <section class="card-row" data-terminal={row.id}>
      <h2>
        {row.name || row.id}{' '}
        {row.name && (
          <small class="muted id" translate="no">
            {row.id}
          </small>
        )}
      </h2>
      <p>
        {driverName(page.lang, row.driver)}
        {row.address && (
          <>
            {sep}
            <span class="id">{row.address}</span>
          </>
        )}
        {sep}
        <span class={row.enabled && s?.online ? 'good' : 'bad'}>
          {!row.enabled ? t(page, 'disabled') : s?.online ? t(page, 'online') : t(page, 'offline')}
        </span>
      </p>
      {s && (
        <p class="muted">
          {tl(page, 'lastPunch')}
          {formatTime(s.lastPunchAt, props.timezone)}
          {sep}
          {tl(page, 'clockOffset')}
          {s.clockOffsetSeconds === undefined ? '—' : tv(page, 'secondsN', { n: s.clockOffsetSeconds })}
          {sep}
          {tl(page, 'rosterSync')}
          <SaidText said={sayRosterSync(page.lang, row.rosterSync)} />
          {s.userCount !== undefined && (
            <>
              {sep}
              {tl(page, 'userCount')}
              {String(s.userCount)}
            </>
          )}
          {s.lastError && (
            <>
              {sep}
              {tl(page, 'lastError')}
              <SaidText said={sayError(page.lang, s.lastError)} />
            </>
          )}
        </p>
      )}
      <div class="actions">
        {props.editable && (
          <a class="button" href={`${base}/edit`}>
            {t(page, 'editTerminal')}
          </a>
        )}
        {s && (
          <>
            <ActionButton page={page} action={`${base}/test`} label={t(page, 'testConnection')} />
            <ActionButton page={page} action={`${base}/clock`} label={t(page, 'syncClock')} />
            <ActionButton page={page} action={`${base}/read`} label={t(page, 'readNow')} />
            <ActionButton page={page} action={`${base}/reconcile`} label={t(page, 'reconcileNow')} />
          </>
        )}
        {props.editable && (
          <form
            method="post"
            action={`${base}/remove`}
            class="inline"
            data-confirm={t(page, 'confirmRemove')}
          >
            <Csrf page={page} />
            <button type="submit" class="danger">
              {t(page, 'removeTerminal')}
            </button>
          </form>
        )}
      </div>
    </section>
  );
}

function ActionButton(props: { page: PageContext; action: string; label: string }) {
  return (
    <form method="post" action={props.action} class="inline">
      <Csrf page={props.page} />
      <button type="submit">{props.label}</button>
    </form>
  );
}

export function NoticeBlock(props: { page: PageContext; notice?: PageNotice }) {
  const n = props.notice;
  if (!n) return null;
  return (
    <div class={`notice ${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'} id="notice">
      <p>
        <SaidText said={n} />
      </p>
      {n.problems && (
        <ul class="problems">
          {n.problems.map((p) => (
            <li>
              <SaidText said={sayConfigProblem(props.page.lang, p)} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export type TerminalFormValues = Readonly<Record<string, string>>;

export function TerminalFormPage(props: {
  page: PageContext;
  originalId: string;
  values: TerminalFormValues;
  notice?: PageNotice;
}) {
  const { page, values } = props;
  const input = (name: string, label: string, attrs: Record<string, string | boolean> = {}) => (
    <label>
      {label}
      <input name={name} value={values[name] ?? ''} {...attrs} />
    </label>
  );
  const select = (name: string, label: string, options: readonly string[], word: (o: string) => string) => (
    <label>
      {label}
      <select name={name}>
        {options.map((o) => (
          <option value={o} selected={(values[name] ?? '') === o}>
            {word(o)}
          </option>
        ))}
      </select>
    </label>
  );
  const { lang } = page;
  return (
    <Layout page={page} title={props.originalId ? t(page, 'editTerminal') : t(page, 'addTerminal')}>
      <NoticeBlock page={page} notice={props.notice} />
      <form method="post" action="/terminals/save" class="grid" id="terminal-form">
        <Csrf page={page} />
        <input type="hidden" name="originalId" value={props.originalId} />
        {input('id', t(page, 'terminalId'), { required: true })}
        {input('name', t(page, 'name'))}
        {select('driver', t(page, 'driver'), DRIVER_CHOICES, (o) => driverName(lang, o))}
        {select('direction', t(page, 'direction'), TERMINAL_DIRECTION_CHOICES, (o) =>
          terminalDirectionName(lang, o),
        )}
        {select('transport', t(page, 'transport'), TRANSPORT_CHOICES, (o) => transportName(lang, o))}
        {input('host', t(page, 'host'))}
        {input('port', t(page, 'port'), { inputmode: 'numeric' })}
        {input('path', t(page, 'serialPath'))}
        {input('unitId', t(page, 'unitId'), { inputmode: 'numeric' })}
        {input('sn', t(page, 'sn'))}
        {input('pollSeconds', t(page, 'pollSeconds'), { inputmode: 'decimal' })}
        <label class="check">
          <input type="checkbox" name="enabled" value="true" checked={values.enabled !== 'false'} />
          {t(page, 'enabled')}
        </label>
        <div class="form-actions">
          <button type="submit">{t(page, 'save')}</button>
        </div>
      </form>
    </Layout>
  );
}

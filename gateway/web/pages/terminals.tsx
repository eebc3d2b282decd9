import type { TerminalStatus } from '../../terminals/supervisor';
import { Csrf, formatTime, Layout, Notice, type PageContext, t } from '../layout';

export interface TerminalRow {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly address: string;
  readonly enabled: boolean;
  readonly status?: TerminalStatus;
  readonly rosterSync?: string;
}

export interface PageNotice {
  readonly kind: 'ok' | 'error';
  readonly text: string;
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
      <NoticeBlock notice={props.notice} />
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
  return (
    <section class="card-row" data-terminal={row.id}>
      <h2>
        {row.id} {row.name && <span class="muted">{row.name}</span>}
      </h2>
      <p>
        {row.driver} · {row.address} ·{' '}
        <span class={s?.online ? 'good' : 'bad'}>
          {!row.enabled ? 'disabled' : s?.online ? t(page, 'online') : t(page, 'offline')}
        </span>
      </p>
      {s && (
        <p class="muted">
          {t(page, 'lastPunch')}: {formatTime(s.lastPunchAt, props.timezone)} · {t(page, 'clockOffset')}:{' '}
          {s.clockOffsetSeconds === undefined ? '—' : `${s.clockOffsetSeconds} s`} · {t(page, 'rosterSync')}:{' '}
          {row.rosterSync ?? '—'}
          {s.userCount !== undefined ? ` · users ${s.userCount}` : ''}
          {s.lastError ? ` · ${t(page, 'lastError')}: ${s.lastError}` : ''}
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
              ×
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

export function NoticeBlock(props: { notice?: PageNotice }) {
  const n = props.notice;
  if (!n) return null;
  return (
    <div class={`notice ${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'} id="notice">
      <p>{n.text}</p>
      {n.problems && (
        <ul class="problems">
          {n.problems.map((p) => (
            <li>{p}</li>
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
  const select = (name: string, label: string, options: readonly string[]) => (
    <label>
      {label}
      <select name={name}>
        {options.map((o) => (
          <option value={o} selected={values[name] === o}>
            {o || '—'}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Layout page={page} title={props.originalId ? t(page, 'editTerminal') : t(page, 'addTerminal')}>
      <NoticeBlock notice={props.notice} />
      <form method="post" action="/terminals/save" class="grid" id="terminal-form">
        <Csrf page={page} />
        <input type="hidden" name="originalId" value={props.originalId} />
        {input('id', 'ID', { required: true })}
        {input('name', t(page, 'name'))}
        {select('driver', t(page, 'driver'), ['zk', 'modbus', 'adms'])}
        {select('direction', t(page, 'direction'), ['in', 'out', 'state'])}
        {select('transport', `${t(page, 'transport')} (zk: auto/tcp/udp · modbus: tcp/rtu)`, [
          '',
          'auto',
          'tcp',
          'udp',
          'rtu',
        ])}
        {input('host', t(page, 'host'))}
        {input('port', t(page, 'port'), { inputmode: 'numeric' })}
        {input('path', 'Serial path (modbus rtu)')}
        {input('unitId', 'Unit id (modbus)', { inputmode: 'numeric' })}
        {input('sn', 'SN (adms)')}
        {input('pollSeconds', 'Poll seconds', { inputmode: 'decimal' })}
        <label class="check">
          <input type="checkbox" name="enabled" value="true" checked={values.enabled !== 'false'} />
          {t(page, 'enabled')}
        </label>
        <button type="submit">{t(page, 'save')}</button>
      </form>
    </Layout>
  );
}

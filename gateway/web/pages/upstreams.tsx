import type { UpstreamReport } from '../../http/health';
import { sayAlert, sayError } from '../alert-words';
import { Csrf, formatTime, Layout, type PageContext, SaidText, t } from '../layout';
import type { UpstreamErrorEntry } from '../upstream-errors';
import { platformName, secretName } from '../words';
import { NoticeBlock, type PageNotice } from './terminals';

export interface SecretState {
  readonly upstream: string;
  readonly key: string;
  readonly isSet: boolean;
}

export function UpstreamsPage(props: {
  page: PageContext;
  upstreams: readonly UpstreamReport[];
  errors: (name: string) => readonly UpstreamErrorEntry[];
  secrets: readonly SecretState[];
  editable: boolean;
  timezone: string;
  notice?: PageNotice;
}) {
  const { page } = props;
  return (
    <Layout page={page} title={t(page, 'upstreams')}>
      <NoticeBlock page={page} notice={props.notice} />
      {props.upstreams.map((u) => (
        <UpstreamCard page={page} upstream={u} errors={props.errors(u.upstream)} timezone={props.timezone} />
      ))}
      <h2>{t(page, 'secrets')}</h2>
      <SecretTable page={page} secrets={props.secrets} editable={props.editable} />
    </Layout>
  );
}

function UpstreamCard(props: {
  page: PageContext;
  upstream: UpstreamReport;
  errors: readonly UpstreamErrorEntry[];
  timezone: string;
}) {
  const { page, upstream: u } = props;
  const lastError = u.lastError ?? u.health.lastError;
  return (
    <section class="card-row" data-upstream={u.upstream}>
      <h2>{platformName(page.lang, u.upstream)}</h2>
      <dl class="facts">
        <dt>{t(page, 'state')}</dt>
        <dd class={u.health.connected ? 'good' : 'bad'}>
          {u.health.connected ? t(page, 'connected') : t(page, 'disconnected')}
          {u.health.configAlert && (
            <>
              {' · '}
              <SaidText
                said={sayAlert(
                  page.lang,
                  { code: 'upstreamConfig', upstream: u.upstream, detail: u.health.configAlert },
                  (id) => id,
                )}
              />
            </>
          )}
        </dd>
        <dt>{t(page, 'backlog')}</dt>
        <dd class="backlog">{String(u.backlog)}</dd>
        <dt>{t(page, 'cursor')}</dt>
        <dd>{String(u.cursor)}</dd>
        <dt>{t(page, 'lastSuccess')}</dt>
        <dd>{formatTime(u.health.lastSuccessAt ?? u.lastDeliveredAt, props.timezone)}</dd>
        <dt>{t(page, 'lastError')}</dt>
        <dd>{lastError ? <SaidText said={sayError(page.lang, lastError)} /> : '—'}</dd>
      </dl>
      <form method="post" action={`/upstreams/${u.upstream}/retry`} class="inline">
        <Csrf page={page} />
        <button type="submit">{t(page, 'retryNow')}</button>
      </form>
      <h3>{t(page, 'recentErrors')}</h3>
      <ul class="errors">
        {props.errors.map((e) => (
          <li>
            {formatTime(e.atMs, props.timezone)} <SaidText said={sayError(page.lang, e.message)} />
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Whether each secret is set, never its value; a new value may replace it when the config file is known. */
function SecretTable(props: { page: PageContext; secrets: readonly SecretState[]; editable: boolean }) {
  const { page } = props;
  return (
    <div class="scroll">
      <table>
        <tbody>
          {props.secrets.map((s) => (
            <tr>
              <td>{secretName(page.lang, s.upstream, s.key)}</td>
              <td>{s.isSet ? t(page, 'secretSet') : t(page, 'secretNotSet')}</td>
              <td>
                {props.editable && (
                  <form method="post" action={`/upstreams/${s.upstream}/secret`} class="inline">
                    <Csrf page={page} />
                    <input type="hidden" name="key" value={s.key} />
                    <input
                      type="password"
                      name="value"
                      autocomplete="off"
                      required
                      aria-label={t(page, 'newValue')}
                      placeholder={t(page, 'newValue')}
                    />
                    <button type="submit">{t(page, 'setSecret')}</button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

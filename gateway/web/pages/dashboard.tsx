import type { Dashboard } from '../dashboard-model';
import { Layout, type PageContext, SaidText, t } from '../layout';

export function DashboardPage(props: { page: PageContext; data: Dashboard }) {
  const { page, data } = props;
  return (
    <Layout page={page} title={t(page, 'dashboard')} scripts={['uPlot.iife.min.js']}>
      <div id="dashboard" data-refresh={`/api/dashboard?lang=${page.lang}`}>
        {!data.indexReady && <p class="notice">{t(page, 'indexing')}</p>}
        <TodayCards page={page} data={data} />
        <p class="muted" id="on-site-names">
          {data.onSiteNames.join(page.lang === 'en' ? ', ' : '、')}
        </p>
        <section>
          <h2>{t(page, 'perHour')}</h2>
          <div
            id="hourly-chart"
            data-entries-label={t(page, 'entries')}
            data-exits-label={t(page, 'exits')}
            data-hour-label={t(page, 'hour')}
            data-hour-format={t(page, 'hourOf')}
            data-entries={JSON.stringify(data.entries)}
            data-exits={JSON.stringify(data.exits)}
          />
        </section>
        <section>
          <h2>{t(page, 'alerts')}</h2>
          <ul id="alerts" class="alerts" data-empty={t(page, 'noAlerts')}>
            {data.alerts.length === 0 ? (
              <li class="muted">{t(page, 'noAlerts')}</li>
            ) : (
              data.alerts.map((a) => (
                <li data-code={a.code}>
                  <SaidText said={a.said} />
                </li>
              ))
            )}
          </ul>
        </section>
        <TerminalTable page={page} terminals={data.terminals} />
        <UpstreamTable page={page} upstreams={data.upstreams} />
      </div>
    </Layout>
  );
}

/** The latest punch as one line: time, name, direction, terminal (the script writes the same). */
export function latestLine(latest: Dashboard['latest']): string {
  return latest ? `${latest.at} ${latest.name} ${latest.directionText} · ${latest.terminalName}` : '—';
}

/** Ids of the values the script refreshes every second. */
function TodayCards(props: { page: PageContext; data: Dashboard }) {
  const { page, data } = props;
  return (
    <section class="cards">
      {/* One tap to who they are (the same rule counts both). */}
      <a class="card big" id="on-site-card" href="/muster">
        <span class="label">{t(page, 'onSite')}</span>
        <span class="value" id="on-site">
          {String(data.onSite)}
        </span>
        <span class="more">{`${t(page, 'muster')} ›`}</span>
      </a>
      <div class="card">
        <span class="label">{t(page, 'todayEntries')}</span>
        <span class="value" id="entries-today">
          {String(data.entriesToday)}
        </span>
      </div>
      <div class="card">
        <span class="label">{t(page, 'todayExits')}</span>
        <span class="value" id="exits-today">
          {String(data.exitsToday)}
        </span>
      </div>
      <div class="card wide">
        <span class="label">{t(page, 'lastPunch')}</span>
        <span class="value small" id="latest-punch">
          {latestLine(data.latest)}
        </span>
      </div>
    </section>
  );
}

/** The script redraws the rows from the same fields. */
function TerminalTable(props: { page: PageContext; terminals: Dashboard['terminals'] }) {
  const { page } = props;
  return (
    <section>
      <h2>{t(page, 'terminals')}</h2>
      <div class="scroll">
        <table id="terminal-table">
          <thead>
            <tr>
              <th>{t(page, 'terminal')}</th>
              <th>{t(page, 'status')}</th>
              <th>{t(page, 'lastPunch')}</th>
              <th>{t(page, 'clockOffset')}</th>
              <th>{t(page, 'rosterSync')}</th>
            </tr>
          </thead>
          <tbody>
            {props.terminals.map((term) => (
              <tr data-terminal={term.id}>
                <td>{term.name}</td>
                <td class={term.online ? 'good' : 'bad'}>{term.status}</td>
                <td>{term.lastPunch}</td>
                <td>{term.clockOffset}</td>
                <td>
                  <SaidText said={term.rosterSync} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function UpstreamTable(props: { page: PageContext; upstreams: Dashboard['upstreams'] }) {
  const { page } = props;
  return (
    <section>
      <h2>{t(page, 'upstreams')}</h2>
      <div class="scroll">
        <table id="upstream-table">
          <thead>
            <tr>
              <th>{t(page, 'upstreams')}</th>
              <th>{t(page, 'status')}</th>
              <th>{t(page, 'backlog')}</th>
              <th>{t(page, 'lastSuccess')}</th>
              <th>{t(page, 'lastError')}</th>
            </tr>
          </thead>
          <tbody>
            {props.upstreams.map((u) => (
              <tr data-upstream={u.name}>
                <td>{u.label}</td>
                <td class={u.connected ? 'good' : 'bad'}>{u.status}</td>
                <td>{String(u.backlog)}</td>
                <td>{u.lastSuccess}</td>
                <td>
                  <SaidText said={u.problem} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

import { Layout, type PageContext, t } from '../layout';
import type { Muster, MusterRow } from '../muster-model';
import { musterSay } from '../muster-words';

/** How often the page refreshes itself (muster.js reads it from the page). */
export const MUSTER_REFRESH_MS = 30_000;

/**
 * `/muster`: who is inside now. The filters and the print button stay outside `#muster`, which
 * muster.js replaces every 30 s with the server's fresh rendering (so a choice being made is not
 * lost); the print style sheet (muster.css) drops everything but the list.
 */
export function MusterPage(props: { page: PageContext; data: Muster }) {
  const { page, data } = props;
  return (
    <Layout page={page} title={t(page, 'muster')} scripts={['muster.js']} styles={['muster.css']}>
      <MusterFilterForm page={page} data={data} />
      <div id="muster" data-refresh-ms={String(MUSTER_REFRESH_MS)}>
        <MusterBody page={page} data={data} />
      </div>
    </Layout>
  );
}

function MusterFilterForm(props: { page: PageContext; data: Muster }) {
  const { page, data } = props;
  const { lang } = page;
  // A chosen team or employer no one inside has any more stays selectable, so the form says what is shown.
  const teams = withChosen(data.teams, data.filter.team);
  const employers = withChosen(data.employers, data.filter.employer);
  return (
    <form method="get" action="/muster" class="filters" id="muster-filter">
      <label>
        {musterSay(lang, 'team')}
        <select name="team">
          <option value="">{musterSay(lang, 'allTeams')}</option>
          {teams.map((team) => (
            <option value={team} selected={data.filter.team === team}>
              {team}
            </option>
          ))}
        </select>
      </label>
      <label>
        {musterSay(lang, 'employer')}
        <select name="employer">
          <option value="">{musterSay(lang, 'allEmployers')}</option>
          {employers.map((employer) => (
            <option value={employer} selected={data.filter.employer === employer}>
              {employer}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">{musterSay(lang, 'filter')}</button>
      {/* Shown by muster.js: printing needs the script (no inline handlers under the CSP). */}
      <button type="button" id="print-muster" class="secondary" hidden>
        {musterSay(lang, 'print')}
      </button>
    </form>
  );
}

function withChosen(values: readonly string[], chosen: string): readonly string[] {
  return chosen && !values.includes(chosen) ? [...values, chosen] : values;
}

function MusterBody(props: { page: PageContext; data: Muster }) {
  const { page, data } = props;
  const { lang } = page;
  const filtered = data.filter.team !== '' || data.filter.employer !== '';
  return (
    <>
      {!data.indexReady && <p class="notice">{t(page, 'indexing')}</p>}
      <section class="muster-head">
        <div class="card big">
          <span class="label">{musterSay(lang, 'insideNow')}</span>
          <span
            class="value"
            id="muster-count"
            data-count={String(data.count)}
            data-total={String(data.total)}
          >
            {String(filtered ? data.count : data.total)}
          </span>
        </div>
        <div class="muster-facts">
          {filtered && (
            <p id="muster-shown">{musterSay(lang, 'shownOf', { n: data.count, total: data.total })}</p>
          )}
          <p class="muted" id="muster-as-of">
            {musterSay(lang, 'asOf', { at: data.asOf })}
          </p>
          <p class="muted">{musterSay(lang, 'rule', { h: data.nightShiftHours })}</p>
        </div>
      </section>
      {data.rows.length === 0 ? (
        <p class="notice" id="muster-empty">
          {musterSay(lang, filtered && data.total > 0 ? 'nobodyShown' : 'nobody')}
        </p>
      ) : (
        <MusterTable page={page} rows={data.rows} />
      )}
    </>
  );
}

/** The rows of one team, in the order given (by team, then entry time). */
function groups(rows: readonly MusterRow[]): MusterRow[][] {
  const out: MusterRow[][] = [];
  for (const row of rows) {
    const last = out.at(-1);
    if (last && last[0]!.team === row.team) last.push(row);
    else out.push([row]);
  }
  return out;
}

/** A table on a wide screen and on paper; on a phone each worker is a card (muster.css). */
function MusterTable(props: { page: PageContext; rows: readonly MusterRow[] }) {
  const { lang } = props.page;
  return (
    <table id="muster-table" class="muster-list">
      <thead>
        <tr>
          <th>{musterSay(lang, 'entered')}</th>
          <th>{musterSay(lang, 'name')}</th>
          <th>{musterSay(lang, 'team')}</th>
          <th>{musterSay(lang, 'employer')}</th>
          <th>{musterSay(lang, 'gate')}</th>
        </tr>
      </thead>
      {groups(props.rows).map((rows) => {
        const team = rows[0]!.team;
        return (
          <tbody data-team={team}>
            <tr class="team-row">
              <td colspan={5}>
                {musterSay(lang, 'teamCount', { team: team || musterSay(lang, 'noTeam'), n: rows.length })}
              </td>
            </tr>
            {rows.map((r) => (
              <tr class="worker-row" data-worker={r.workerId} data-terminal={r.terminalId}>
                <td class="when">
                  <span class="full">{r.at}</span>
                  <span class="short">{r.short}</span>
                </td>
                <td class="who">{r.name}</td>
                <td class="team">{r.team || '—'}</td>
                <td class="employer">{r.employer || '—'}</td>
                <td class="gate">{r.gate}</td>
              </tr>
            ))}
          </tbody>
        );
      })}
    </table>
  );
}

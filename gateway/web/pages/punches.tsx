import type { PunchFlag, VerifyMethod } from '../../model';
import type { PunchPage } from '../../query/punch-query';
import { Layout, Notice, type PageContext, type TerminalChoice, t, tv } from '../layout';
import { type PunchParams, punchCursorQuery, punchParamsQuery } from '../punch-params';
import { punchSay } from '../punch-words';
import { directionName, flagName, methodName, platformName } from '../words';

export interface PunchRowView {
  readonly seq: number;
  /** Site-local `YYYY-MM-DD HH:mm:ss`. */
  readonly at: string;
  /** As short as is unambiguous today (the phone's cards). */
  readonly short: string;
  readonly name: string;
  readonly pin: string;
  readonly terminalId: string;
  readonly terminalName: string;
  readonly direction: 'in' | 'out';
  readonly method: VerifyMethod;
  readonly flags: readonly PunchFlag[];
  readonly delivery: ReadonlyArray<{ upstream: string; delivered: boolean }>;
}

export function PunchesPage(props: {
  page: PageContext;
  params: PunchParams;
  result: PunchPage;
  rows: readonly PunchRowView[];
  terminals: readonly TerminalChoice[];
  upstreams: readonly string[];
  indexReady: boolean;
  /** Why the paging asked for cannot be answered (a 400). */
  problem?: string;
}) {
  const { page, params, result } = props;
  return (
    <Layout page={page} title={t(page, 'punches')}>
      {!props.indexReady && <p class="notice">{t(page, 'indexing')}</p>}
      {props.problem && <Notice kind="error">{props.problem}</Notice>}
      <PunchFilterForm page={page} params={params} terminals={props.terminals} upstreams={props.upstreams} />
      <p
        class="muted"
        id="punch-total"
        data-total={String(result.total)}
        data-capped={result.capped ? 'true' : 'false'}
      >
        {result.capped
          ? punchSay(page.lang, 'totalAtLeast', { n: result.total.toLocaleString('en-US') })
          : tv(page, 'totalPunches', { n: result.total })}
      </p>
      <PunchTable page={page} rows={props.rows} />
      <KeysetPager page={page} params={params} result={result} />
    </Layout>
  );
}

/**
 * Newer and Older, by keyset: each link names the first or last row shown, so any page of a list
 * of millions costs one page-sized query (a page number would walk every row before it).
 */
function KeysetPager(props: { page: PageContext; params: PunchParams; result: PunchPage }) {
  const { page, params, result } = props;
  if (!result.newer && !result.older) return null;
  return (
    <nav class="pager" id="punch-pager">
      {result.newer && (
        <a href={`/punches?${punchCursorQuery(params, { after: result.newer })}`} id="newer-page">
          {punchSay(page.lang, 'newer')}
        </a>
      )}
      {result.older && (
        <a href={`/punches?${punchCursorQuery(params, { before: result.older })}`} id="older-page">
          {punchSay(page.lang, 'older')}
        </a>
      )}
    </nav>
  );
}

/** The filters, and the CSV link that exports what they select (every page of it). */
function PunchFilterForm(props: {
  page: PageContext;
  params: PunchParams;
  terminals: readonly TerminalChoice[];
  upstreams: readonly string[];
}) {
  const { page, params } = props;
  const exportQuery = punchParamsQuery(params, 1);
  return (
    <form method="get" action="/punches" class="filters" id="punch-filter">
      <label>
        {t(page, 'from')}
        <input type="date" name="from" value={params.from} />
      </label>
      <label>
        {t(page, 'to')}
        <input type="date" name="to" value={params.to} />
      </label>
      <label>
        {t(page, 'worker')}
        <input type="search" name="worker" value={params.worker} placeholder={t(page, 'searchHint')} />
      </label>
      <label>
        {t(page, 'terminal')}
        <select name="terminal">
          <option value="">{t(page, 'all')}</option>
          {props.terminals.map((term) => (
            <option value={term.id} selected={params.terminal === term.id}>
              {term.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t(page, 'direction')}
        <select name="direction">
          <option value="">{t(page, 'all')}</option>
          {(['in', 'out'] as const).map((d) => (
            <option value={d} selected={params.direction === d}>
              {directionName(page.lang, d)}
            </option>
          ))}
        </select>
      </label>
      <DeliverySelect page={page} selected={params.delivery} upstreams={props.upstreams} />
      <button type="submit">{t(page, 'filter')}</button>
      <a class="button" id="export-csv" href={`/punches.csv${exportQuery ? `?${exportQuery}` : ''}`} download>
        {t(page, 'exportCsv')}
      </a>
    </form>
  );
}

/** Delivered or still pending, per upstream (`<upstream>:<state>`). */
function DeliverySelect(props: { page: PageContext; selected: string; upstreams: readonly string[] }) {
  const { page } = props;
  return (
    <label>
      {t(page, 'delivery')}
      <select name="delivery">
        <option value="">{t(page, 'all')}</option>
        {props.upstreams.flatMap((u) =>
          (['delivered', 'pending'] as const).map((s) => (
            <option value={`${u}:${s}`} selected={props.selected === `${u}:${s}`}>
              {`${platformName(page.lang, u)}${page.lang === 'en' ? ': ' : '：'}${t(page, s)}`}
            </option>
          )),
        )}
      </select>
    </label>
  );
}

/**
 * A table on a wide screen; on a phone each row is a card (app.css): name, direction and a short
 * time on its first line, terminal, method and delivery under it.
 */
function PunchTable(props: { page: PageContext; rows: readonly PunchRowView[] }) {
  const { page } = props;
  const { lang } = page;
  return (
    <div class="scroll">
      <table id="punch-table" class="punch-list">
        <thead>
          <tr>
            <th>{t(page, 'time')}</th>
            <th>{t(page, 'worker')}</th>
            <th>{t(page, 'direction')}</th>
            <th>{t(page, 'terminal')}</th>
            <th>{t(page, 'method')}</th>
            <th>{t(page, 'delivery')}</th>
            <th>{t(page, 'flags')}</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr data-seq={String(r.seq)} data-terminal={r.terminalId}>
              <td class="when">
                <span class="full">{r.at}</span>
                <span class="short">{r.short}</span>
              </td>
              <td class="who">{r.name}</td>
              <td class={`dir ${r.direction}`}>{directionName(lang, r.direction)}</td>
              <td class="where">{r.terminalName}</td>
              <td class="how">{methodName(lang, r.method)}</td>
              <td class="sent">
                {r.delivery.map((d) => (
                  <span class={d.delivered ? 'delivered' : 'pending'}>
                    {`${platformName(lang, d.upstream)}${lang === 'en' ? ': ' : '：'}${t(page, d.delivered ? 'delivered' : 'pending')}`}
                  </span>
                ))}
              </td>
              <td class="flags">{r.flags.map((f) => flagName(lang, f)).join(lang === 'en' ? ', ' : '、')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

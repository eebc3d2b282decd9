import type { PunchPage } from '../../query/punch-query';
import { Layout, type PageContext, t } from '../layout';
import { type PunchParams, punchParamsQuery } from '../punch-params';
import { Pager } from './workers';

export interface PunchRowView {
  readonly seq: number;
  readonly at: string;
  readonly name: string;
  readonly pin: string;
  readonly terminalId: string;
  readonly direction: 'in' | 'out';
  readonly method: string;
  readonly flags: string;
  readonly delivery: ReadonlyArray<{ upstream: string; delivered: boolean }>;
}

export function PunchesPage(props: {
  page: PageContext;
  params: PunchParams;
  result: PunchPage;
  rows: readonly PunchRowView[];
  terminalIds: readonly string[];
  upstreams: readonly string[];
  indexReady: boolean;
}) {
  const { page, params, result } = props;
  return (
    <Layout page={page} title={t(page, 'punches')}>
      {!props.indexReady && <p class="notice">{t(page, 'indexing')}</p>}
      <PunchFilterForm
        page={page}
        params={params}
        terminalIds={props.terminalIds}
        upstreams={props.upstreams}
      />
      <p class="muted" id="punch-total">
        {t(page, 'total')} {String(result.total)}
      </p>
      <PunchTable page={page} rows={props.rows} />
      <Pager
        page={page}
        pageNo={params.page}
        pages={Math.ceil(result.total / result.pageSize)}
        link={(n) => `/punches?${punchParamsQuery(params, n)}`}
      />
    </Layout>
  );
}

/** The filters, and the CSV link that exports what they select (every page of it). */
function PunchFilterForm(props: {
  page: PageContext;
  params: PunchParams;
  terminalIds: readonly string[];
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
          {props.terminalIds.map((id) => (
            <option value={id} selected={params.terminal === id}>
              {id}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t(page, 'direction')}
        <select name="direction">
          <option value="">{t(page, 'all')}</option>
          <option value="in" selected={params.direction === 'in'}>
            {t(page, 'in')}
          </option>
          <option value="out" selected={params.direction === 'out'}>
            {t(page, 'out')}
          </option>
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
              {`${u}: ${t(page, s)}`}
            </option>
          )),
        )}
      </select>
    </label>
  );
}

function PunchTable(props: { page: PageContext; rows: readonly PunchRowView[] }) {
  const { page } = props;
  return (
    <div class="scroll">
      <table id="punch-table">
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
            <tr data-seq={String(r.seq)}>
              <td>{r.at}</td>
              <td>{r.name}</td>
              <td>{r.direction === 'in' ? t(page, 'in') : t(page, 'out')}</td>
              <td>{r.terminalId}</td>
              <td>{r.method}</td>
              <td>
                {r.delivery
                  .map((d) => `${d.upstream}: ${d.delivered ? t(page, 'delivered') : t(page, 'pending')}`)
                  .join(' · ')}
              </td>
              <td>{r.flags}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

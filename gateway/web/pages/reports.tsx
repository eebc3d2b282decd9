/**
 * The attendance sheet's pages: the monthly sheet, the daily sheet and the print view. They are
 * streamed (report-routes.tsx): the parts here render the page around the rows, and the rows a
 * chunk at a time, so a month of 5,000 workers is never one tree in memory.
 */

import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { AttendanceRow } from '../../reports/attendance';
import type { AttendanceDay } from '../../reports/day-count';
import { assetUrl } from '../assets';
import { DayTexts } from '../day-texts';
import type { Lang } from '../i18n';
import { Layout, type PageContext, t } from '../layout';
import { sheetQueryString } from '../report-params';
import { anomalyList, anomalyName, dateTitle, monthTitle, reportSay } from '../report-words';

/** Where the streamed rows go in a rendered page. */
export const ROWS_MARK = '<!--sheet-rows-->';

export interface SheetFormValues {
  readonly kind: 'monthly' | 'daily';
  /** The period as given (shown back in the form, even when wrong). */
  readonly period: string;
  readonly team: string;
  readonly employer: string;
  readonly teams: readonly string[];
  readonly employers: readonly string[];
  /** The monthly sheet's choice of months, newest first (`sheetMonths`). */
  readonly months: readonly string[];
}

export interface SheetSummary {
  readonly workerCount: number;
  readonly complete: boolean;
  readonly dates: readonly string[];
  readonly nightShiftHours: number;
  /** The page's share of the rows (the print view has them all). */
  readonly paging?: SheetPaging;
}

/** Which rows a sheet's page shows, and where each team begins. */
export interface SheetPaging {
  /** 1-based. */
  readonly page: number;
  readonly pages: number;
  /** The rows shown: [first, last] of `workerCount`, 1-based. */
  readonly first: number;
  readonly last: number;
  /** Each team (in the sheet's order, '' = no team), its index and the page its first row is on. */
  readonly teams: ReadonlyArray<{ readonly team: string; readonly index: number; readonly page: number }>;
}

/** The sheet's own address with its choice and `page` (none for the first). */
function pageHref(form: SheetFormValues, page: number): string {
  const monthly = form.kind === 'monthly';
  return `${monthly ? '/reports/attendance' : '/reports/daily'}${sheetQueryString({
    [monthly ? 'month' : 'date']: form.period,
    team: form.team,
    employer: form.employer,
    page: page > 1 ? String(page) : '',
  })}`;
}

/**
 * Previous, numbered pages (the first, the last and two either side of this one) and next; and a
 * link to each team's first row, so a foreman finds their crew without paging through the site.
 */
function SheetPager(props: { page: PageContext; form: SheetFormValues; summary: SheetSummary }) {
  const { page, form } = props;
  const paging = props.summary.paging;
  if (!paging || props.summary.workerCount === 0) return null;
  const { page: at, pages } = paging;
  const numbers: Array<number | undefined> = [];
  for (let n = 1; n <= pages; n++) {
    if (n === 1 || n === pages || Math.abs(n - at) <= 2) numbers.push(n);
    else if (numbers.at(-1) !== undefined) numbers.push(undefined);
  }
  return (
    <div class="sheet-paging">
      <p class="muted" id="sheet-rows">
        {w(page, 'pageRows', { first: paging.first, last: paging.last, n: props.summary.workerCount })}
      </p>
      {pages > 1 && (
        <nav class="pager sheet-pager" aria-label={w(page, 'pages')}>
          {at > 1 && (
            <a href={pageHref(form, at - 1)} rel="prev" id="sheet-prev">
              {w(page, 'prevPage')}
            </a>
          )}
          {numbers.map((n) =>
            n === undefined ? (
              <span class="gap">…</span>
            ) : n === at ? (
              <span class="current" aria-current="page">
                {String(n)}
              </span>
            ) : (
              <a href={pageHref(form, n)}>{String(n)}</a>
            ),
          )}
          {at < pages && (
            <a href={pageHref(form, at + 1)} rel="next" id="sheet-next">
              {w(page, 'nextPage')}
            </a>
          )}
        </nav>
      )}
      {pages > 1 && paging.teams.length > 1 && (
        <nav class="pager sheet-teams" aria-label={w(page, 'teamPages')}>
          <span class="muted">{w(page, 'teamPages')}</span>
          {paging.teams.map((t) => (
            <a href={`${pageHref(form, t.page)}#team-${t.index}`}>{t.team || w(page, 'noTeam')}</a>
          ))}
        </nav>
      )}
    </div>
  );
}

/** `say` for the report's words in the page's language. */
function w(
  page: PageContext,
  key: Parameters<typeof reportSay>[1],
  values?: Record<string, string | number>,
) {
  return reportSay(page.lang, key, values);
}

function hoursText(hours: number): string {
  return hours.toFixed(1);
}

/** Period, team and employer; the links carry the same choice to the file, the print view and the other sheet. */
function SheetForm(props: { page: PageContext; form: SheetFormValues; valid: boolean }) {
  const { page, form } = props;
  const monthly = form.kind === 'monthly';
  const filter = { team: form.team, employer: form.employer };
  const here = monthly ? '/reports/attendance' : '/reports/daily';
  const periodKey = monthly ? 'month' : 'date';
  const query = sheetQueryString({ [periodKey]: form.period, ...filter });
  const other = monthly
    ? sheetQueryString({ date: props.valid ? `${form.period}-01` : '', ...filter })
    : sheetQueryString({ month: props.valid ? form.period.slice(0, 7) : '', ...filter });
  return (
    <form method="get" action={here} class="filters" id="sheet-form">
      {/* The control inside a conditional is not seen by the linter as the label's: tied by id instead. */}
      <label for="sheet-period">
        {w(page, monthly ? 'month' : 'date')}
        {monthly ? (
          <select name="month" id="sheet-period" required>
            {withChosen(form.months, form.period).map((month) => (
              <option value={month} selected={month === form.period}>
                {/^\d{4}-\d{2}$/.test(month) ? monthTitle(page.lang, month) : month}
              </option>
            ))}
          </select>
        ) : (
          <input
            type="date"
            name={periodKey}
            id="sheet-period"
            value={form.period}
            required
            pattern={'\\d{4}-\\d{2}-\\d{2}'}
          />
        )}
      </label>
      <label>
        {w(page, 'team')}
        <select name="team">
          <option value="">{w(page, 'allTeams')}</option>
          {withChosen(form.teams, form.team).map((team) => (
            <option value={team} selected={team === form.team}>
              {team}
            </option>
          ))}
        </select>
      </label>
      <label>
        {w(page, 'employer')}
        <select name="employer">
          <option value="">{w(page, 'allEmployers')}</option>
          {withChosen(form.employers, form.employer).map((employer) => (
            <option value={employer} selected={employer === form.employer}>
              {employer}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">{w(page, 'show')}</button>
      {props.valid && (
        <>
          <a class="button" id="sheet-xlsx" href={`${here}.xlsx${query}`} download>
            {w(page, 'download')}
          </a>
          {monthly && (
            <a class="button" id="sheet-print" href={`/reports/attendance/print${query}`}>
              {w(page, 'printView')}
            </a>
          )}
          <a
            class="button secondary"
            id="sheet-other"
            href={`${monthly ? '/reports/daily' : '/reports/attendance'}${other}`}
          >
            {w(page, monthly ? 'toDaily' : 'toMonthly')}
          </a>
        </>
      )}
    </form>
  );
}

/** A filter value no roster worker has any more still shows as chosen. */
function withChosen(values: readonly string[], chosen: string): readonly string[] {
  return chosen && !values.includes(chosen) ? [...values, chosen] : values;
}

/** A page with a parameter it cannot use: the form, filled in as sent, and what is wrong with it. */
export function SheetProblemPage(props: { page: PageContext; form: SheetFormValues; problem: string }) {
  const { page, form } = props;
  return (
    <Layout page={page} title={w(page, form.kind)} styles={['reports.css']}>
      <SheetForm page={page} form={form} valid={false} />
      <p class="notice error" role="alert" id="sheet-problem">
        {props.problem}
      </p>
    </Layout>
  );
}

/**
 * What the daily and monthly sheets share around their rows (at `ROWS_MARK`): the form, the rule,
 * the count, the pager and the table with the given head.
 */
function SheetFrame(props: {
  page: PageContext;
  form: SheetFormValues;
  summary: SheetSummary;
  title: string;
  table: { id: string; class: string; period: Record<string, string> };
  head: Child;
  legend?: boolean;
}) {
  const { page, form, summary } = props;
  return (
    <Layout page={page} title={props.title} styles={['reports.css']}>
      {!summary.complete && <p class="notice">{t(page, 'indexing')}</p>}
      <SheetForm page={page} form={form} valid={true} />
      <p class="muted">{w(page, 'rule', { h: summary.nightShiftHours })}</p>
      <p class="muted" id="sheet-count" data-count={String(summary.workerCount)}>
        {w(page, 'workersN', { n: summary.workerCount })}
      </p>
      <SheetPager page={page} form={form} summary={summary} />
      <div class="scroll sheet-box">
        <table id={props.table.id} class={props.table.class} {...props.table.period}>
          <thead>{props.head}</thead>
          {raw(ROWS_MARK)}
        </table>
      </div>
      {summary.workerCount === 0 && <p class="muted">{w(page, 'nobody')}</p>}
      {props.legend && <p class="muted legend">{w(page, 'legend')}</p>}
    </Layout>
  );
}

/** The monthly sheet around its rows (at `ROWS_MARK`). */
export function MonthlyPage(props: { page: PageContext; form: SheetFormValues; summary: SheetSummary }) {
  const { page, form, summary } = props;
  return (
    <SheetFrame
      {...props}
      title={`${w(page, 'monthly')} · ${monthTitle(page.lang, form.period)}`}
      table={{ id: 'attendance-sheet', class: 'sheet monthly', period: { 'data-month': form.period } }}
      legend={true}
      head={
        <tr>
          <th class="who">{w(page, 'name')}</th>
          <th>{w(page, 'employer')}</th>
          {summary.dates.map((_, i) => (
            <th class="d">{String(i + 1)}</th>
          ))}
          <th class="n">{w(page, 'daysPresent')}</th>
          <th class="n">{w(page, 'totalHours')}</th>
        </tr>
      }
    />
  );
}

/** A team's rows start with its name and head count. */
export function TeamHead(props: { page: PageContext; team: string; workers: number; columns: number }) {
  const { page } = props;
  return (
    <tr class="team">
      <th colspan={props.columns}>
        {w(page, 'teamN', { team: props.team || w(page, 'noTeam'), n: props.workers })}
      </th>
    </tr>
  );
}

/**
 * The rows are written as text, not as JSX: a page of 200 workers is 7,000 cells, which hono's JSX
 * renders in ≈ 25 ms and a template in ≈ 3 (every value goes through `escapeHtml`).
 */
const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** A day's cell: hours when there was a punch, marked (and titled with the reason) for an anomaly. */
function dayCellHtml(lang: PageContext['lang'], day: AttendanceDay, day1: number): string {
  if (day.anomalies.length > 0) {
    const title = escapeHtml(anomalyList(lang, day.anomalies));
    return `<td class="d a" data-day="${day1}" title="${title}">${hoursText(day.hours)}<b class="mark">!</b></td>`;
  }
  if (day.open) {
    const title = escapeHtml(reportSay(lang, 'stillInside'));
    return `<td class="d open" data-day="${day1}" title="${title}">${hoursText(day.hours)}</td>`;
  }
  return `<td class="d" data-day="${day1}">${day.present ? hoursText(day.hours) : ''}</td>`;
}

export function monthlyRowHtml(page: PageContext, row: AttendanceRow): string {
  let cells = '';
  for (let i = 0; i < row.days.length; i++) cells += dayCellHtml(page.lang, row.days[i]!, i + 1);
  return (
    `<tr data-worker="${escapeHtml(row.workerId)}"><th class="who" scope="row">${escapeHtml(row.name)}</th>` +
    `<td class="employer">${escapeHtml(row.employer)}</td>${cells}` +
    `<td class="n present">${row.daysPresent}</td><td class="n total">${hoursText(row.totalHours)}</td></tr>`
  );
}

/** The daily sheet around its rows (at `ROWS_MARK`). */
export function DailyPage(props: { page: PageContext; form: SheetFormValues; summary: SheetSummary }) {
  const { page, form } = props;
  return (
    <SheetFrame
      {...props}
      title={`${w(page, 'daily')} · ${dateTitle(page.lang, form.period)}`}
      table={{ id: 'daily-sheet', class: 'sheet daily', period: { 'data-date': form.period } }}
      head={
        <tr>
          <th class="who">{w(page, 'name')}</th>
          <th>{w(page, 'employer')}</th>
          <th>{w(page, 'firstIn')}</th>
          <th>{w(page, 'lastOut')}</th>
          <th class="n">{w(page, 'hours')}</th>
          <th>{w(page, 'anomalies')}</th>
        </tr>
      }
    />
  );
}

/** `time`: the one time format (`sheetTimeFormat`). */
export function dailyRowHtml(page: PageContext, row: AttendanceRow, time: (ms: number) => string): string {
  const day = row.days[0]!;
  const flagged = day.anomalies.length > 0;
  const first = day.firstInMs === undefined ? '' : time(day.firstInMs);
  const last = day.lastOutMs === undefined ? '' : time(day.lastOutMs);
  const note = flagged ? anomalyList(page.lang, day.anomalies) : day.open ? w(page, 'stillInside') : '';
  return (
    `<tr data-worker="${escapeHtml(row.workerId)}" class="${flagged ? 'flagged' : ''}">` +
    `<th class="who" scope="row">${escapeHtml(row.name)}</th><td class="employer">${escapeHtml(row.employer)}</td>` +
    `<td class="first-in">${first}</td><td class="last-out">${last}</td>` +
    `<td class="n hours${flagged ? ' a' : ''}">${hoursText(day.hours)}</td>` +
    `<td class="anomalies">${escapeHtml(note)}</td></tr>`
  );
}

/**
 * The print view of the monthly sheet (A4 landscape, reports-print.css): a document of its own,
 * with no navigation, one table per team and a line for the team leader to sign under it.
 */
export function PrintHead(props: { page: PageContext; form: SheetFormValues; summary: SheetSummary }) {
  const { page, form } = props;
  const title = w(page, 'sheetTitle', { site: page.siteName, month: monthTitle(page.lang, form.period) });
  const back = `/reports/attendance${sheetQueryString({ month: form.period, team: form.team, employer: form.employer })}`;
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang={page.lang === 'zh' ? 'zh-CN' : 'en'}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{title}</title>
          <link rel="icon" type="image/svg+xml" href={assetUrl('favicon.svg')} />
          <link rel="stylesheet" href={assetUrl('reports-print.css')} />
        </head>
        <body class="print-sheet">
          <p class="tools">
            <button type="button" id="print-now">
              {w(page, 'print')}
            </button>
            <a href={back} id="print-back">
              {w(page, 'monthly')}
            </a>
          </p>
          <h1>{title}</h1>
          <p class="legend">
            {w(page, 'rule', { h: props.summary.nightShiftHours })}{' '}
            {`${anomalyName(page.lang, 'missingIn', true)} = ${anomalyName(page.lang, 'missingIn')}`}
            {page.lang === 'en' ? ', ' : '，'}
            {`${anomalyName(page.lang, 'missingOut', true)} = ${anomalyName(page.lang, 'missingOut')}`}
          </p>
          {props.summary.workerCount === 0 && <p>{w(page, 'nobody')}</p>}
          {raw(ROWS_MARK)}
          <script src={assetUrl('reports.js')} />
        </body>
      </html>
    </>
  );
}

/** A team's table on paper: header, rows (streamed after it), then `PrintTeamEnd`. */
export function PrintTeamStart(props: { page: PageContext; team: string; workers: number; days: number }) {
  const { page } = props;
  return (
    <>
      {raw('<section class="team">')}
      <h2>{w(page, 'teamN', { team: props.team || w(page, 'noTeam'), n: props.workers })}</h2>
      {raw('<table class="sheet"><colgroup><col class="who"><col class="id"><col class="employer">')}
      {raw(`${'<col class="d">'.repeat(props.days)}<col class="n"><col class="n"></colgroup>`)}
      <thead>
        <tr>
          <th>{w(page, 'name')}</th>
          <th>{w(page, 'idNumber')}</th>
          <th>{w(page, 'employer')}</th>
          {Array.from({ length: props.days }, (_, i) => (
            <th>{String(i + 1)}</th>
          ))}
          <th>{w(page, 'daysPresent')}</th>
          <th>{w(page, 'totalHours')}</th>
        </tr>
      </thead>
      {raw('<tbody>')}
    </>
  );
}

export function printRowHtml(
  page: PageContext,
  row: AttendanceRow,
  idNumber: string,
  dayTexts = new DayTexts(),
): string {
  const { lang } = page;
  const cell = (day: AttendanceDay) => printDayHtml(lang, day);
  let cells = '';
  for (const day of row.days) cells += dayTexts.of(day, cell);
  return (
    `<tr data-worker="${escapeHtml(row.workerId)}"><td class="who">${escapeHtml(row.name)}</td>` +
    `<td class="id">${escapeHtml(idNumber)}</td><td class="employer">${escapeHtml(row.employer)}</td>${cells}` +
    `<td class="n">${row.daysPresent}</td><td class="n">${hoursText(row.totalHours)}</td></tr>`
  );
}

function printDayHtml(lang: Lang, day: AttendanceDay): string {
  if (day.anomalies.length > 0) {
    const short = day.anomalies.map((a) => anomalyName(lang, a, true)).join(lang === 'en' ? ', ' : '、');
    return (
      `<td class="d a" title="${escapeHtml(anomalyList(lang, day.anomalies))}">` +
      `${hoursText(day.hours)}<small>${escapeHtml(short)}</small></td>`
    );
  }
  return `<td class="d">${day.present || day.open ? hoursText(day.hours) : ''}</td>`;
}

/** The end of a team's table, and the line its leader signs. */
export function PrintTeamEnd(props: { page: PageContext }) {
  const { page } = props;
  return (
    <>
      {raw('</tbody></table>')}
      <p class="sign">
        <span>{`${w(page, 'sign')}${page.lang === 'en' ? ':' : '：'}`}</span>
        <span class="line" />
        <span>{`${w(page, 'signDate')}${page.lang === 'en' ? ':' : '：'}`}</span>
        <span class="line short" />
      </p>
      {raw('</section>')}
    </>
  );
}

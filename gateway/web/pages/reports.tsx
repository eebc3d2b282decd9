/**
 * The attendance sheet's pages: the monthly sheet, the daily sheet and the print view. They are
 * streamed (report-routes.tsx): the parts here render the page around the rows, and the rows a
 * chunk at a time, so a month of 5,000 workers is never one tree in memory.
 */
import { raw } from 'hono/html';
import type { AttendanceRow } from '../../reports/attendance';
import type { AttendanceDay } from '../../reports/day-count';
import { assetUrl } from '../assets';
import { Layout, type PageContext, t } from '../layout';
import { sheetQueryString } from '../report-params';
import { anomalyList, anomalyName, dateTitle, monthTitle, reportSay } from '../report-words';
import { formatTime } from '../time-format';

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
}

export interface SheetSummary {
  readonly workerCount: number;
  readonly complete: boolean;
  readonly dates: readonly string[];
  readonly nightShiftHours: number;
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
      <label>
        {w(page, monthly ? 'month' : 'date')}
        <input
          type={monthly ? 'month' : 'date'}
          name={periodKey}
          value={form.period}
          required
          pattern={monthly ? '\\d{4}-\\d{2}' : '\\d{4}-\\d{2}-\\d{2}'}
        />
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

/** The monthly sheet around its rows (at `ROWS_MARK`). */
export function MonthlyPage(props: { page: PageContext; form: SheetFormValues; summary: SheetSummary }) {
  const { page, form, summary } = props;
  return (
    <Layout
      page={page}
      title={`${w(page, 'monthly')} · ${monthTitle(page.lang, form.period)}`}
      styles={['reports.css']}
    >
      {!summary.complete && <p class="notice">{t(page, 'indexing')}</p>}
      <SheetForm page={page} form={form} valid={true} />
      <p class="muted">{w(page, 'rule', { h: summary.nightShiftHours })}</p>
      <p class="muted" id="sheet-count" data-count={String(summary.workerCount)}>
        {w(page, 'workersN', { n: summary.workerCount })}
      </p>
      <div class="scroll sheet-box">
        <table id="attendance-sheet" class="sheet monthly" data-month={form.period}>
          <thead>
            <tr>
              <th class="who">{w(page, 'name')}</th>
              <th>{w(page, 'employer')}</th>
              {summary.dates.map((_, i) => (
                <th class="d">{String(i + 1)}</th>
              ))}
              <th class="n">{w(page, 'daysPresent')}</th>
              <th class="n">{w(page, 'totalHours')}</th>
            </tr>
          </thead>
          {raw(ROWS_MARK)}
        </table>
      </div>
      {summary.workerCount === 0 && <p class="muted">{w(page, 'nobody')}</p>}
      <p class="muted legend">{w(page, 'legend')}</p>
    </Layout>
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

/** A day's cell: hours when there was a punch, marked (and titled with the reason) for an anomaly. */
function DayCell(props: { page: PageContext; day: AttendanceDay; day1: number }) {
  const { page, day } = props;
  if (day.anomalies.length > 0) {
    return (
      <td class="d a" data-day={String(props.day1)} title={anomalyList(page.lang, day.anomalies)}>
        {hoursText(day.hours)}
        <b class="mark">!</b>
      </td>
    );
  }
  if (day.open) {
    return (
      <td class="d open" data-day={String(props.day1)} title={w(page, 'stillInside')}>
        {hoursText(day.hours)}
      </td>
    );
  }
  return (
    <td class="d" data-day={String(props.day1)}>
      {day.present ? hoursText(day.hours) : ''}
    </td>
  );
}

export function MonthlyRow(props: { page: PageContext; row: AttendanceRow }) {
  const { page, row } = props;
  return (
    <tr data-worker={row.workerId}>
      <th class="who" scope="row">
        {row.name}
      </th>
      <td class="employer">{row.employer}</td>
      {row.days.map((day, i) => (
        <DayCell page={page} day={day} day1={i + 1} />
      ))}
      <td class="n present">{String(row.daysPresent)}</td>
      <td class="n total">{hoursText(row.totalHours)}</td>
    </tr>
  );
}

/** The daily sheet around its rows (at `ROWS_MARK`). */
export function DailyPage(props: { page: PageContext; form: SheetFormValues; summary: SheetSummary }) {
  const { page, form, summary } = props;
  return (
    <Layout
      page={page}
      title={`${w(page, 'daily')} · ${dateTitle(page.lang, form.period)}`}
      styles={['reports.css']}
    >
      {!summary.complete && <p class="notice">{t(page, 'indexing')}</p>}
      <SheetForm page={page} form={form} valid={true} />
      <p class="muted">{w(page, 'rule', { h: summary.nightShiftHours })}</p>
      <p class="muted" id="sheet-count" data-count={String(summary.workerCount)}>
        {w(page, 'workersN', { n: summary.workerCount })}
      </p>
      <div class="scroll sheet-box">
        <table id="daily-sheet" class="sheet daily" data-date={form.period}>
          <thead>
            <tr>
              <th class="who">{w(page, 'name')}</th>
              <th>{w(page, 'employer')}</th>
              <th>{w(page, 'firstIn')}</th>
              <th>{w(page, 'lastOut')}</th>
              <th class="n">{w(page, 'hours')}</th>
              <th>{w(page, 'anomalies')}</th>
            </tr>
          </thead>
          {raw(ROWS_MARK)}
        </table>
      </div>
      {summary.workerCount === 0 && <p class="muted">{w(page, 'nobody')}</p>}
    </Layout>
  );
}

export function DailyRow(props: { page: PageContext; row: AttendanceRow; timezone: string }) {
  const { page, row } = props;
  const day = row.days[0]!;
  const flagged = day.anomalies.length > 0;
  return (
    <tr data-worker={row.workerId} class={flagged ? 'flagged' : ''}>
      <th class="who" scope="row">
        {row.name}
      </th>
      <td class="employer">{row.employer}</td>
      <td class="first-in">{day.firstInMs === undefined ? '' : formatTime(day.firstInMs, props.timezone)}</td>
      <td class="last-out">{day.lastOutMs === undefined ? '' : formatTime(day.lastOutMs, props.timezone)}</td>
      <td class={`n hours${flagged ? ' a' : ''}`}>{hoursText(day.hours)}</td>
      <td class="anomalies">
        {flagged ? anomalyList(page.lang, day.anomalies) : day.open ? w(page, 'stillInside') : ''}
      </td>
    </tr>
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

export function PrintRow(props: { page: PageContext; row: AttendanceRow; idNumber: string }) {
  const { page, row } = props;
  return (
    <tr data-worker={row.workerId}>
      <td class="who">{row.name}</td>
      <td class="id">{props.idNumber}</td>
      <td class="employer">{row.employer}</td>
      {row.days.map((day) =>
        day.anomalies.length > 0 ? (
          <td class="d a" title={anomalyList(page.lang, day.anomalies)}>
            {hoursText(day.hours)}
            <small>
              {day.anomalies
                .map((a) => anomalyName(page.lang, a, true))
                .join(page.lang === 'en' ? ', ' : '、')}
            </small>
          </td>
        ) : (
          <td class="d">{day.present || day.open ? hoursText(day.hours) : ''}</td>
        ),
      )}
      <td class="n">{String(row.daysPresent)}</td>
      <td class="n">{hoursText(row.totalHours)}</td>
    </tr>
  );
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

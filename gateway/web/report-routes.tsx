import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import {
  type AttendanceRow,
  type AttendanceSheet,
  maskIdNumber,
  SheetPeriodError,
} from '../reports/attendance';
import { type PageRoutes, pageContext, type WebContext } from './context';
import { LANG_COOKIE, type Lang, parseLang } from './i18n';
import type { PageContext } from './layout';
import {
  DailyPage,
  DailyRow,
  MonthlyPage,
  MonthlyRow,
  PrintHead,
  PrintRow,
  PrintTeamEnd,
  PrintTeamStart,
  ROWS_MARK,
  type SheetFormValues,
  SheetProblemPage,
  type SheetSummary,
  TeamHead,
} from './pages/reports';
import type { WebDeps } from './port';
import { readSheetQuery, sheetProblemText } from './report-params';
import { anomalyName } from './report-words';
import { attendanceXlsxStream, sheetFileName } from './report-xlsx';
import { formatTime } from './time-format';

type Kind = 'monthly' | 'daily';
const PERIOD_PARAM: Readonly<Record<Kind, 'month' | 'date'>> = { monthly: 'month', daily: 'date' };
/** Rows rendered per piece of a streamed page or JSON answer. */
const ROWS_PER_PIECE = 100;
const HTML = 'text/html; charset=UTF-8';

/**
 * The attendance sheet (issue 18): `/reports/attendance` (monthly) and `/reports/daily`, their
 * `.xlsx` files, the monthly print view, and the same rows as JSON under `/api/reports/`. All behind
 * the guard (a session; the API also the bearer token). Pages, files and JSON are streamed as the
 * report yields its rows.
 */
export function reportRoutes(deps: WebDeps): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/reports', (c) => seeOther(c, '/reports/attendance'));
  for (const kind of ['monthly', 'daily'] as const) {
    const base = kind === 'monthly' ? '/reports/attendance' : '/reports/daily';
    routes.get(base, (c) => sheetPage(c, deps, kind, 'page'));
    routes.get(`${base}.xlsx`, (c) => sheetPage(c, deps, kind, 'xlsx'));
    routes.get(`/api${base}`, (c) => sheetJson(c, deps, kind));
  }
  routes.get('/reports/attendance/print', (c) => sheetPage(c, deps, 'monthly', 'print'));
  return routes;
}

/** Reads the parameters and opens the sheet, or gives back what is wrong with them (the caller answers 400). */
function open(c: WebContext, deps: WebDeps, kind: Kind) {
  const read = readSheetQuery(PERIOD_PARAM[kind], (n) => c.req.query(n), deps.timezone);
  if (!read.ok) return { read } as const;
  const { period, filter, team, employer } = read.query;
  try {
    const sheet =
      kind === 'monthly' ? deps.reports.monthly(period, filter) : deps.reports.daily(period, filter);
    return { read, sheet, query: read.query } as const;
  } catch (error) {
    // The parameters' check and the sheet's agree; should they ever not, still a 400, never a 500.
    if (!(error instanceof SheetPeriodError)) throw error;
    const problem = { field: PERIOD_PARAM[kind], given: period, message: error.message };
    return { read: { ok: false, problem, team, employer } } as const;
  }
}

function formValues(
  deps: WebDeps,
  kind: Kind,
  period: string,
  team: string,
  employer: string,
): SheetFormValues {
  const groups = deps.reports.groups();
  return { kind, period, team, employer, teams: groups.teams, employers: groups.employers };
}

async function sheetPage(c: WebContext, deps: WebDeps, kind: Kind, as: 'page' | 'xlsx' | 'print') {
  const page = pageContext(c, deps.siteName);
  const opened = open(c, deps, kind);
  if (!opened.sheet) {
    const { problem, team, employer } = opened.read;
    const form = formValues(deps, kind, problem.given, team, employer);
    return c.html(
      <SheetProblemPage page={page} form={form} problem={sheetProblemText(page.lang, problem)} />,
      400,
    );
  }
  const { sheet, query } = opened;
  if (as === 'xlsx') {
    return c.body(
      attendanceXlsxStream(sheet, kind, {
        lang: page.lang,
        siteName: deps.siteName,
        timezone: deps.timezone,
      }),
      200,
      {
        'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        'Content-Disposition': sheetFileName(kind, sheet.period, page.lang),
      },
    );
  }
  const form = formValues(deps, kind, query.period, query.team, query.employer);
  const summary: SheetSummary = {
    workerCount: sheet.workerCount,
    complete: sheet.complete,
    dates: sheet.dates,
    nightShiftHours: deps.nightShiftHours,
  };
  const frame =
    as === 'print' ? (
      <PrintHead page={page} form={form} summary={summary} />
    ) : kind === 'monthly' ? (
      <MonthlyPage page={page} form={form} summary={summary} />
    ) : (
      <DailyPage page={page} form={form} summary={summary} />
    );
  const [head, tail] = (await render(frame)).split(ROWS_MARK) as [string, string];
  const body = as === 'print' ? printPieces(page, sheet) : tablePieces(page, deps, sheet, kind);
  return c.body(streamText(head, body, tail), 200, { 'Content-Type': HTML });
}

/** The rows of the page's table, a team per `<tbody>`, a piece per `ROWS_PER_PIECE` rows. */
async function* tablePieces(
  page: PageContext,
  deps: WebDeps,
  sheet: AttendanceSheet,
  kind: Kind,
): AsyncGenerator<string> {
  const columns = kind === 'monthly' ? sheet.dates.length + 4 : 6;
  const teams = new Map(sheet.teams.map((t) => [t.team, t.workers]));
  let team: string | undefined;
  let piece: Child[] = [];
  for await (const row of sheet.rows()) {
    if (row.team !== team) {
      if (team !== undefined) piece.push(raw('</tbody>'));
      team = row.team;
      piece.push(raw(`<tbody data-team="${escapeAttribute(team)}">`));
      piece.push(<TeamHead page={page} team={team} workers={teams.get(team) ?? 0} columns={columns} />);
    }
    piece.push(
      kind === 'monthly' ? (
        <MonthlyRow page={page} row={row} />
      ) : (
        <DailyRow page={page} row={row} timezone={deps.timezone} />
      ),
    );
    if (piece.length >= ROWS_PER_PIECE) {
      yield await renderAll(piece);
      piece = [];
    }
  }
  if (team !== undefined) piece.push(raw('</tbody>'));
  if (piece.length > 0) yield await renderAll(piece);
}

/** The print view's body: a section per team, each ending with its signature line. */
async function* printPieces(page: PageContext, sheet: AttendanceSheet): AsyncGenerator<string> {
  const teams = new Map(sheet.teams.map((t) => [t.team, t.workers]));
  const days = sheet.dates.length;
  let team: string | undefined;
  let piece: Child[] = [];
  for await (const row of sheet.rows()) {
    if (row.team !== team) {
      if (team !== undefined) piece.push(<PrintTeamEnd page={page} />);
      team = row.team;
      piece.push(<PrintTeamStart page={page} team={team} workers={teams.get(team) ?? 0} days={days} />);
    }
    piece.push(<PrintRow page={page} row={row} idNumber={maskIdNumber(row.idCardNo)} />);
    if (piece.length >= ROWS_PER_PIECE) {
      yield await renderAll(piece);
      piece = [];
    }
  }
  if (team !== undefined) piece.push(<PrintTeamEnd page={page} />);
  if (piece.length > 0) yield await renderAll(piece);
}

/** `/api/reports/{attendance,daily}`: the rows as JSON, streamed; a bad parameter is a 400 naming it. */
function sheetJson(c: WebContext, deps: WebDeps, kind: Kind) {
  const opened = open(c, deps, kind);
  if (!opened.sheet) {
    const { problem } = opened.read;
    return c.json({ error: problem.message, field: problem.field }, 400);
  }
  const { sheet, query } = opened;
  const lang: Lang = parseLang(c.req.query('lang') ?? getCookie(c, LANG_COOKIE));
  const head = JSON.stringify({
    kind,
    period: sheet.period,
    timezone: deps.timezone,
    team: query.team || null,
    employer: query.employer || null,
    complete: sheet.complete,
    dates: sheet.dates,
    workerCount: sheet.workerCount,
    teams: sheet.teams,
    words: { missingIn: anomalyName(lang, 'missingIn'), missingOut: anomalyName(lang, 'missingOut') },
  });
  return c.body(streamText(`${head.slice(0, -1)},"workers":[`, jsonRows(deps, sheet, kind), ']}'), 200, {
    'Content-Type': 'application/json; charset=UTF-8',
  });
}

async function* jsonRows(deps: WebDeps, sheet: AttendanceSheet, kind: Kind): AsyncGenerator<string> {
  let lines: string[] = [];
  let first = true;
  for await (const row of sheet.rows()) {
    lines.push(JSON.stringify(jsonRow(deps, row, kind)));
    if (lines.length >= ROWS_PER_PIECE) {
      yield `${first ? '' : ','}${lines.join(',')}`;
      first = false;
      lines = [];
    }
  }
  if (lines.length > 0) yield `${first ? '' : ','}${lines.join(',')}`;
}

function jsonRow(deps: WebDeps, row: AttendanceRow, kind: Kind) {
  return {
    workerId: row.workerId,
    name: row.name,
    pin: row.pin,
    idNumber: maskIdNumber(row.idCardNo),
    team: row.team,
    employer: row.employer,
    daysPresent: row.daysPresent,
    totalHours: row.totalHours,
    days: row.days.map((d) =>
      kind === 'monthly'
        ? { date: d.date, hours: d.hours, present: d.present, anomalies: d.anomalies, open: d.open }
        : {
            date: d.date,
            hours: d.hours,
            present: d.present,
            anomalies: d.anomalies,
            open: d.open,
            firstInMs: d.firstInMs ?? null,
            lastOutMs: d.lastOutMs ?? null,
            firstIn: d.firstInMs === undefined ? null : formatTime(d.firstInMs, deps.timezone),
            lastOut: d.lastOutMs === undefined ? null : formatTime(d.lastOutMs, deps.timezone),
          },
    ),
  };
}

/** Text pieces as a byte stream: the head at once, then each piece as it is pulled, then the tail. */
function streamText(head: string, pieces: AsyncGenerator<string>, tail: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(head));
    },
    async pull(controller) {
      const next = await pieces.next();
      if (next.done) {
        controller.enqueue(encoder.encode(tail));
        controller.close();
      } else {
        controller.enqueue(encoder.encode(next.value));
      }
    },
    async cancel() {
      await pieces.return(undefined);
    },
  });
}

async function renderAll(nodes: readonly Child[]): Promise<string> {
  const parts: string[] = [];
  for (const node of nodes) parts.push(await render(node));
  return parts.join('');
}

async function render(node: Child): Promise<string> {
  return String(await (node as { toString(): string | Promise<string> }).toString());
}

/** An attribute value written by hand (a `<tbody>` opened in one piece and closed in another). */
function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

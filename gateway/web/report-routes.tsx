import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import { type AttendanceSheet, maskIdNumber, SheetPeriodError, type SheetRange } from '../reports/attendance';
import { type PageRoutes, pageContext, type WebContext } from './context';
import { DayTexts } from './day-texts';
import { LANG_COOKIE, type Lang, parseLang } from './i18n';
import type { PageContext } from './layout';
import {
  DailyPage,
  dailyRowHtml,
  MonthlyPage,
  monthlyRowHtml,
  PrintHead,
  PrintTeamEnd,
  PrintTeamStart,
  printRowHtml,
  ROWS_MARK,
  type SheetFormValues,
  SheetProblemPage,
  type SheetSummary,
  TeamHead,
} from './pages/reports';
import type { WebDeps } from './port';
import { readSheetQuery, SHEET_PAGE_ROWS, sheetMonths, sheetProblemText } from './report-params';
import { sheetTimeFormat } from './report-time';
import { anomalyName } from './report-words';
import { sheetFileName } from './sheet-file';
import type { SheetFileWriters } from './sheet-writers';

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
export function reportRoutes(deps: WebDeps, writers: SheetFileWriters): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/reports', (c) => seeOther(c, '/reports/attendance'));
  for (const kind of ['monthly', 'daily'] as const) {
    const base = kind === 'monthly' ? '/reports/attendance' : '/reports/daily';
    routes.get(base, (c) => sheetPage(c, deps, writers, kind, 'page'));
    routes.get(`${base}.xlsx`, (c) => sheetPage(c, deps, writers, kind, 'xlsx'));
    routes.get(`/api${base}`, (c) => sheetJson(c, deps, writers, kind));
  }
  routes.get('/reports/attendance/print', (c) => sheetPage(c, deps, writers, 'monthly', 'print'));
  return routes;
}

/** Reads the parameters and opens the sheet, or gives back what is wrong with them (the caller answers 400). */
async function open(c: WebContext, deps: WebDeps, kind: Kind) {
  const read = readSheetQuery(PERIOD_PARAM[kind], (n) => c.req.query(n), deps.timezone);
  if (!read.ok) return { read } as const;
  const { period, filter, team, employer } = read.query;
  try {
    const sheet = await (kind === 'monthly'
      ? deps.reports.monthly(period, filter)
      : deps.reports.daily(period, filter));
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
  const months = sheetMonths(deps.timezone, deps.sheetMonths);
  return { kind, period, team, employer, teams: groups.teams, employers: groups.employers, months };
}

async function sheetPage(
  c: WebContext,
  deps: WebDeps,
  writers: SheetFileWriters,
  kind: Kind,
  as: 'page' | 'xlsx' | 'print',
) {
  const page = pageContext(c, deps.siteName);
  const opened = await open(c, deps, kind);
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
      writers.stream(sheet, {
        format: 'xlsx',
        kind,
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
  // A page shows SHEET_PAGE_ROWS rows (past the last page: the last); the print view all of them.
  const pages = Math.max(1, Math.ceil(sheet.workerCount / SHEET_PAGE_ROWS));
  const at = Math.min(query.page, pages);
  const range = as === 'page' ? { offset: (at - 1) * SHEET_PAGE_ROWS, limit: SHEET_PAGE_ROWS } : undefined;
  const summary: SheetSummary = {
    workerCount: sheet.workerCount,
    complete: sheet.complete,
    dates: sheet.dates,
    nightShiftHours: deps.nightShiftHours,
    paging: range && {
      page: at,
      pages,
      first: Math.min(sheet.workerCount, range.offset + 1),
      last: Math.min(sheet.workerCount, range.offset + range.limit),
      teams: teamPages(sheet),
    },
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
  if (as === 'page') writers.warm();
  const body = as === 'print' ? printPieces(page, sheet) : tablePieces(page, deps, sheet, kind, range);
  return c.body(streamText(head, body, tail), 200, { 'Content-Type': HTML });
}

/** Each team of the sheet, its index (the `<tbody>`'s id) and the page its first row is on. */
function teamPages(sheet: AttendanceSheet): Array<{ team: string; index: number; page: number }> {
  let offset = 0;
  return sheet.teams.map((t, index) => {
    const at = { team: t.team, index, page: Math.floor(offset / SHEET_PAGE_ROWS) + 1 };
    offset += t.workers;
    return at;
  });
}

/**
 * The rows of the page's table (`range` of them), a team per `<tbody>` (its head again when the
 * page begins inside it), a piece per `ROWS_PER_PIECE` rows.
 */
async function* tablePieces(
  page: PageContext,
  deps: WebDeps,
  sheet: AttendanceSheet,
  kind: Kind,
  range: SheetRange | undefined,
): AsyncGenerator<string> {
  const columns = kind === 'monthly' ? sheet.dates.length + 4 : 6;
  const teams = new Map(sheet.teams.map((t, index) => [t.team, { workers: t.workers, index }]));
  const time = sheetTimeFormat(deps.timezone);
  let team: string | undefined;
  let piece: Child[] = [];
  for await (const row of sheet.rows(range)) {
    if (row.team !== team) {
      if (team !== undefined) piece.push(raw('</tbody>'));
      team = row.team;
      const known = teams.get(team);
      piece.push(
        raw(`<tbody data-team="${escapeAttribute(team)}"${known ? ` id="team-${known.index}"` : ''}>`),
      );
      piece.push(<TeamHead page={page} team={team} workers={known?.workers ?? 0} columns={columns} />);
    }
    piece.push(raw(kind === 'monthly' ? monthlyRowHtml(page, row) : dailyRowHtml(page, row, time)));
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
  const dayTexts = new DayTexts();
  let team: string | undefined;
  let piece: Child[] = [];
  for await (const row of sheet.rows(undefined, { document: true })) {
    if (row.team !== team) {
      if (team !== undefined) piece.push(<PrintTeamEnd page={page} />);
      team = row.team;
      piece.push(<PrintTeamStart page={page} team={team} workers={teams.get(team) ?? 0} days={days} />);
    }
    piece.push(raw(printRowHtml(page, row, maskIdNumber(row.idCardNo), dayTexts)));
    if (piece.length >= ROWS_PER_PIECE) {
      yield await renderAll(piece);
      piece = [];
    }
  }
  if (team !== undefined) piece.push(<PrintTeamEnd page={page} />);
  if (piece.length > 0) yield await renderAll(piece);
}

/** `/api/reports/{attendance,daily}`: the rows as JSON, streamed; a bad parameter is a 400 naming it. */
async function sheetJson(c: WebContext, deps: WebDeps, writers: SheetFileWriters, kind: Kind) {
  const opened = await open(c, deps, kind);
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
  // A whole-site document either way (a month 12 MB for 5,000 workers, a day 1.8 MB), written in its
  // turn with the files and the print view; its text in the sheet writer's thread.
  const body = writers.stream(sheet, {
    format: 'json',
    kind,
    timezone: deps.timezone,
    prefix: `${head.slice(0, -1)},"workers":[`,
    suffix: ']}',
  });
  return c.body(body, 200, { 'Content-Type': 'application/json; charset=UTF-8' });
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
  // Rows are already text (`raw`): only the few JSX parts (a team's head) are rendered.
  for (const node of nodes) parts.push(node instanceof String ? String(node) : await render(node));
  return parts.join('');
}

async function render(node: Child): Promise<string> {
  return String(await (node as { toString(): string | Promise<string> }).toString());
}

/** An attribute value written by hand (a `<tbody>` opened in one piece and closed in another). */
function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

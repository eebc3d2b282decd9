import { DateTime } from 'luxon';
import type { SheetFilter } from '../reports/attendance';
import { monthDays } from '../reports/day-count';
import type { Lang } from './i18n';
import { type ReportWord, reportSay } from './report-words';

/** The longest team or employer a filter takes (the roster's own limit is lower). */
const GROUP_MAX = 100;
/** Rows a sheet's page shows: a person reads a page, the files and the print view have them all. */
export const SHEET_PAGE_ROWS = 200;

export interface SheetQuery {
  /** `YYYY-MM` or `YYYY-MM-DD`, as checked. */
  readonly period: string;
  /** As given (trimmed; '' = everyone), for the form and links. */
  readonly team: string;
  readonly employer: string;
  readonly filter: SheetFilter;
  /** The page of the sheet's page (1 = the first `SHEET_PAGE_ROWS` rows); the files and JSON ignore it. */
  readonly page: number;
}

/** A parameter the sheet cannot use: `field` is the query parameter, `message` the English line the API gives. */
export interface SheetProblem {
  readonly field: 'month' | 'date' | 'team' | 'employer' | 'page';
  readonly given: string;
  readonly message: string;
}

export type SheetQueryResult =
  | { readonly ok: true; readonly query: SheetQuery }
  | { readonly ok: false; readonly problem: SheetProblem; readonly team: string; readonly employer: string };

/**
 * `month` (or `date` for the daily sheet), `team`, `employer`. Absent period: the site's current
 * month or today. A present but malformed one, or an over-long filter, is a problem (HTTP 400).
 */
export function readSheetQuery(
  kind: 'month' | 'date',
  query: (name: string) => string | undefined,
  timezone: string,
  nowMs = Date.now(),
): SheetQueryResult {
  const team = (query('team') ?? '').trim();
  const employer = (query('employer') ?? '').trim();
  const given = (query(kind) ?? '').trim();
  const today = DateTime.fromMillis(nowMs, { zone: timezone });
  const period = given || (kind === 'month' ? today.toFormat('yyyy-MM') : today.toISODate()!);
  const fail = (problem: SheetProblem): SheetQueryResult => ({ ok: false, problem, team, employer });
  if (kind === 'month' && !monthDays(period)) {
    return fail({ field: 'month', given, message: `month: expected YYYY-MM (e.g. 2026-03), got "${given}"` });
  }
  if (kind === 'date' && !isDate(period)) {
    return fail({
      field: 'date',
      given,
      message: `date: expected YYYY-MM-DD (e.g. 2026-03-15), got "${given}"`,
    });
  }
  for (const [field, value] of [
    ['team', team],
    ['employer', employer],
  ] as const) {
    if (value.length > GROUP_MAX) {
      return fail({ field, given: value, message: `${field}: at most ${GROUP_MAX} characters` });
    }
  }
  const pageText = (query('page') ?? '').trim();
  if (pageText && !/^[1-9]\d{0,5}$/.test(pageText)) {
    return fail({
      field: 'page',
      given: pageText,
      message: `page: expected a page number (1, 2, …), got "${pageText}"`,
    });
  }
  return {
    ok: true,
    query: {
      period,
      team,
      employer,
      filter: { team: team || undefined, employer: employer || undefined },
      page: pageText ? Number(pageText) : 1,
    },
  };
}

function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const at = DateTime.fromISO(text, { zone: 'UTC' });
  return at.isValid && at.year >= 2000 && at.year <= 2999;
}

/** The problem in the reader's words, naming the form's field. */
/**
 * The months the monthly sheet's picker offers, newest first: this site-local month and the
 * `count - 1` before it (the punches kept). A list of our own rather than `<input type="month">`,
 * which Safari and older Firefox show as a bare text box and Chromium labels in the browser's
 * language whatever language the page is in.
 */
export function sheetMonths(timezone: string, count: number, nowMs = Date.now()): string[] {
  const first = DateTime.fromMillis(nowMs, { zone: timezone }).startOf('month');
  return Array.from({ length: count }, (_, i) => first.minus({ months: i }).toFormat('yyyy-MM'));
}

export function sheetProblemText(lang: Lang, problem: SheetProblem): string {
  switch (problem.field) {
    case 'month':
      return reportSay(lang, 'badMonth', { example: '2026-03' });
    case 'date':
      return reportSay(lang, 'badDate', { example: '2026-03-15' });
    case 'page':
      return reportSay(lang, 'badPage');
    default: {
      const field: ReportWord = problem.field;
      return reportSay(lang, 'badGroup', { field: reportSay(lang, field), n: GROUP_MAX });
    }
  }
}

/** The query string of a sheet's links (xlsx, print, the other sheet), without empty parameters. */
export function sheetQueryString(params: Readonly<Record<string, string>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}

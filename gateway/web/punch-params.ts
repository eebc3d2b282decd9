import { DateTime } from 'luxon';
import type { UpstreamName } from '../model';
import { MAX_OFFSET, type PagePosition, type PunchCursor, type PunchFilter } from '../query/punch-query';
import type { WebDeps } from './port';
import { searchWorkers } from './worker-search';

export interface PunchParams {
  readonly from: string;
  readonly to: string;
  readonly worker: string;
  readonly terminal: string;
  readonly direction: string;
  /** `<upstream>:delivered` or `<upstream>:pending`. */
  readonly delivery: string;
  readonly page: number;
  /** Keyset paging: the page just older than this place in the list (`<atMs>-<seq>`), or just newer. */
  readonly before: string;
  readonly after: string;
}

/** Why a request's paging cannot be answered, in the punch list's words. */
export interface PagingProblem {
  readonly word: 'badCursor' | 'pageTooDeep';
  readonly values: Readonly<Record<string, string | number>>;
}

export function readPunchParams(query: (name: string) => string | undefined): PunchParams {
  return {
    from: (query('from') ?? '').trim(),
    to: (query('to') ?? '').trim(),
    worker: (query('worker') ?? '').trim(),
    terminal: (query('terminal') ?? '').trim(),
    direction: (query('direction') ?? '').trim(),
    delivery: (query('delivery') ?? '').trim(),
    page: Math.max(1, Math.floor(Number(query('page'))) || 1),
    before: (query('before') ?? '').trim(),
    after: (query('after') ?? '').trim(),
  };
}

/** A place in the list as links write it: `<punch time ms>-<journal seq>`. */
export function cursorText(cursor: PunchCursor): string {
  return `${cursor.atMs}-${cursor.seq}`;
}

function parseCursor(text: string): PunchCursor | undefined {
  const match = /^(\d{1,16})-(\d{1,16})$/.exec(text);
  if (!match) return undefined;
  const atMs = Number(match[1]);
  const seq = Number(match[2]);
  return Number.isSafeInteger(atMs) && Number.isSafeInteger(seq) ? { atMs, seq } : undefined;
}

/**
 * Which page the request asks for: a keyset place (`before`/`after`, what the page's links use),
 * or a page number within the first `MAX_OFFSET` rows (bookmarks, the API).
 */
export function pagePosition(
  params: PunchParams,
  pageSize: number,
): { position: PagePosition; problem?: undefined } | { problem: PagingProblem } {
  for (const field of ['before', 'after'] as const) {
    if (params[field] && !parseCursor(params[field])) {
      return { problem: { word: 'badCursor', values: { field: `${field}=${params[field].slice(0, 40)}` } } };
    }
  }
  if ((params.page - 1) * pageSize > MAX_OFFSET) {
    return { problem: { word: 'pageTooDeep', values: { page: params.page, max: MAX_OFFSET } } };
  }
  const before = params.before ? parseCursor(params.before) : undefined;
  const after = params.after ? parseCursor(params.after) : undefined;
  return { position: before ? { before } : after ? { after } : {} };
}

/** The filters and a keyset place: the list's Newer and Older links. */
export function punchCursorQuery(
  params: PunchParams,
  place: { before?: PunchCursor; after?: PunchCursor },
): string {
  const search = new URLSearchParams(punchParamsQuery(params, 1));
  if (place.before) search.set('before', cursorText(place.before));
  if (place.after) search.set('after', cursorText(place.after));
  return search.toString();
}

export function punchParamsQuery(params: PunchParams, page = params.page): string {
  const search = new URLSearchParams();
  for (const key of ['from', 'to', 'worker', 'terminal', 'direction', 'delivery'] as const) {
    if (params[key]) search.set(key, params[key]);
  }
  if (page > 1) search.set('page', String(page));
  return search.toString();
}

/** Dates are whole days in the site's zone: `to` includes its day. */
export function toPunchFilter(deps: WebDeps, params: PunchParams): PunchFilter {
  const day = (text: string) => {
    const at = DateTime.fromISO(text, { zone: deps.timezone });
    return at.isValid ? at.startOf('day') : undefined;
  };
  const from = params.from ? day(params.from) : undefined;
  const to = params.to ? day(params.to) : undefined;
  let workerIds: string[] | undefined;
  let pin: string | undefined;
  if (params.worker) {
    workerIds = searchWorkers(deps, params.worker).map((w) => w.id);
    // A bare number may also be a PIN that matches no worker (unmatched punches).
    if (/^\d{1,9}$/.test(params.worker)) pin = params.worker;
  }
  let delivery: PunchFilter['delivery'];
  const [upstream, state] = params.delivery.split(':');
  if (upstream && (state === 'delivered' || state === 'pending')) {
    delivery = { cursor: deps.outboxCursor(upstream as UpstreamName) ?? 0, state };
  }
  return {
    fromMs: from?.toMillis(),
    toMs: to?.plus({ days: 1 }).toMillis(),
    workerIds,
    pin,
    terminalId: params.terminal || undefined,
    direction: params.direction === 'in' || params.direction === 'out' ? params.direction : undefined,
    delivery,
  };
}

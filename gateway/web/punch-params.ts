import { DateTime } from 'luxon';
import type { UpstreamName } from '../model';
import type { PunchFilter } from '../query/punch-query';
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
  };
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

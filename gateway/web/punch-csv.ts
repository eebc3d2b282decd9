import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import type { UpstreamName } from '../model';
import type { IndexedPunch } from '../query/punch-index';
import { eachPunch } from '../query/punch-query';
import type { PageRoutes } from './context';
import type { WebDeps } from './deps';
import { formatTime } from './layout';
import { readPunchParams, toPunchFilter } from './punch-params';
import { upstreamCursors } from './punch-routes';

const CSV_CHUNK_ROWS = 2000;

/** A CSV cell: quoted when needed, and a leading =+-@ neutralised so Excel never runs it as a formula. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** `/punches.csv`: the same filter as the list, every matching punch, for Excel (UTF-8 with BOM, CRLF). */
export function punchCsvRoutes(deps: WebDeps): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => {
    const params = readPunchParams((n) => c.req.query(n));
    const rows = eachPunch(deps.punches.index, toPunchFilter(deps, params));
    const stamp = new Date().toISOString().slice(0, 10);
    return c.body(csvStream(deps, rows, upstreamCursors(deps)), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="punches-${stamp}.csv"`,
      'Cache-Control': 'no-store',
    });
  });
  return routes;
}

/** Streamed in chunks: an export of a million punches never sits in memory whole. */
function csvStream(
  deps: WebDeps,
  rows: Iterator<IndexedPunch>,
  cursors: ReadonlyArray<[UpstreamName, number]>,
): ReadableStream<Uint8Array> {
  const header = [
    'seq',
    'time',
    'worker',
    'pin',
    'sichuanUserId',
    'direction',
    'terminal',
    'method',
    'flags',
  ];
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`\uFEFF${[...header, ...cursors.map(([u]) => u)].join(',')}\r\n`));
    },
    pull(controller) {
      const lines: string[] = [];
      for (let i = 0; i < CSV_CHUNK_ROWS; i++) {
        const next = rows.next();
        if (next.done) break;
        lines.push(csvLine(deps, next.value, cursors));
      }
      if (lines.length > 0) controller.enqueue(encoder.encode(`${lines.join('\r\n')}\r\n`));
      if (lines.length < CSV_CHUNK_ROWS) controller.close();
    },
  });
}

function csvLine(deps: WebDeps, p: IndexedPunch, cursors: ReadonlyArray<[UpstreamName, number]>): string {
  const worker = p.workerId ? deps.roster.get(p.workerId) : undefined;
  return [
    String(p.seq),
    formatTime(p.atMs, deps.timezone),
    worker?.name ?? '',
    p.pin,
    worker?.identities.sichuanUserId ?? '',
    p.direction,
    p.terminalId,
    p.method,
    p.flags.join(' '),
    ...cursors.map(([, cursor]) => (p.seq <= cursor ? 'delivered' : 'pending')),
  ]
    .map(csvCell)
    .join(',');
}

import type { UpstreamName } from '../model';
import type { IndexedPunch } from '../query/punch-index';
import { eachPunch, queryPunches } from '../query/punch-query';
import { pageContext, type WebApp } from './context';
import type { WebDeps } from './deps';
import { formatTime } from './layout';
import { PunchesPage, type PunchRowView } from './pages/punches';
import { readPunchParams, toPunchFilter } from './punch-params';

export const PUNCH_PAGE_SIZE = 50;
const CSV_CHUNK_ROWS = 2000;

export function punchRowView(
  deps: WebDeps,
  punch: IndexedPunch,
  cursors: ReadonlyArray<[UpstreamName, number]>,
): PunchRowView {
  return {
    seq: punch.seq,
    at: formatTime(punch.atMs, deps.timezone),
    name: punch.workerId ? (deps.roster.get(punch.workerId)?.name ?? punch.workerId) : `PIN ${punch.pin}`,
    pin: punch.pin,
    terminalId: punch.terminalId,
    direction: punch.direction,
    method: punch.method,
    flags: punch.flags.join(' '),
    delivery: cursors.map(([upstream, cursor]) => ({ upstream, delivered: punch.seq <= cursor })),
  };
}

export function upstreamCursors(deps: WebDeps): Array<[UpstreamName, number]> {
  return deps.upstreamNames().map((n) => [n, deps.outboxCursor(n) ?? 0]);
}

/** A CSV cell: quoted when needed, and a leading =+-@ neutralised so Excel never runs it as a formula. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function registerPunchRoutes(app: WebApp, deps: WebDeps): void {
  app.get('/punches', (c) => {
    const params = readPunchParams((n) => c.req.query(n));
    const result = queryPunches(
      deps.punches.index,
      toPunchFilter(deps, params),
      params.page,
      PUNCH_PAGE_SIZE,
    );
    const cursors = upstreamCursors(deps);
    return c.html(
      <PunchesPage
        page={pageContext(c, deps.siteName)}
        params={params}
        result={result}
        rows={result.rows.map((p) => punchRowView(deps, p, cursors))}
        terminalIds={deps.punches.index.terminals.values}
        upstreams={deps.upstreamNames()}
        indexReady={deps.punches.isReady}
      />,
    );
  });

  app.get('/punches.csv', (c) => {
    const params = readPunchParams((n) => c.req.query(n));
    const rows = eachPunch(deps.punches.index, toPunchFilter(deps, params));
    const cursors = upstreamCursors(deps);
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
      ...cursors.map(([u]) => u),
    ];
    const encoder = new TextEncoder();
    // Streamed in chunks: an export of a million punches never sits in memory whole.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`\uFEFF${header.join(',')}\r\n`));
      },
      pull(controller) {
        const lines: string[] = [];
        for (let i = 0; i < CSV_CHUNK_ROWS; i++) {
          const next = rows.next();
          if (next.done) break;
          const p = next.value;
          const worker = p.workerId ? deps.roster.get(p.workerId) : undefined;
          lines.push(
            [
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
              .join(','),
          );
        }
        if (lines.length > 0) controller.enqueue(encoder.encode(`${lines.join('\r\n')}\r\n`));
        if (lines.length < CSV_CHUNK_ROWS) controller.close();
      },
    });
    const stamp = new Date().toISOString().slice(0, 10);
    return c.body(stream, 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="punches-${stamp}.csv"`,
      'Cache-Control': 'no-store',
    });
  });
}

import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import type { UpstreamName } from '../model';
import type { StoredPunch } from '../query/punch-query';
import { type PageRoutes, pageContext } from './context';
import { terminalLabel } from './dashboard-model';
import { type Lang, text } from './i18n';
import type { WebDeps } from './port';
import { readPunchParams, toPunchFilter } from './punch-params';
import { upstreamCursors } from './punch-routes';
import { formatTime } from './time-format';
import { directionName, flagName, joinWords, methodName, platformName } from './words';

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
    const rows = deps.punches.each(toPunchFilter(deps, params));
    const stamp = formatTime(Date.now(), deps.timezone).slice(0, 10);
    const { lang } = pageContext(c, deps.siteName);
    return c.body(csvStream(deps, lang, rows, upstreamCursors(deps)), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="punches-${stamp}.csv"`,
      'Cache-Control': 'no-store',
    });
  });
  return routes;
}

/** The header row: the reader's words, and one delivery column per enabled platform. */
const CSV_COLUMNS: ReadonlyArray<readonly [en: string, zh: string]> = [
  ['Seq', '序号'],
  ['Time', '时间'],
  ['Worker', '姓名'],
  ['PIN', '工号'],
  ['Sichuan platform id', '四川平台人员编号'],
  ['Direction', '方向'],
  ['Terminal', '终端'],
  ['Terminal id', '终端编号'],
  ['Method', '方式'],
  ['Flags', '标记'],
];

export function csvHeader(lang: Lang, upstreams: readonly UpstreamName[]): string[] {
  return [
    ...CSV_COLUMNS.map(([en, zh]) => (lang === 'en' ? en : zh)),
    ...upstreams.map((u) => `${platformName(lang, u)}${lang === 'en' ? ' delivery' : '上传'}`),
  ];
}

/** Streamed in chunks: an export of a million punches never sits in memory whole. */
function csvStream(
  deps: WebDeps,
  lang: Lang,
  rows: Iterator<StoredPunch>,
  cursors: ReadonlyArray<[UpstreamName, number]>,
): ReadableStream<Uint8Array> {
  const header = csvHeader(
    lang,
    cursors.map(([u]) => u),
  );
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`\uFEFF${header.map(csvCell).join(',')}\r\n`));
    },
    pull(controller) {
      const lines: string[] = [];
      for (let i = 0; i < CSV_CHUNK_ROWS; i++) {
        const next = rows.next();
        if (next.done) break;
        lines.push(csvLine(deps, lang, next.value, cursors));
      }
      if (lines.length > 0) controller.enqueue(encoder.encode(`${lines.join('\r\n')}\r\n`));
      if (lines.length < CSV_CHUNK_ROWS) controller.close();
    },
  });
}

function csvLine(
  deps: WebDeps,
  lang: Lang,
  p: StoredPunch,
  cursors: ReadonlyArray<[UpstreamName, number]>,
): string {
  const worker = p.workerId ? deps.roster.get(p.workerId) : undefined;
  return [
    String(p.seq),
    formatTime(p.atMs, deps.timezone),
    worker?.name ?? '',
    p.pin,
    worker?.identities.sichuanUserId ?? '',
    directionName(lang, p.direction),
    terminalLabel(deps, p.terminalId),
    p.terminalId,
    methodName(lang, p.method),
    joinWords(
      lang,
      p.flags.map((f) => flagName(lang, f)),
    ),
    ...cursors.map(([, cursor]) => text(lang, p.seq <= cursor ? 'delivered' : 'pending')),
  ]
    .map(csvCell)
    .join(',');
}

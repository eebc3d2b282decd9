import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import type { UpstreamName } from '../model';
import type { StoredPunch } from '../query/punch-query';
import { type PageRoutes, pageContext } from './context';
import { terminalLabel } from './dashboard-model';
import { ExportSlots } from './export-slots';
import { type Lang, text } from './i18n';
import type { WebDeps } from './port';
import { readPunchParams, toPunchFilter } from './punch-params';
import { upstreamCursors } from './punch-routes';
import { formatTime } from './time-format';
import { directionName, flagName, joinWords, methodName, platformName } from './words';

/** Rows per chunk at most, and the time a chunk may hold the event loop before it yields. */
const CSV_CHUNK_ROWS = 1000;
const CSV_CHUNK_MS = 5;
/**
 * Exports whose rows are written at once; the rest wait their turn (each has sent its header).
 * Two, so one long export does not hold up every other.
 */
const CONCURRENT_EXPORTS = 2;
/**
 * The part of the event loop's time exports take together when they have to share it: half. A
 * month is ~2 s of rows on the development box (with a 10 M history, 20 terminals and ten clients
 * busy at once, exports took 60 % of the gateway's time before this cap).
 */
const EXPORT_SHARE = 0.5;
/** Workers whose cells an export keeps (a site has a few thousand; a bound all the same). */
const WORKER_CELLS_LIMIT = 20_000;

const NEEDS_CARE = /^[=+\-@\t\r]|[",\r\n]/;

/** A CSV cell: quoted when needed, and a leading =+-@ neutralised so Excel never runs it as a formula. */
export function csvCell(value: string): string {
  // Most cells need neither: one test each, not two (an export writes millions of cells).
  if (!NEEDS_CARE.test(value)) return value;
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** `/punches.csv`: the same filter as the list, every matching punch, for Excel (UTF-8 with BOM, CRLF). */
export function punchCsvRoutes(deps: WebDeps): PageRoutes {
  const routes = new Hono<GuardEnv>();
  const slots = new ExportSlots(CONCURRENT_EXPORTS, EXPORT_SHARE);
  routes.get('/', (c) => {
    const params = readPunchParams((n) => c.req.query(n));
    const rows = deps.punches.each(toPunchFilter(deps, params));
    const stamp = formatTime(Date.now(), deps.timezone).slice(0, 10);
    const { lang } = pageContext(c, deps.siteName);
    return c.body(csvStream(deps, lang, rows, upstreamCursors(deps), slots), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="punches-${stamp}.csv"`,
      'Cache-Control': 'no-store',
      // Said outright, so the server sends the headers and the BOM at once instead of first reading
      // ahead into the stream (to find a length for a short body), which would wait for rows.
      'Transfer-Encoding': 'chunked',
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

/**
 * Streamed in chunks: an export of a million punches never sits in memory whole, and never holds
 * the event loop for long. The header (with the BOM) goes out at once, even while the export waits
 * for a slot; then each chunk is a few milliseconds of rows, after a yield to the loop, so sockets,
 * timers and terminal links run between chunks however many exports are asked for.
 */
function csvStream(
  deps: WebDeps,
  lang: Lang,
  rows: Iterator<StoredPunch>,
  cursors: ReadonlyArray<[UpstreamName, number]>,
  slots: ExportSlots,
): ReadableStream<Uint8Array> {
  const header = csvHeader(
    lang,
    cursors.map(([u]) => u),
  );
  const encoder = new TextEncoder();
  const line = csvLineWriter(deps, lang, cursors);
  let turn: Promise<() => void> | undefined;
  let release: (() => void) | undefined;
  let cancelled = false;
  const finish = () => {
    cancelled = true;
    if (release) release();
    else void turn?.then((r) => r());
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`\uFEFF${header.map(csvCell).join(',')}\r\n`));
    },
    async pull(controller) {
      turn ??= slots.acquire();
      release ??= await turn;
      await slots.chunkTurn();
      if (cancelled) return finish();
      const started = performance.now();
      const lines: string[] = [];
      let done = false;
      try {
        while (lines.length < CSV_CHUNK_ROWS) {
          const next = rows.next();
          if (next.done) {
            done = true;
            break;
          }
          lines.push(line(next.value));
          if (lines.length % 50 === 0 && performance.now() - started > CSV_CHUNK_MS) break;
        }
      } catch (error) {
        // The store went away mid-export (damaged, rebuilding): a download cut short, never a
        // file that looks whole without its rows.
        deps.logger.error({ error: (error as Error).message }, 'punch export failed');
        finish();
        controller.error(error);
        return;
      }
      if (lines.length > 0) controller.enqueue(encoder.encode(`${lines.join('\r\n')}\r\n`));
      slots.worked(performance.now() - started);
      if (done) {
        finish();
        controller.close();
      }
    },
    cancel() {
      finish();
      rows.return?.();
    },
  });
}

/**
 * Writes one punch as a CSV line. Made once per export: what repeats from row to row (a worker's
 * cells, a terminal's, the words) is worked out once, since a month is hundreds of thousands of rows.
 */
function csvLineWriter(
  deps: WebDeps,
  lang: Lang,
  cursors: ReadonlyArray<[UpstreamName, number]>,
): (p: StoredPunch) => string {
  const workers = new Map<string, readonly [name: string, platformId: string]>();
  const terminals = new Map<string, string>();
  const words = new Map<string, string>();
  const word = (key: string, say: () => string) => {
    let cell = words.get(key);
    if (cell === undefined) {
      cell = csvCell(say());
      words.set(key, cell);
    }
    return cell;
  };
  const delivered = word('delivered', () => text(lang, 'delivered'));
  const pending = word('pending', () => text(lang, 'pending'));
  return (p) => {
    // Name and platform id by worker; the PIN between them is the punch's own.
    let who = p.workerId === null ? undefined : workers.get(p.workerId);
    if (who === undefined) {
      const worker = p.workerId ? deps.roster.get(p.workerId) : undefined;
      who = [csvCell(worker?.name ?? ''), csvCell(worker?.identities.sichuanUserId ?? '')];
      if (p.workerId !== null && workers.size < WORKER_CELLS_LIMIT) workers.set(p.workerId, who);
    }
    let where = terminals.get(p.terminalId);
    if (where === undefined) {
      where = `${csvCell(terminalLabel(deps, p.terminalId))},${csvCell(p.terminalId)}`;
      terminals.set(p.terminalId, where);
    }
    const flags =
      p.flags.length === 0
        ? ''
        : word(`f:${p.flags.join()}`, () =>
            joinWords(
              lang,
              p.flags.map((f) => flagName(lang, f)),
            ),
          );
    let line = `${p.seq},${csvCell(formatTime(p.atMs, deps.timezone))},${who[0]},${csvCell(p.pin)},${who[1]},${word(
      `d:${p.direction}`,
      () => directionName(lang, p.direction),
    )},${where},${word(`m:${p.method}`, () => methodName(lang, p.method))},${flags}`;
    for (const [, cursor] of cursors) line += `,${p.seq <= cursor ? delivered : pending}`;
    return line;
  };
}

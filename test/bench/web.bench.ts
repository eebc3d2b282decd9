/**
 * The site manager's page at 10 M punches (`npm run bench -- web`, on request): the packaged x64
 * binary on the seeded three-year history of support/history-box.ts (shared with the `history`
 * benchmark; `HISTORY_BENCH_DIR` keeps it for the next run), 20 ZK terminals and both platforms
 * emulated, 10 logged-in clients at once asking for every page, report and file, parameters drawn
 * afresh each time: the dashboard, the muster list, the workers, punches, terminals and platforms
 * pages, a worker's page, the daily and monthly attendance sheets (page, JSON, print view, with and
 * without a team or employer filter) and both Excel files, streamed.
 *
 * Goals (the page's second edition): every p95 ≤ 150 ms (for a file, its first byte); the monthly
 * xlsx for the whole site (5,000 workers) complete within 3 s. No request fails, no terminal link
 * drops during the load.
 */
import { calendar } from '../../gateway/history/generator';
import type { Worker } from '../../gateway/roster/roster';
import type { Running } from '../build/packaged';
import { emitBench } from './report';
import {
  boxConfig,
  DAYS,
  MB,
  type PageRequest,
  p95Of,
  pageLoad,
  prepareHistorySite,
  residentMb,
  round1,
  startBox,
  terminalDrops,
  WORKERS,
} from './support/history-box';

const CLIENTS = 10;
const ROUNDS = 4;
const IDLE_MS = 5_000;

function requests(workers: readonly Worker[], endDay: string, pick: () => number): PageRequest[] {
  const draw = <T>(list: readonly T[]): T => list[Math.floor(pick() * list.length)]!;
  const days = calendar(endDay, DAYS);
  // Whole months of the history (not the first, which is partial), the latest ones most asked for.
  const months = [...new Set(days.map((d) => d.slice(0, 7)))].slice(1);
  const recentMonth = () => months[months.length - 1 - Math.floor(pick() * Math.min(6, months.length))]!;
  const anyMonth = () => draw(months);
  const day = () => draw(days.slice(-60));
  const teams = [...new Set(workers.map((w) => w.team).filter((t): t is string => !!t))];
  const employers = [...new Set(workers.map((w) => w.employer).filter((e): e is string => !!e))];
  const q = encodeURIComponent;
  const team = () => (teams.length > 0 ? `&team=${q(draw(teams))}` : '');
  const employer = () => (employers.length > 0 ? `&employer=${q(draw(employers))}` : '');
  return [
    { kind: 'dashboard', path: '/' },
    { kind: 'muster', path: '/muster' },
    { kind: 'api_muster', path: '/api/muster' },
    { kind: 'workers', path: '/workers' },
    { kind: 'worker_page', path: `/workers/${q(draw(workers).id)}` },
    { kind: 'punches', path: '/punches' },
    { kind: 'terminals', path: '/terminals' },
    { kind: 'upstreams', path: '/upstreams' },
    { kind: 'report_daily', path: `/reports/daily?date=${day()}` },
    { kind: 'report_month', path: `/reports/attendance?month=${recentMonth()}` },
    { kind: 'report_month_team', path: `/reports/attendance?month=${anyMonth()}${team()}` },
    { kind: 'report_month_employer', path: `/reports/attendance?month=${anyMonth()}${employer()}` },
    // Whole-site documents (a month's JSON 12 MB, a day's 1.8 MB, 4 MB of print view for 5,000
    // workers), written in the documents' lane and streamed: first byte, the whole beside it.
    { kind: 'api_report_daily', path: `/api/reports/daily?date=${day()}`, streamed: true },
    { kind: 'api_report_month', path: `/api/reports/attendance?month=${anyMonth()}`, streamed: true },
    { kind: 'report_month_print', path: `/reports/attendance/print?month=${recentMonth()}`, streamed: true },
    { kind: 'xlsx_daily', path: `/reports/daily.xlsx?date=${day()}`, streamed: true },
    { kind: 'xlsx_month', path: `/reports/attendance.xlsx?month=${anyMonth()}`, streamed: true },
  ];
}

async function main(): Promise<void> {
  const site = await prepareHistorySite('web');
  const running: Running[] = [];
  try {
    const box = await startBox(site.binary, await boxConfig(site.full, site.farm), site.workDir);
    running.push(box.gateway);
    // A data folder seeded before the attendance sheet's cache existed is filled on its first start
    // (≈ 20–60 s for three years): the load measures the box as it runs, not that one-time pass.
    await box.gateway.waitFor(/"msg":"attendance cache filled"/, 10 * 60_000);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const dropsBeforeLoad = terminalDrops(box.gateway.text);
    const load = await pageLoad(box.base, {
      clients: CLIENTS,
      rounds: ROUNDS,
      requestsFor: (pick) => requests(site.active, site.endDay, pick),
    });
    const rss = residentMb(box.gateway.child.pid!);
    await box.gateway.stop();

    const p95 = p95Of(load.times);
    const pages = Object.entries(p95).filter(([k]) => !k.endsWith('_full'));
    const monthFiles = load.bytes.xlsx_month ?? [];
    emitBench({
      bench: 'web',
      figures: {
        punches: site.full.punches,
        workers: WORKERS,
        active_workers: site.active.length,
        clients: CLIENTS,
        ...p95,
        p95_ms_worst_page: Math.max(...pages.map(([, v]) => v)),
        xlsx_month_full_slowest_ms: round1(Math.max(...(load.times.xlsx_month_full ?? [Number.NaN]))),
        xlsx_month_mb: round1(monthFiles.reduce((a, b) => a + b, 0) / Math.max(1, monthFiles.length) / MB),
        requests_failed: load.failed,
        connections_dropped: load.resets,
        terminal_link_drops_during_load: terminalDrops(box.gateway.text) - dropsBeforeLoad,
        rss_mb_after_load: rss,
      },
      goals: [
        ...pages.map(([figure]) => ({
          figure,
          op: '<=' as const,
          target: 150,
          source: 'the page, second edition',
        })),
        { figure: 'p95_ms_xlsx_month_full', op: '<=', target: 3000, source: 'the page, second edition' },
        { figure: 'requests_failed', op: '<=', target: 0, source: 'every request answered' },
        { figure: 'terminal_link_drops_during_load', op: '<=', target: 0, source: 'terminals stay up' },
      ],
    });
  } catch (error) {
    for (const gateway of running) process.stderr.write(`gateway output:\n${gateway.text.slice(-6000)}\n`);
    throw error;
  } finally {
    for (const gateway of running) await gateway.stop().catch(() => undefined);
    await site.close();
  }
}

await main();

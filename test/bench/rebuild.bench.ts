/**
 * `npm run bench -- rebuild`: the query store rebuilt from the journal on a start with no store,
 * and the page read from it meanwhile and after. (The page at 10 M punches, with the reports, is the
 * `web` benchmark on the seeded history.)
 * The page with 5,000 workers and 1,000,000 journaled punches, read from the query store (SQLite):
 * the store built from the journal at start (rebuild time, /healthz latency meanwhile, bytes per
 * punch), then server response times of the dashboard, the punch list (first page, unfiltered and
 * filtered), a worker's history and a month's CSV, median and p95, measured over real HTTP against
 * a started gateway. Goals: p95 ≤ 150 ms (issue 7); /healthz within 1 s while the store builds.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { hashPassword } from '../../gateway/http/password';
import type { PunchDraft } from '../../gateway/model';
import { PunchJournal } from '../../gateway/store/journal';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { emitBench, peakRssMb } from './report';

const WORKERS = 5000;
const PUNCHES = Number(process.env.WEB_BENCH_PUNCHES ?? 1_000_000);
const BATCH = 20_000;
const DAYS = 100;
const RUNS = 40;
const DAY_MS = 86_400_000;
const PASSWORD = 'bench-password';

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Two punches a worker a day (in 8–10 h Shanghai time, out 10 h later), spread over 100 days to now. */
function batchOf(start: number, now: number): PunchDraft[] {
  const drafts: PunchDraft[] = [];
  const end = Math.min(PUNCHES, start + BATCH);
  for (let i = start; i < end; i++) {
    const dayBack = DAYS - 1 - Math.floor((i / PUNCHES) * DAYS);
    const worker = i % WORKERS;
    const out = Math.floor(i / WORKERS) % 2 === 1;
    const atMs = Math.min(
      now - 1000,
      now - dayBack * DAY_MS - ((now % DAY_MS) - (out ? 10 : 0) * 3_600_000) + (i % 7200) * 1000,
    );
    drafts.push({
      key: `t${worker % 8}|${worker + 1}|${Math.floor(atMs / 1000)}|${i}`,
      terminalId: `gate-${worker % 8}`,
      pin: String(worker + 1),
      workerId: `w${worker}`,
      direction: out ? 'out' : 'in',
      method: 'fa',
      atMs,
      source: 'poll',
      flags: [],
      receivedMs: atMs + 500,
    });
  }
  return drafts;
}

async function timeGet(url: string, cookie: string): Promise<{ median: number; p95: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    const response = await fetch(url, { headers: { cookie } });
    const body = await response.arrayBuffer();
    const ms = performance.now() - t0;
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    bytes = body.byteLength;
    if (i >= 3) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return {
    median: Math.round(percentile(times, 50) * 10) / 10,
    p95: Math.round(percentile(times, 95) * 10) / 10,
    bytes,
  };
}

async function main(): Promise<void> {
  const tmp = await tempDir('edge-gw-web-bench-');
  const dataDir = join(tmp.dir, 'data');
  const now = Date.now();
  const logger = testLogger('web-bench');
  try {
    const journal = new PunchJournal({
      dir: join(dataDir, 'journal'),
      segmentMaxBytes: 64 * 1024 * 1024,
      retentionDays: 365,
      clock: { now: () => now },
      logger,
    });
    await journal.open();
    const tFill = performance.now();
    for (let start = 0; start < PUNCHES; start += BATCH) await journal.append(batchOf(start, now));
    await journal.close();
    const fillSeconds = (performance.now() - tFill) / 1000;

    const result = validateConfig({
      site: { name: 'bench', timezone: 'Asia/Shanghai' },
      dataDir,
      http: { host: '127.0.0.1', port: 0, adminPasswordHash: await hashPassword(PASSWORD) },
    });
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const gateway = new Gateway(result.config, logger, { httpPort: 0 });
    const tStart = performance.now();
    await gateway.start();
    const startSeconds = (performance.now() - tStart) / 1000;
    await gateway.workers.apply(
      Array.from({ length: WORKERS }, (_, i) => ({
        source: 'local' as const,
        op: 'upsert' as const,
        identity: { gatewayId: `w${i}`, sichuanUserId: `SC-${i}` },
        name: `工人${i}`,
      })),
    );
    const base = `http://127.0.0.1:${gateway.httpPort}`;
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
      body: `password=${PASSWORD}`,
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    if (!cookie.startsWith('eg_session=')) throw new Error(`login failed: ${login.status}`);

    // The store is built from the journal in the background after start: /healthz is timed meanwhile.
    const tIndex = performance.now();
    let healthzSlowestMs = 0;
    for (;;) {
      const h0 = performance.now();
      await (await fetch(`${base}/healthz`)).arrayBuffer();
      healthzSlowestMs = Math.max(healthzSlowestMs, performance.now() - h0);
      const api = (await (await fetch(`${base}/api/dashboard`, { headers: { cookie } })).json()) as {
        indexReady: boolean;
      };
      if (api.indexReady) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const indexWaitSeconds = (performance.now() - tIndex) / 1000;
    const storeBytes = statSync(join(dataDir, 'punches.sqlite')).size;
    const rssWithStore = Math.round(process.memoryUsage().rss / 1048576);

    const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(now);
    const weekAgo = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(now - 7 * DAY_MS);
    const dashboardPage = await timeGet(`${base}/`, cookie);
    const dashboardApi = await timeGet(`${base}/api/dashboard`, cookie);
    const punchFirst = await timeGet(`${base}/punches`, cookie);
    const punchFiltered = await timeGet(
      `${base}/punches?from=${weekAgo}&to=${today}&terminal=gate-3&direction=in`,
      cookie,
    );
    const punchWorker = await timeGet(`${base}/punches?worker=${encodeURIComponent('工人4321')}`, cookie);
    const workerHistory = await timeGet(`${base}/api/punches?worker=SC-4321&pageSize=1000`, cookie);
    const workerPage = await timeGet(`${base}/workers/w4321`, cookie);
    const monthAgo = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(
      now - 30 * DAY_MS,
    );
    const c0 = performance.now();
    const csv = await fetch(`${base}/punches.csv?from=${monthAgo}&to=${today}`, { headers: { cookie } });
    const csvBytes = (await csv.arrayBuffer()).byteLength;
    const csvMonthSeconds = (performance.now() - c0) / 1000;
    const rssAfterQueries = Math.round(process.memoryUsage().rss / 1048576);
    await gateway.stop();

    const p95Worst = Math.max(
      dashboardPage.p95,
      dashboardApi.p95,
      punchFirst.p95,
      punchFiltered.p95,
      punchWorker.p95,
      workerHistory.p95,
      workerPage.p95,
    );
    emitBench({
      bench: 'rebuild',
      figures: {
        workers: WORKERS,
        punches: PUNCHES,
        journalFillSeconds: Math.round(fillSeconds * 10) / 10,
        gatewayStartSeconds: Math.round(startSeconds * 10) / 10,
        storeRebuildSeconds: Math.round(indexWaitSeconds * 10) / 10,
        storeRebuildSecondsPerMillion: Math.round((indexWaitSeconds / PUNCHES) * 1e7) / 10,
        storeBytesPerPunch: Math.round((storeBytes / PUNCHES) * 10) / 10,
        healthzSlowestDuringRebuildMs: Math.round(healthzSlowestMs),
        rssWithStoreMb: rssWithStore,
        rssAfterQueriesMb: rssAfterQueries,
        dashboardMedianMs: dashboardPage.median,
        dashboardP95Ms: dashboardPage.p95,
        dashboardApiMedianMs: dashboardApi.median,
        dashboardApiP95Ms: dashboardApi.p95,
        punchesFirstPageMedianMs: punchFirst.median,
        punchesFirstPageP95Ms: punchFirst.p95,
        punchesFilteredMedianMs: punchFiltered.median,
        punchesFilteredP95Ms: punchFiltered.p95,
        punchesByWorkerMedianMs: punchWorker.median,
        punchesByWorkerP95Ms: punchWorker.p95,
        workerHistoryMedianMs: workerHistory.median,
        workerHistoryP95Ms: workerHistory.p95,
        workerPageP95Ms: workerPage.p95,
        csvMonthSeconds: Math.round(csvMonthSeconds * 10) / 10,
        csvMonthBytes: csvBytes,
        worstP95Ms: p95Worst,
        peakRssMb: peakRssMb(),
      },
      goals: [
        { figure: 'dashboardP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'dashboardApiP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'punchesFirstPageP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'punchesFilteredP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'punchesByWorkerP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'workerHistoryP95Ms', op: '<=', target: 150, source: 'issue "Years on a small box"' },
        {
          figure: 'healthzSlowestDuringRebuildMs',
          op: '<=',
          target: 1000,
          source: 'issue "Years on a small box"',
        },
      ],
    });
  } finally {
    await tmp.cleanup();
  }
}

await main();

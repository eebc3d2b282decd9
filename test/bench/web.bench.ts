/**
 * The page with 5,000 workers and 1,000,000 journaled punches: server response times of the
 * dashboard and the punch list (first page, unfiltered and filtered), median and p95, measured
 * over real HTTP against a started gateway. Goal (issue 7): p95 ≤ 150 ms.
 */
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

    // The index builds in the background after start; wait for it before timing pages.
    const tIndex = performance.now();
    for (;;) {
      const api = (await (await fetch(`${base}/api/dashboard`, { headers: { cookie } })).json()) as {
        indexReady: boolean;
      };
      if (api.indexReady) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const indexWaitSeconds = (performance.now() - tIndex) / 1000;
    const rssWithIndex = Math.round(process.memoryUsage().rss / 1048576);

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
    await gateway.stop();

    const p95Worst = Math.max(
      dashboardPage.p95,
      dashboardApi.p95,
      punchFirst.p95,
      punchFiltered.p95,
      punchWorker.p95,
    );
    emitBench({
      bench: 'web',
      figures: {
        workers: WORKERS,
        punches: PUNCHES,
        journalFillSeconds: Math.round(fillSeconds * 10) / 10,
        gatewayStartSeconds: Math.round(startSeconds * 10) / 10,
        indexReadyAfterStartSeconds: Math.round(indexWaitSeconds * 10) / 10,
        rssWithIndexMb: rssWithIndex,
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
        worstP95Ms: p95Worst,
        peakRssMb: peakRssMb(),
      },
      goals: [
        { figure: 'dashboardP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'dashboardApiP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'punchesFirstPageP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'punchesFilteredP95Ms', op: '<=', target: 150, source: 'issue 7' },
        { figure: 'punchesByWorkerP95Ms', op: '<=', target: 150, source: 'issue 7' },
      ],
    });
  } finally {
    await tmp.cleanup();
  }
}

await main();

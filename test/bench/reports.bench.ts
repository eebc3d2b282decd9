/**
 * The attendance sheet (issue 18) for 5,000 workers and a month: ≈ 300,000 journaled punches (two a
 * worker a day, a night shift and a forgotten exit now and then, over the last full month and a
 * week either side), read over real HTTP from a started gateway: the monthly .xlsx (first download,
 * which loads exceljs, and warm), the monthly page, its JSON, and the daily page; with the longest
 * event-loop stall while the xlsx is written (ZK links share the loop). Goal: the monthly xlsx for
 * 5,000 workers ≤ 3 s (issue 18).
 */

import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DateTime } from 'luxon';
import pino from 'pino';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { hashPassword } from '../../gateway/http/password';
import type { PunchDraft } from '../../gateway/model';
import { PunchJournal } from '../../gateway/store/journal';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { emitBench, peakRssMb } from './report';

const WORKERS = Number(process.env.REPORT_BENCH_WORKERS ?? 5000);
const ZONE = 'Asia/Shanghai';
const PASSWORD = 'bench-password';
const TEAMS = ['钢筋班', '木工班', '混凝土班', '架子工班', '水电班', '抹灰班', '杂工班'];
const EMPLOYERS = ['蓉兴建筑劳务有限公司', '川安劳务有限公司', '锦城劳务分包有限公司'];

/** Every worker's punches of one day: 08:xx in, 17:xx out; every 13th worker a night shift, every 17th forgets to clock out. */
function dayOf(date: DateTime, seq: { n: number }): PunchDraft[] {
  const drafts: PunchDraft[] = [];
  for (let w = 0; w < WORKERS; w++) {
    const night = (w + date.day) % 13 === 0;
    const inAt = date.set({ hour: night ? 20 : 8, minute: w % 50 }).toMillis();
    const outAt = night ? inAt + 9 * 3_600_000 : date.set({ hour: 17, minute: (w * 7) % 60 }).toMillis();
    const forgot = (w + date.day) % 17 === 0;
    for (const [atMs, direction] of [[inAt, 'in'], ...(forgot ? [] : [[outAt, 'out']])] as Array<
      [number, 'in' | 'out']
    >) {
      drafts.push({
        key: `b|${w}|${atMs}|${seq.n++}`,
        terminalId: `gate-${w % 4}`,
        pin: String(w + 1),
        workerId: `w${w}`,
        direction,
        method: 'fa',
        atMs,
        source: 'poll',
        flags: [],
        receivedMs: atMs + 500,
      });
    }
  }
  return drafts;
}

async function timed(url: string, cookie: string): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  const response = await fetch(url, { headers: { cookie } });
  const body = await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return { seconds: Math.round((performance.now() - t0) / 10) / 100, bytes: body.byteLength };
}

async function main(): Promise<void> {
  const tmp = await tempDir('edge-gw-report-bench-');
  const dataDir = join(tmp.dir, 'data');
  const logger = testLogger('report-bench');
  // The gateway's own log, read for the one line that says the attendance cache holds every day.
  let cacheFilled = false;
  const gatewayLogger = pino(
    { name: 'report-bench', level: 'info' },
    {
      write(line: string) {
        if (line.includes('"msg":"attendance cache filled"')) cacheFilled = true;
      },
    },
  );
  const month = DateTime.now().setZone(ZONE).startOf('month').minus({ months: 1 });
  const now = Date.now();
  try {
    const journal = new PunchJournal({
      dir: join(dataDir, 'journal'),
      segmentMaxBytes: 64 * 1024 * 1024,
      retentionDays: 365,
      clock: { now: () => now },
      logger,
    });
    await journal.open();
    const seq = { n: 0 };
    let punches = 0;
    let monthPunches = 0;
    for (let d = month.minus({ days: 7 }); d < month.plus({ months: 1, days: 7 }); d = d.plus({ days: 1 })) {
      const drafts = dayOf(d, seq);
      punches += drafts.length;
      if (d.month === month.month) monthPunches += drafts.length;
      await journal.append(drafts);
    }
    await journal.close();

    const result = validateConfig({
      site: { name: '基准工地', timezone: ZONE },
      dataDir,
      http: { host: '127.0.0.1', port: 0, adminPasswordHash: await hashPassword(PASSWORD) },
    });
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const gateway = new Gateway(result.config, gatewayLogger, { httpPort: 0 });
    await gateway.start();
    await gateway.workers.apply(
      Array.from({ length: WORKERS }, (_, i) => ({
        source: 'local' as const,
        op: 'upsert' as const,
        identity: { gatewayId: `w${i}`, idCardNo: `510104199${String(i).padStart(8, '0')}X`.slice(0, 18) },
        name: `工人${i}`,
        team: TEAMS[i % TEAMS.length],
        employer: EMPLOYERS[i % EMPLOYERS.length],
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
    for (;;) {
      const api = (await (await fetch(`${base}/api/dashboard`, { headers: { cookie } })).json()) as {
        indexReady: boolean;
      };
      if (api.indexReady) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const fillStarted = performance.now();
    while (!cacheFilled) await new Promise((r) => setTimeout(r, 100));
    const cacheFillSeconds = Math.round((performance.now() - fillStarted) / 100) / 10;

    const m = month.toFormat('yyyy-MM');
    // The first sheet of the process (collation data, first queries), then the first file (exceljs loads).
    const stallPage = monitorEventLoopDelay({ resolution: 5 });
    stallPage.enable();
    const pageFirst = await timed(`${base}/reports/attendance?month=${m}`, cookie);
    stallPage.disable();
    const stallFirst = monitorEventLoopDelay({ resolution: 5 });
    stallFirst.enable();
    const xlsxFirst = await timed(`${base}/reports/attendance.xlsx?month=${m}`, cookie);
    stallFirst.disable();
    const stall = monitorEventLoopDelay({ resolution: 5 });
    stall.enable();
    const xlsxWarm = await timed(`${base}/reports/attendance.xlsx?month=${m}`, cookie);
    stall.disable();
    const page = await timed(`${base}/reports/attendance?month=${m}`, cookie);
    const lastPage = await timed(
      `${base}/reports/attendance?month=${m}&page=${Math.ceil(WORKERS / 200)}`,
      cookie,
    );
    const json = await timed(`${base}/api/reports/attendance?month=${m}`, cookie);
    const teamPage = await timed(
      `${base}/reports/attendance?month=${m}&team=${encodeURIComponent(TEAMS[0]!)}`,
      cookie,
    );
    const daily = await timed(`${base}/reports/daily?date=${month.plus({ days: 14 }).toISODate()}`, cookie);
    const dailyXlsx = await timed(
      `${base}/reports/daily.xlsx?date=${month.plus({ days: 14 }).toISODate()}`,
      cookie,
    );
    const rss = Math.round(process.memoryUsage().rss / 1048576);
    await gateway.stop();
    emitBench({
      bench: 'reports',
      figures: {
        workers: WORKERS,
        punchesJournaled: punches,
        punchesInMonth: monthPunches,
        monthlyXlsxFirstSeconds: xlsxFirst.seconds,
        monthlyXlsxSeconds: xlsxWarm.seconds,
        monthlyXlsxBytes: xlsxWarm.bytes,
        monthlyPageFirstSeconds: pageFirst.seconds,
        longestLoopStallFirstPageMs: Math.round(stallPage.max / 1e6),
        longestLoopStallFirstXlsxMs: Math.round(stallFirst.max / 1e6),
        longestLoopStallDuringXlsxMs: Math.round(stall.max / 1e6),
        cacheFillSeconds,
        monthlyPageSeconds: page.seconds,
        monthlyLastPageSeconds: lastPage.seconds,
        monthlyPageBytes: page.bytes,
        monthlyJsonSeconds: json.seconds,
        monthlyOneTeamPageSeconds: teamPage.seconds,
        dailyPageSeconds: daily.seconds,
        dailyXlsxSeconds: dailyXlsx.seconds,
        rssAfterMb: rss,
        loadAverage: Math.round(loadavg()[0]! * 10) / 10,
        peakRssMb: peakRssMb(),
      },
      goals: [
        { figure: 'monthlyXlsxFirstSeconds', op: '<=', target: 3, source: 'issue 18' },
        { figure: 'monthlyXlsxSeconds', op: '<=', target: 3, source: 'issue 18' },
      ],
    });
  } finally {
    await tmp.cleanup();
  }
}

await main();

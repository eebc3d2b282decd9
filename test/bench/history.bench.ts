/**
 * Years on a small box (`npm run bench -- history`): the packaged x64 binary on a data folder that
 * `edge-gateway seed-history` (the same binary) filled with 10,000,000 punches over three years, 5,000
 * workers and 20 ZK terminals, beside the same box with an empty history (the same roster and
 * terminals, no punches). The terminals (already holding the roster) and both platforms run as
 * emulators in a child process (support/history-farm.ts), so the gateway's figures are its own.
 *
 * Figures: seeding time; time to ready (/healthz answers and every terminal polled once); idle
 * resident memory of both boxes (VmRSS after 10 s idle); p95 of every page and API with 10
 * logged-in clients at once (dashboard, the punch list unfiltered and with each filter, worker
 * search by name, ID number and PIN, a worker's whole history, one month's CSV export, streamed:
 * its time to the first byte is what the goal applies to, the full download is reported beside);
 * journal and store bytes per punch; the store's rebuild time per million punches.
 *
 * `HISTORY_BENCH_PUNCHES` (default 10,000,000) sizes the history, e.g. 1000000 while developing;
 * `HISTORY_BENCH_DIR` keeps the seeded folders and reuses them on the next run (then the boxes start
 * on folders they have run on before, and the seeding figures are those of the first run).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBinaries, ROOT } from '../../build/build';
import { EventBus } from '../../gateway/events';
import { calendar } from '../../gateway/history/generator';
import { hashPassword } from '../../gateway/http/password';
import { toTerminalUser } from '../../gateway/roster/reconcile-plan';
import { Roster, type Worker } from '../../gateway/roster/roster';
import { BlobStore } from '../../gateway/store/blobs';
import { GATEWAY_STARTED, Running, run } from '../build/packaged';
import { HEALTH_HEADERS, HEALTH_TOKEN } from '../support/health';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { emitBench } from './report';
import { FARM_DELI, FARM_SICHUAN } from './support/history-platforms';

const PUNCHES = Number(process.env.HISTORY_BENCH_PUNCHES ?? 10_000_000);
const WORKERS = 5000;
const DAYS = 1095;
const TERMINALS = 20;
const ZONE = 'Asia/Shanghai';
const CLIENTS = 10;
const ROUNDS = 6;
/** Month exports per client: each is a month of the site's punches (~270,000 rows at 10 M in 3 years). */
const CSV_PER_CLIENT = 2;
const IDLE_MS = 10_000;
const PASSWORD = 'bench-history-password';
const MB = 1024 * 1024;

interface SeedReport {
  readonly punches: number;
  readonly lastSeq: number;
  readonly segments: number;
  readonly journalBytes: number;
  readonly configFile: string;
  readonly store: { readonly punches: number; readonly bytes: number };
  readonly seconds: {
    readonly roster: number;
    readonly journal: number;
    readonly store: number;
    readonly total: number;
  };
}

interface Health {
  readonly terminals: ReadonlyArray<{
    readonly id: string;
    readonly online: boolean;
    readonly lastCatchUpAt?: number;
  }>;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** `--per-day` is the mean over the calendar: the generator spreads it over open days by their weight. */
const PER_DAY = Math.ceil(PUNCHES / DAYS);

async function seed(
  binary: string,
  dataDir: string,
  days: number,
  endDay: string,
  cwd: string,
): Promise<SeedReport> {
  const started = performance.now();
  const result = await run(
    binary,
    [
      'seed-history',
      '--data-dir',
      dataDir,
      '--workers',
      String(WORKERS),
      '--days',
      String(days),
      '--per-day',
      String(PER_DAY),
      '--end',
      endDay,
      '--timezone',
      ZONE,
      '--terminals',
      String(TERMINALS),
    ],
    { cwd, timeoutMs: 60 * 60_000 },
  );
  if (result.code !== 0) throw new Error(`seed-history exited ${result.code}:\n${result.stderr}`);
  const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as SeedReport;
  process.stderr.write(
    `seeded ${report.punches} punches in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  return report;
}

async function rosterOf(dataDir: string): Promise<readonly Worker[]> {
  const roster = new Roster({
    file: join(dataDir, 'roster.json'),
    blobs: new BlobStore(join(dataDir, 'blobs')),
    bus: new EventBus(),
    clock: { now: () => Date.now() },
    logger: testLogger(),
  });
  await roster.open();
  return roster.list();
}

interface Farm {
  readonly child: ChildProcess;
  readonly ports: readonly number[];
  readonly sichuanUrl: string;
  readonly brokerUrl: string;
}

async function startFarm(usersFile: string): Promise<Farm> {
  const child = fork(
    join(ROOT, 'test', 'bench', 'support', 'history-farm.ts'),
    [usersFile, String(TERMINALS), ZONE],
    {
      execArgv: ['--import', 'tsx'],
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const ready = await new Promise<{ ports: number[]; sichuanUrl: string; brokerUrl: string }>(
    (resolve, reject) => {
      child.once('message', (m) => resolve(m as { ports: number[]; sichuanUrl: string; brokerUrl: string }));
      child.once('exit', (code) => reject(new Error(`farm exited ${code}`)));
    },
  );
  return { child, ...ready };
}

/** The seeded configuration with the farm's ports, both platforms, a password, a token and a free HTTP port. */
async function boxConfig(report: SeedReport, farm: Farm): Promise<string> {
  const document = JSON.parse(readFileSync(report.configFile, 'utf8')) as Record<string, unknown> & {
    terminals: Array<{ port: number }>;
  };
  document.terminals.forEach((t, i) => {
    t.port = farm.ports[i]!;
  });
  document.http = {
    host: '127.0.0.1',
    port: 0,
    adminPasswordHash: await hashPassword(PASSWORD),
    metricsToken: HEALTH_TOKEN,
  };
  document.adms = { host: '127.0.0.1', port: 0 };
  document.log = { level: 'info' };
  document.upstreams = {
    sichuan: { enabled: true, baseUrl: farm.sichuanUrl, ...FARM_SICHUAN },
    deli: { enabled: true, brokerUrl: farm.brokerUrl, ...FARM_DELI },
  };
  const file = `${report.configFile}.bench.json`;
  writeFileSync(file, JSON.stringify(document, null, 2));
  return file;
}

interface Started {
  readonly gateway: Running;
  readonly base: string;
  readonly healthzMs: number;
  readonly readyMs: number;
}

/** Starts the box; ready once /healthz answers and every terminal has been polled once. */
async function startBox(binary: string, configFile: string, cwd: string): Promise<Started> {
  const started = performance.now();
  const gateway = new Running(binary, ['start', '--config', configFile], cwd);
  const address = (await gateway.waitFor(GATEWAY_STARTED, 120_000))[1]!;
  const base = `http://${address}`;
  let healthzMs: number | undefined;
  for (;;) {
    const response = await fetch(`${base}/healthz`, { headers: HEALTH_HEADERS }).catch(() => undefined);
    if (response?.ok) {
      healthzMs ??= performance.now() - started;
      const health = (await response.json()) as Health;
      if (
        health.terminals.length === TERMINALS &&
        health.terminals.every((t) => t.lastCatchUpAt !== undefined)
      )
        break;
    }
    if (performance.now() - started > 300_000) throw new Error('the box was not ready within 5 minutes');
    await new Promise((r) => setTimeout(r, 10));
  }
  return { gateway, base, healthzMs: healthzMs!, readyMs: performance.now() - started };
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return round1(Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024);
}

async function login(base: string): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: `password=${PASSWORD}`,
  });
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
  if (!cookie.startsWith('eg_session=')) throw new Error(`login failed: HTTP ${response.status}`);
  return cookie;
}

type Request = { readonly kind: string; readonly path: string };

/** The page's reads, each with parameters drawn afresh so no answer comes from a warm repeat. */
function requests(workers: readonly Worker[], endDay: string, pick: () => number): Request[] {
  const worker = () => workers[Math.floor(pick() * workers.length)]!;
  const days = calendar(endDay, DAYS);
  const day = () => days[Math.floor(pick() * days.length)]!;
  const week = () => {
    const from = day();
    const to = new Date(Date.parse(`${from}T00:00:00Z`) + 6 * 86_400_000).toISOString().slice(0, 10);
    return `from=${from}&to=${to}`;
  };
  const terminal = () =>
    `gate-${String(1 + Math.floor(pick() * (TERMINALS / 2))).padStart(2, '0')}-${pick() < 0.5 ? 'in' : 'out'}`;
  const q = encodeURIComponent;
  return [
    { kind: 'dashboard', path: '/' },
    { kind: 'api_dashboard', path: '/api/dashboard' },
    { kind: 'punches', path: '/punches' },
    { kind: 'punches_page_20', path: '/punches?page=20' },
    { kind: 'punches_dates', path: `/punches?${week()}` },
    { kind: 'punches_worker', path: `/punches?worker=${q(worker().name)}` },
    { kind: 'punches_terminal', path: `/punches?terminal=${terminal()}` },
    { kind: 'punches_direction', path: `/punches?direction=${pick() < 0.5 ? 'in' : 'out'}` },
    { kind: 'punches_delivery', path: `/punches?delivery=${pick() < 0.5 ? 'sichuan' : 'deli'}:delivered` },
    {
      kind: 'punches_all_filters',
      path: `/punches?${week()}&terminal=${terminal()}&direction=in&worker=${q(worker().pin)}&delivery=sichuan:delivered`,
    },
    { kind: 'workers_by_name', path: `/workers?q=${q(worker().name)}` },
    { kind: 'workers_by_id_number', path: `/workers?q=${q(worker().identities.idCardNo ?? '')}` },
    { kind: 'workers_by_pin', path: `/workers?q=${q(worker().pin)}` },
    { kind: 'worker_page', path: `/workers/${q(worker().id)}` },
    {
      kind: 'worker_history_api',
      path: `/api/punches?worker=${q(worker().identities.idCardNo ?? worker().pin)}&pageSize=1000`,
    },
    { kind: 'api_punches', path: `/api/punches?${week()}&pageSize=200` },
  ];
}

/**
 * A GET read to the end; undefined when the box dropped the connection. A keep-alive connection the
 * box closes just as the next request goes out (its event loop held past the server's keep-alive
 * timeout) is tried once more on a new one, as a browser does; the time counts from the first try.
 */
async function get(url: string, cookie: string, onReset: () => void): Promise<number | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const response = await fetch(url, { headers: { cookie } });
      await response.arrayBuffer();
      return response.status;
    } catch {
      onReset();
    }
  }
  return undefined;
}

/** A month's CSV, streamed: time to the first byte and to the last, and its size. */
async function csvMonth(
  base: string,
  cookie: string,
  month: string,
): Promise<{ ttfb: number; full: number; bytes: number }> {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(year, mon, 0)).getUTCDate();
  const started = performance.now();
  const response = await fetch(
    `${base}/punches.csv?from=${month}-01&to=${month}-${String(last).padStart(2, '0')}`,
    { headers: { cookie } },
  );
  if (response.status !== 200) throw new Error(`CSV answered ${response.status}`);
  const reader = response.body!.getReader();
  let ttfb: number | undefined;
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    ttfb ??= performance.now() - started;
    bytes += value.byteLength;
  }
  return { ttfb: ttfb ?? performance.now() - started, full: performance.now() - started, bytes };
}

interface PageLoad {
  /** Milliseconds per kind of request, for those answered 200. */
  readonly times: Record<string, number[]>;
  readonly csvBytes: number[];
  /** Connections the box dropped (each retried once). */
  readonly resets: number;
  /** Requests that got no answer even on a new connection, or not a 200. */
  readonly failed: number;
}

async function pageLoad(base: string, workers: readonly Worker[], endDay: string): Promise<PageLoad> {
  const cookies: string[] = [];
  for (let i = 0; i < CLIENTS; i++) cookies.push(await login(base));
  const times: Record<string, number[]> = {};
  const note = (kind: string, ms: number) => {
    times[kind] ??= [];
    times[kind].push(ms);
  };
  const csvBytes: number[] = [];
  const resets: string[] = [];
  const failed: string[] = [];
  // A reproducible draw per client, so two runs ask the same questions.
  const randomFor = (client: number) => {
    let state = 0x9e3779b9 ^ (client * 0x85ebca6b);
    return () => {
      state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return state / 4294967296;
    };
  };
  const months = [...new Set(calendar(endDay, DAYS).map((d) => d.slice(0, 7)))].slice(1, -1);
  await Promise.all(
    cookies.map(async (cookie, client) => {
      const pick = randomFor(client);
      for (let r = 0; r < ROUNDS; r++) {
        const list = requests(workers, endDay, pick).sort(() => pick() - 0.5);
        for (const { kind, path } of list) {
          const started = performance.now();
          const status = await get(`${base}${path}`, cookie, () => resets.push(kind));
          if (status === 200) note(kind, performance.now() - started);
          else failed.push(`${kind} (${status ?? 'no answer'})`);
        }
        if (r % Math.ceil(ROUNDS / CSV_PER_CLIENT) === 0) {
          const month = months[Math.floor(pick() * months.length)]!;
          try {
            const csv = await csvMonth(base, cookie, month);
            note('csv_month_ttfb', csv.ttfb);
            note('csv_month_full', csv.full);
            csvBytes.push(csv.bytes);
          } catch (error) {
            failed.push(`csv_month (${(error as Error).message})`);
          }
        }
      }
    }),
  );
  if (resets.length > 0) process.stderr.write(`connections dropped by the box: ${resets.join(', ')}\n`);
  if (failed.length > 0) process.stderr.write(`requests failed: ${failed.join(', ')}\n`);
  return { times, csvBytes, resets: resets.length, failed: failed.length };
}

/** How many times the box's log says a terminal link dropped or could not be reached. */
function terminalDrops(output: string): number {
  return (output.match(/"msg":"(zk terminal link dropped|terminal unavailable; will reconnect)"/g) ?? [])
    .length;
}

function filesUnder(dir: string): Array<{ path: string; bytes: number }> {
  const out: Array<{ path: string; bytes: number }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, bytes: statSync(path).size });
  }
  return out;
}

/** The query store's files: SQLite databases and their WAL beside them, wherever the store keeps them. */
function storeBytes(dataDir: string): number {
  return filesUnder(dataDir)
    .filter((f) => /\.(sqlite3?|db)(-wal|-shm)?$/.test(f.path))
    .reduce((sum, f) => sum + f.bytes, 0);
}

function journalBytes(dataDir: string): number {
  return filesUnder(join(dataDir, 'journal'))
    .filter((f) => f.path.endsWith('.jsonl'))
    .reduce((sum, f) => sum + f.bytes, 0);
}

async function main(): Promise<void> {
  const dist = join(ROOT, '.tmp', 'bench-history-dist');
  await buildBinaries({ arches: ['x64'], outDir: dist, log: () => undefined });
  // HISTORY_BENCH_DIR keeps the seeded folders (and reuses them on the next run: no seeding then).
  const kept = process.env.HISTORY_BENCH_DIR;
  if (kept) mkdirSync(kept, { recursive: true });
  const work = kept ? { dir: kept, cleanup: async () => undefined } : await tempDir('edge-gw-bench-history-');
  let farm: Farm | undefined;
  const running: Running[] = [];
  try {
    // The box runs the installed copy, as build/install.sh installs it (docs/packaging.md).
    const binary = join(work.dir, 'opt', 'edge-gateway');
    execFileSync('install', ['-D', '-m', '0755', join(dist, 'edge-gateway-linux-x64'), binary]);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const fullDir = join(work.dir, 'full');
    const emptyDir = join(work.dir, 'empty');
    const seeded = async (dataDir: string, days: number): Promise<SeedReport> => {
      const file = `${dataDir}.seed.json`;
      if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SeedReport;
      const report = await seed(binary, dataDir, days, yesterday, work.dir);
      writeFileSync(file, JSON.stringify(report));
      return report;
    };
    const full = await seeded(fullDir, DAYS);
    const empty = await seeded(emptyDir, 0);
    const journalBeforeStart = full.journalBytes;

    const workers = await rosterOf(fullDir);
    const active = workers.filter((w) => w.status === 'active');
    const usersFile = join(work.dir, 'terminal-users.json');
    writeFileSync(usersFile, JSON.stringify(active.map(toTerminalUser)));
    farm = await startFarm(usersFile);

    const emptyConfig = await boxConfig(empty, farm);
    const emptyBox = await startBox(binary, emptyConfig, work.dir);
    running.push(emptyBox.gateway);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const emptyRss = residentMb(emptyBox.gateway.child.pid!);
    await emptyBox.gateway.stop();

    const fullConfig = await boxConfig(full, farm);
    const box = await startBox(binary, fullConfig, work.dir);
    running.push(box.gateway);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const fullRss = residentMb(box.gateway.child.pid!);
    const dropsBeforeLoad = terminalDrops(box.gateway.text);
    const load = await pageLoad(box.base, active, yesterday);
    const afterLoadRss = residentMb(box.gateway.child.pid!);
    await box.gateway.stop();

    const p95: Record<string, number> = {};
    for (const [kind, list] of Object.entries(load.times)) {
      p95[`p95_ms_${kind}`] = round1(
        percentile(
          [...list].sort((a, b) => a - b),
          95,
        ),
      );
    }
    const pages = Object.entries(p95).filter(([k]) => k !== 'p95_ms_csv_month_full');
    const store = storeBytes(fullDir);
    const figures: Record<string, number | string> = {
      punches: full.punches,
      workers: WORKERS,
      terminals: TERMINALS,
      days: DAYS,
      seed_seconds: full.seconds.total,
      seed_journal_seconds: full.seconds.journal,
      seed_punches_per_second: Math.round(full.punches / full.seconds.journal),
      store_rebuild_seconds_per_million: round1(full.seconds.store / (full.store.punches / 1e6)),
      healthz_ms: Math.round(box.healthzMs),
      ready_ms: Math.round(box.readyMs),
      ready_ms_empty_history: Math.round(emptyBox.readyMs),
      idle_rss_mb: fullRss,
      idle_rss_mb_empty_history: emptyRss,
      idle_rss_mb_above_empty: round1(fullRss - emptyRss),
      rss_mb_after_page_load: afterLoadRss,
      ...p95,
      p95_ms_worst_page: Math.max(...pages.map(([, v]) => v)),
      connections_dropped_during_page_load: load.resets,
      requests_failed_during_page_load: load.failed,
      terminal_link_drops_during_page_load: terminalDrops(box.gateway.text) - dropsBeforeLoad,
      csv_month_mb: round1(load.csvBytes.reduce((a, b) => a + b, 0) / Math.max(1, load.csvBytes.length) / MB),
      journal_mb_seeded: round1(journalBeforeStart / MB),
      journal_mb_after_start: round1(journalBytes(fullDir) / MB),
      journal_bytes_per_punch: round1(journalBeforeStart / full.punches),
      store_mb: round1(store / MB),
      store_bytes_per_punch: store > 0 ? round1(store / full.punches) : 'n/a',
    };
    emitBench({
      bench: 'history',
      figures,
      goals: [
        { figure: 'ready_ms', op: '<=', target: 1000, source: 'issue "Years on a small box"' },
        { figure: 'idle_rss_mb', op: '<=', target: 100, source: 'issue "Years on a small box"' },
        { figure: 'idle_rss_mb_above_empty', op: '<=', target: 10, source: 'issue "Years on a small box"' },
        { figure: 'requests_failed_during_page_load', op: '<=', target: 0, source: 'every request answered' },
        { figure: 'terminal_link_drops_during_page_load', op: '<=', target: 0, source: 'terminals stay up' },
        ...pages.map(([figure]) => ({
          figure,
          op: '<=' as const,
          target: 150,
          source: 'issue "Years on a small box"',
        })),
      ],
    });
  } catch (error) {
    for (const gateway of running) process.stderr.write(`gateway output:\n${gateway.text.slice(-6000)}\n`);
    throw error;
  } finally {
    for (const gateway of running) await gateway.stop().catch(() => undefined);
    farm?.child.send('stop');
    await work.cleanup();
  }
}

await main();

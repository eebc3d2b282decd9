/**
 * The seeded box both history benchmarks run (`history`: storage, start-up and memory; `web`: every
 * page, report and file at 10 clients): the packaged x64 binary, a data folder `edge-gateway
 * seed-history` filled with three years of a 5,000-worker site (10,000,000 punches by default) and
 * the same box with an empty history, 20 ZK emulators already holding the roster and both platforms,
 * emulated in a child process (history-farm.ts) so the gateway's figures are its own.
 *
 * `HISTORY_BENCH_PUNCHES` sizes the history; `HISTORY_BENCH_DIR` keeps the seeded folders and reuses
 * them on the next run of either benchmark (then the boxes start on folders they have run on before,
 * and the seeding figures are those of the first run).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBinaries, ROOT } from '../../../build/build';
import { EventBus } from '../../../gateway/events';
import { hashPassword } from '../../../gateway/http/password';
import { toTerminalUser } from '../../../gateway/roster/reconcile-plan';
import { Roster, type Worker } from '../../../gateway/roster/roster';
import { BlobStore } from '../../../gateway/store/blobs';
import { GATEWAY_STARTED, Running, run } from '../../build/packaged';
import { HEALTH_HEADERS, HEALTH_TOKEN } from '../../support/health';
import { testLogger } from '../../support/logger';
import { tempDir } from '../../support/tmp';
import { FARM_DELI, FARM_SICHUAN } from './history-platforms';

export const PUNCHES = Number(process.env.HISTORY_BENCH_PUNCHES ?? 10_000_000);
export const WORKERS = 5000;
export const DAYS = 1095;
export const TERMINALS = 20;
export const ZONE = 'Asia/Shanghai';
export const PASSWORD = 'bench-history-password';
export const MB = 1024 * 1024;

export interface SeedReport {
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

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const round1 = (n: number) => Math.round(n * 10) / 10;

/** `--per-day` is the mean over the calendar: the generator spreads it over open days by their weight. */
const PER_DAY = Math.ceil(PUNCHES / DAYS);

/** The seeded folders, the installed binary, the active workers and the running farm. */
export interface HistorySite {
  readonly binary: string;
  readonly workDir: string;
  /** The day the history ends on (yesterday), `YYYY-MM-DD`. */
  readonly endDay: string;
  readonly full: SeedReport;
  readonly fullDir: string;
  readonly empty: SeedReport;
  readonly emptyDir: string;
  readonly active: readonly Worker[];
  readonly farm: Farm;
  close(): Promise<void>;
}

/**
 * Builds the x64 binary, installs it as build/install.sh would, seeds (or reuses, with
 * HISTORY_BENCH_DIR) the full and the empty history, and starts the farm holding the roster.
 */
export async function prepareHistorySite(name: string): Promise<HistorySite> {
  const dist = join(ROOT, '.tmp', `bench-${name}-dist`);
  await buildBinaries({ arches: ['x64'], outDir: dist, log: () => undefined });
  const kept = process.env.HISTORY_BENCH_DIR;
  if (kept) mkdirSync(kept, { recursive: true });
  const work = kept ? { dir: kept, cleanup: async () => undefined } : await tempDir(`edge-gw-bench-${name}-`);
  const binary = join(work.dir, 'opt', 'edge-gateway');
  execFileSync('install', ['-D', '-m', '0755', join(dist, 'edge-gateway-linux-x64'), binary]);
  const endDay = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const fullDir = join(work.dir, 'full');
  const emptyDir = join(work.dir, 'empty');
  const seeded = async (dataDir: string, days: number): Promise<SeedReport> => {
    const file = `${dataDir}.seed.json`;
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SeedReport;
    const report = await seed(binary, dataDir, days, endDay, work.dir);
    writeFileSync(file, JSON.stringify(report));
    return report;
  };
  const full = await seeded(fullDir, DAYS);
  const empty = await seeded(emptyDir, 0);
  const workers = await rosterOf(fullDir);
  const active = workers.filter((w) => w.status === 'active');
  const usersFile = join(work.dir, 'terminal-users.json');
  writeFileSync(usersFile, JSON.stringify(active.map(toTerminalUser)));
  const farm = await startFarm(usersFile);
  return {
    binary,
    workDir: work.dir,
    endDay,
    full,
    fullDir,
    empty,
    emptyDir,
    active,
    farm,
    close: async () => {
      farm.child.send('stop');
      await work.cleanup();
    },
  };
}

export async function seed(
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

export async function rosterOf(dataDir: string): Promise<readonly Worker[]> {
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

export interface Farm {
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
export async function boxConfig(report: SeedReport, farm: Farm): Promise<string> {
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

export interface Started {
  readonly gateway: Running;
  readonly base: string;
  readonly healthzMs: number;
  readonly readyMs: number;
}

/** The `Environment=` lines of the installed systemd unit: the box runs as the service runs it. */
function unitEnvironment(): Record<string, string> {
  const unit = readFileSync(join(ROOT, 'build', 'edge-gateway.service'), 'utf8');
  return Object.fromEntries(
    [...unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

/** Starts the box; ready once /healthz answers and every terminal has been polled once. */
export async function startBox(binary: string, configFile: string, cwd: string): Promise<Started> {
  const started = performance.now();
  const gateway = new Running(binary, ['start', '--config', configFile], cwd, unitEnvironment());
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

export function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return round1(Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024);
}

export async function login(base: string): Promise<string> {
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

/**
 * A GET read to the end; undefined when the box dropped the connection. A keep-alive connection the
 * box closes just as the next request goes out (its event loop held past the server's keep-alive
 * timeout) is tried once more on a new one, as a browser does; the time counts from the first try.
 */
export async function get(url: string, cookie: string, onReset: () => void): Promise<number | undefined> {
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

/** How many times the box's log says a terminal link dropped or could not be reached. */
export function terminalDrops(output: string): number {
  return (output.match(/"msg":"(zk terminal link dropped|terminal unavailable; will reconnect)"/g) ?? [])
    .length;
}

export function filesUnder(dir: string): Array<{ path: string; bytes: number }> {
  const out: Array<{ path: string; bytes: number }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, bytes: statSync(path).size });
  }
  return out;
}

/** One read of the load: `streamed` ones (exports) count their first byte and their whole download apart. */
export interface PageRequest {
  readonly kind: string;
  readonly path: string;
  readonly streamed?: boolean;
}

export interface PageLoad {
  /** Milliseconds per kind of request, for those answered 200 (`<kind>_ttfb` and `<kind>_full` for streamed ones). */
  readonly times: Record<string, number[]>;
  /** Bytes per streamed kind. */
  readonly bytes: Record<string, number[]>;
  /** Connections the box dropped (each retried once). */
  readonly resets: number;
  /** Requests that got no answer even on a new connection, or not a 200. */
  readonly failed: number;
}

/** A streamed GET: time to the first byte and to the last, and its size. */
async function streamedGet(
  url: string,
  cookie: string,
): Promise<{ status: number; ttfb: number; full: number; bytes: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { cookie } });
  const reader = response.body!.getReader();
  let ttfb: number | undefined;
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    ttfb ??= performance.now() - started;
    bytes += value.byteLength;
  }
  const full = performance.now() - started;
  return { status: response.status, ttfb: ttfb ?? full, full, bytes };
}

/** A reproducible draw per client, so two runs ask the same questions. */
function randomFor(client: number): () => number {
  let state = 0x9e3779b9 ^ (client * 0x85ebca6b);
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 4294967296;
  };
}

/**
 * Fisher–Yates. (A sort with a random comparator is not a shuffle: V8's sort left the first request
 * first for 3 of 10 clients, so the dashboard took three of the cold box's first burst of requests.)
 */
function shuffled<T>(items: readonly T[], pick: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(pick() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * `clients` logged-in clients at once, each asking `rounds` times for every request `requestsFor`
 * draws (parameters drawn afresh each round, in a shuffled order, so no answer is a warm repeat).
 */
export async function pageLoad(
  base: string,
  options: {
    readonly clients: number;
    readonly rounds: number;
    readonly requestsFor: (pick: () => number, round: number) => readonly PageRequest[];
  },
): Promise<PageLoad> {
  const cookies: string[] = [];
  for (let i = 0; i < options.clients; i++) cookies.push(await login(base));
  const times: Record<string, number[]> = {};
  const bytes: Record<string, number[]> = {};
  const note = (kind: string, ms: number) => {
    times[kind] ??= [];
    times[kind].push(ms);
  };
  const resets: string[] = [];
  const failed: string[] = [];
  await Promise.all(
    cookies.map(async (cookie, client) => {
      const pick = randomFor(client);
      for (let r = 0; r < options.rounds; r++) {
        const list = shuffled(options.requestsFor(pick, r), pick);
        for (const { kind, path, streamed } of list) {
          if (streamed) {
            try {
              const got = await streamedGet(`${base}${path}`, cookie);
              if (got.status !== 200) throw new Error(`HTTP ${got.status}`);
              note(`${kind}_ttfb`, got.ttfb);
              note(`${kind}_full`, got.full);
              bytes[kind] ??= [];
              bytes[kind].push(got.bytes);
            } catch (error) {
              failed.push(`${kind} (${(error as Error).message})`);
            }
            continue;
          }
          const started = performance.now();
          const status = await get(`${base}${path}`, cookie, () => resets.push(kind));
          if (status === 200) note(kind, performance.now() - started);
          else failed.push(`${kind} (${status ?? 'no answer'})`);
        }
      }
    }),
  );
  if (resets.length > 0) process.stderr.write(`connections dropped by the box: ${resets.join(', ')}\n`);
  if (failed.length > 0) process.stderr.write(`requests failed: ${failed.join(', ')}\n`);
  return { times, bytes, resets: resets.length, failed: failed.length };
}

/** The p95 of each kind of request, rounded to 0.1 ms, as `p95_ms_<kind>`. */
export function p95Of(times: Record<string, number[]>): Record<string, number> {
  const p95: Record<string, number> = {};
  for (const [kind, list] of Object.entries(times)) {
    p95[`p95_ms_${kind}`] = round1(
      percentile(
        [...list].sort((a, b) => a - b),
        95,
      ),
    );
  }
  return p95;
}

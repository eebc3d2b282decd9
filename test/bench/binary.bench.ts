/**
 * The packaged binary: size per architecture, cold start to a /healthz answer, and resident memory
 * of the gateway process idling with 20 emulated Modbus TCP terminals (VmRSS from /proc).
 * Builds both binaries from the current source first (not timed).
 *
 * Memory is measured on an installed copy, made as build/install.sh makes it (`install -m 0755`),
 * because that is the file a box runs. The file postject has just written is measured too and
 * reported beside it: ~12 MB more of the (shared, clean, reclaimable) binary counts as resident
 * for it, likely because its page cache is held in large folios that a fault maps whole. A copy,
 * or the same file read again after the page cache is dropped, does not show it
 * (docs/packaging.md has the figures).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { buildBinaries, ROOT } from '../../build/build';
import { GATEWAY_STARTED, getJson, Running } from '../build/packaged';
import { HEALTH_HEADERS, HEALTH_TOKEN } from '../support/health';
import { tempDir } from '../support/tmp';
import { emitBench } from './report';

const MB = 1024 * 1024;
const TERMINALS = 20;
const COLD_STARTS = 5;

function config(dataDir: string, terminals: unknown[]): unknown {
  return {
    site: { name: 'bench', timezone: 'Asia/Shanghai' },
    dataDir,
    http: { host: '127.0.0.1', port: 0, metricsToken: HEALTH_TOKEN },
    adms: { host: '127.0.0.1', port: 0 },
    log: { level: 'warn' },
    terminals,
    upstreams: {},
  };
}

async function healthzReady(
  binary: string,
  configFile: string,
  cwd: string,
): Promise<{ ms: number; gateway: Running }> {
  const started = performance.now();
  const gateway = new Running(binary, ['start', '--config', configFile], cwd);
  // The address is only in the info-level start line; log level info for this.
  const address = (await gateway.waitFor(GATEWAY_STARTED, 10_000))[1]!;
  await getJson(`http://${address}/healthz`);
  return { ms: performance.now() - started, gateway };
}

interface Resident {
  total: number;
  anon: number;
  file: number;
}

function residentMb(pid: number): Resident {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string): number => {
    const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return Math.round((kb / 1024) * 10) / 10;
  };
  return { total: mb('VmRSS'), anon: mb('RssAnon'), file: mb('RssFile') };
}

/** Starts the binary against the idle config, waits until every terminal is online, idles, measures. */
async function idleResident(
  binary: string,
  configFile: string,
  cwd: string,
): Promise<{ online: number; rss: Resident }> {
  const { gateway } = await healthzReady(binary, configFile, cwd);
  try {
    const address = GATEWAY_STARTED.exec(gateway.text)![1]!;
    let online = 0;
    const deadline = Date.now() + 15_000;
    while (online < TERMINALS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const health = (await getJson(`http://${address}/healthz`, HEALTH_HEADERS)) as {
        terminals: Array<{ online: boolean }>;
      };
      online = health.terminals.filter((t) => t.online).length;
    }
    // Idle: every terminal polled every second with nothing to report.
    await new Promise((r) => setTimeout(r, 8000));
    return { online, rss: residentMb(gateway.child.pid!) };
  } finally {
    await gateway.stop();
  }
}

async function main(): Promise<void> {
  // Always from the current source: a binary left in dist/ may be older than the code.
  const dist = join(ROOT, '.tmp', 'bench-dist');
  const files = { x64: join(dist, 'edge-gateway-linux-x64'), arm64: join(dist, 'edge-gateway-linux-arm64') };
  await buildBinaries({ outDir: dist, log: () => undefined });
  const work = await tempDir('edge-gw-bench-binary-');
  const emulators: ModbusEmulator[] = [];
  try {
    const coldFile = join(work.dir, 'cold.json');
    const cold = config(join(work.dir, 'cold-data'), []) as { log: { level: string } };
    cold.log.level = 'info';
    writeFileSync(coldFile, JSON.stringify(cold));
    const starts: number[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      const { ms, gateway } = await healthzReady(files.x64, coldFile, work.dir);
      starts.push(ms);
      await gateway.stop();
    }
    starts.sort((a, b) => a - b);

    for (let i = 0; i < TERMINALS; i++) {
      const emulator = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port: 0 }, {});
      await emulator.start();
      emulators.push(emulator);
    }
    const terminals = emulators.map((emulator, i) => ({
      id: `turnstile-${i + 1}`,
      name: `turnstile ${i + 1}`,
      driver: 'modbus',
      direction: 'state',
      transport: 'tcp',
      host: '127.0.0.1',
      port: emulator.address().port,
      pollSeconds: 1,
    }));
    const idleFile = join(work.dir, 'idle.json');
    const idle = config(join(work.dir, 'idle-data'), terminals) as { log: { level: string } };
    idle.log.level = 'info';
    writeFileSync(idleFile, JSON.stringify(idle));
    const installed = join(work.dir, 'opt', 'edge-gateway');
    execFileSync('install', ['-D', '-m', '0755', files.x64, installed]);
    const onBox = await idleResident(installed, idleFile, work.dir);
    const fresh = await idleResident(files.x64, idleFile, work.dir);

    emitBench({
      bench: 'binary',
      figures: {
        x64_size_mb: Math.round((statSync(files.x64).size / MB) * 10) / 10,
        arm64_size_mb: Math.round((statSync(files.arm64).size / MB) * 10) / 10,
        cold_start_to_healthz_ms_median: Math.round(starts[Math.floor(starts.length / 2)]!),
        cold_start_to_healthz_ms_max: Math.round(starts[starts.length - 1]!),
        idle_terminals_online: onBox.online,
        idle_rss_mb_20_terminals: onBox.rss.total,
        idle_rss_anon_mb: onBox.rss.anon,
        idle_rss_file_mb: onBox.rss.file,
        idle_rss_mb_freshly_built_file: fresh.rss.total,
        idle_rss_file_mb_freshly_built_file: fresh.rss.file,
      },
      goals: [
        { figure: 'x64_size_mb', op: '<=', target: 90, source: 'issue 8' },
        { figure: 'arm64_size_mb', op: '<=', target: 90, source: 'issue 8' },
        { figure: 'cold_start_to_healthz_ms_median', op: '<=', target: 1000, source: 'issue 8' },
        { figure: 'idle_rss_mb_20_terminals', op: '<=', target: 80, source: 'issue 8' },
      ],
    });
  } finally {
    for (const emulator of emulators) await emulator.stop().catch(() => undefined);
    await work.cleanup();
  }
}

void main();

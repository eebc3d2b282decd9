/**
 * The packaged binary: size per architecture, cold start to a /healthz answer, and resident memory
 * of the gateway process idling with 20 emulated Modbus TCP terminals (VmRSS from /proc).
 * Builds both binaries from the current source first (not timed).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { buildBinaries, ROOT } from '../../build/build';
import { GATEWAY_STARTED, getJson, Running } from '../build/packaged';
import { tempDir } from '../support/tmp';
import { emitBench } from './report';

const MB = 1024 * 1024;
const TERMINALS = 20;
const COLD_STARTS = 5;

function config(dataDir: string, terminals: unknown[]): unknown {
  return {
    site: { name: 'bench', timezone: 'Asia/Shanghai' },
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
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

function vmRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return Math.round((kb / 1024) * 10) / 10;
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
    const { gateway } = await healthzReady(files.x64, idleFile, work.dir);
    let rss = Number.NaN;
    let online = 0;
    try {
      const address = GATEWAY_STARTED.exec(gateway.text)![1]!;
      const deadline = Date.now() + 15_000;
      while (online < TERMINALS && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        const health = (await getJson(`http://${address}/healthz`)) as {
          terminals: Array<{ online: boolean }>;
        };
        online = health.terminals.filter((t) => t.online).length;
      }
      // Idle: every terminal polled every second with nothing to report.
      await new Promise((r) => setTimeout(r, 8000));
      rss = vmRssMb(gateway.child.pid!);
    } finally {
      await gateway.stop();
    }

    emitBench({
      bench: 'binary',
      figures: {
        x64_size_mb: Math.round((statSync(files.x64).size / MB) * 10) / 10,
        arm64_size_mb: Math.round((statSync(files.arm64).size / MB) * 10) / 10,
        cold_start_to_healthz_ms_median: Math.round(starts[Math.floor(starts.length / 2)]!),
        cold_start_to_healthz_ms_max: Math.round(starts[starts.length - 1]!),
        idle_terminals_online: online,
        idle_rss_mb_20_terminals: rss,
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

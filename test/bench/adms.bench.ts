/**
 * ADMS push path through a real gateway (journal fsync included): one real-time punch from the
 * emulated device until the server's `OK` (the punch is journaled by then), a backlog of 2000
 * punches pushed in batches of 100, and a user upsert's round trip through the command queue.
 */
import { AdmsEmulator } from '../../adapters/adms/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { emitBench, peakRssMb } from './report';

const SN = 'BENCH0001';
const SINGLE = 200;
const BACKLOG = 2000;
const COMMANDS = 50;
const POLL_MS = 20;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number) * 10) /
    10
  );
};

async function main(): Promise<void> {
  const { dir, cleanup } = await tempDir('adms-bench-');
  const parsed = validateConfig({
    site: { name: 'bench' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    adms: { host: '127.0.0.1', port: 0, delaySeconds: 1 },
    terminals: [{ id: 'face', driver: 'adms', sn: SN, direction: 'in', pollSeconds: 600 }],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const gateway = new Gateway(parsed.config, testLogger('adms-bench'));
  await gateway.start();
  const device = new AdmsEmulator({
    serverUrl: `http://127.0.0.1:${gateway.admsPort}`,
    sn: SN,
    pollMs: POLL_MS,
    retryMs: 50,
    batchSize: 100,
  });
  for (;;) {
    try {
      await device.start();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  while (!(await device.punchNow('0', { wall: '2026-01-01T00:00:00' })))
    await new Promise((r) => setTimeout(r, 50));

  const latencies: number[] = [];
  for (let i = 0; i < SINGLE; i++) {
    const started = performance.now();
    const wall = `2026-01-02T${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00`;
    if (!(await device.punchNow(String(i + 1), { wall }))) throw new Error('push refused');
    latencies.push(performance.now() - started);
  }

  for (let i = 0; i < BACKLOG; i++) {
    const s = i % 86_400;
    const wall = `2026-01-03T${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
    device.device.punch(String((i % 500) + 1), { wall });
  }
  const backlogStart = performance.now();
  if (!(await device.flush())) throw new Error('backlog refused');
  const backlogMs = performance.now() - backlogStart;

  const driver = gateway.terminal('face')?.driver;
  if (!driver) throw new Error('no driver');
  const commandMs: number[] = [];
  for (let i = 0; i < COMMANDS; i++) {
    const started = performance.now();
    await driver.upsertUser({ pin: String(1000 + i), name: `Worker ${i}` });
    commandMs.push(performance.now() - started);
  }

  await device.stop();
  await gateway.stop();
  await cleanup();
  emitBench({
    bench: 'adms',
    figures: {
      realtimePushP50Ms: percentile(latencies, 50),
      realtimePushP95Ms: percentile(latencies, 95),
      backlogPunchesPerSecond: Math.round(BACKLOG / (backlogMs / 1000)),
      commandRoundTripP50Ms: percentile(commandMs, 50),
      commandRoundTripP95Ms: percentile(commandMs, 95),
      devicePollMs: POLL_MS,
      peakRssMb: peakRssMb(),
    },
    goals: [{ figure: 'realtimePushP95Ms', op: '<=', target: 1000, source: 'issue 10' }],
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

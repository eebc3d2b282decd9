/**
 * 2,000 workers with one fingerprint template each, reconciled from empty onto 10 emulated ZK
 * terminals by a real gateway: time to converge, terminal requests per terminal (and per change),
 * and the gateway's peak RSS (the emulators run in a child process).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import type { WorkerChange } from '../../gateway/model';
import { testLogger } from '../support/logger';
import { emitBench, peakRssMb } from './report';

const WORKERS = Number(process.env.BENCH_ROSTER_WORKERS ?? 2000);
const TERMINALS = 10;

async function main(): Promise<void> {
  mkdirSync('.tmp', { recursive: true });
  const dir = mkdtempSync(join('.tmp', 'bench-roster-'));
  const farm: ChildProcess = fork(
    join(process.cwd(), 'test', 'bench', 'support', 'zk-farm.ts'),
    [String(TERMINALS), String(WORKERS)],
    {
      execArgv: ['--import', 'tsx'],
    },
  );
  const ask = <T>(message: string): Promise<T> =>
    new Promise((resolve) => {
      farm.once('message', (reply) => resolve(reply as T));
      farm.send(message);
    });
  const { ports } = await new Promise<{ ports: number[] }>((resolve) =>
    farm.once('message', (m) => resolve(m as { ports: number[] })),
  );
  type Status = { users: number[]; templates: number[]; commands: number[] };
  const config = validateConfig({
    site: { name: 'bench' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    reconcile: { maxStepsPerSecond: 0 },
    terminals: ports.map((port, i) => ({
      id: `zk-${i}`,
      driver: 'zk',
      direction: 'in',
      host: '127.0.0.1',
      port,
      transport: 'tcp',
      pollSeconds: 3600,
    })),
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  const gateway = new Gateway(config.config, testLogger());
  await gateway.start();
  while (!gateway.health().terminals.every((t) => t.online)) await new Promise((r) => setTimeout(r, 50));
  const commandsBefore = (await ask<Status>('status')).commands;

  const changes: WorkerChange[] = Array.from({ length: WORKERS }, (_, i) => ({
    source: 'local',
    op: 'upsert',
    identity: { gatewayId: `w${i}` },
    name: `工人${i}`,
    card: 100_000 + i,
    biometrics: [{ kind: 'fp', index: 0, format: 'zk-fp10', data: Buffer.alloc(512, i % 251) }],
  }));
  const t0 = performance.now();
  await gateway.workers.apply(changes);
  let status: Status;
  for (;;) {
    status = await ask<Status>('status');
    if (status.users.every((n) => n === WORKERS) && gateway.health().terminals.every((t) => t.roster?.inSync))
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  const requests = status.commands.map((n, i) => n - commandsBefore[i]!);
  const templatesOk = status.templates.every((n) => n === 1);
  const peak = peakRssMb();
  await gateway.stop();
  farm.send('stop');
  rmSync(dir, { recursive: true, force: true });
  const perTerminal = requests.reduce((a, b) => a + b, 0) / TERMINALS;
  // One user write and one template write per worker are the changes a terminal must receive.
  const changesPerTerminal = WORKERS * 2;
  emitBench({
    bench: 'roster',
    figures: {
      workers: WORKERS,
      terminals: TERMINALS,
      convergeSeconds: Math.round(seconds * 100) / 100,
      requestsPerTerminal: Math.round(perTerminal),
      requestsPerChange: Math.round((perTerminal / changesPerTerminal) * 100) / 100,
      templatesOnEveryTerminal: templatesOk ? 'yes' : 'no',
      peakRssMb: peak,
    },
    goals: [
      {
        figure: 'requestsPerChange',
        op: '<=',
        target: 1.1,
        source: 'issue 6 (one round trip per change, plus a listing and refreshes)',
      },
      { figure: 'peakRssMb', op: '<=', target: 200, source: 'issue 6' },
    ],
  });
}

void main();

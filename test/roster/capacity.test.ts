import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

let cleanup: () => Promise<void>;
let zk: ZkEmulator;
let gateway: Gateway;

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('capacity-'));
  zk = new ZkEmulator({ users: 0, records: 0, userCapacity: 5 });
  await zk.start();
  const config = validateConfig({
    site: { name: 'capacity' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    reconcile: { maxStepsPerSecond: 0 },
    terminals: [
      {
        id: 'small',
        driver: 'zk',
        direction: 'in',
        host: '127.0.0.1',
        port: zk.port,
        transport: 'tcp',
        pollSeconds: 2,
      },
    ],
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  gateway = new Gateway(config.config, testLogger());
  await gateway.start();
});

afterAll(async () => {
  await gateway?.stop();
  await zk?.stop();
  await cleanup();
});

describe('a terminal that is full', () => {
  it('gets as many workers as fit, says so in health, and converges once workers leave', async () => {
    await gateway.workers.apply(
      Array.from({ length: 8 }, (_, i) => ({
        source: 'local' as const,
        op: 'upsert' as const,
        identity: { gatewayId: `w${i}` },
        name: `工人${i}`,
      })),
    );
    const report = await waitFor(
      async () => {
        const h = gateway.health();
        return h.terminals[0]?.roster?.full && zk.users().length === 5 ? h : undefined;
      },
      20_000,
      'terminal reported full',
    );
    expect(report.terminals[0]?.roster).toMatchObject({ full: true, inSync: false, pending: 3 });
    expect(report.terminals[0]?.roster?.lastError).toMatch(/terminal full: 3 worker/);
    expect(report.alerts).toContain('terminal small is full: not every worker fits');
    expect(report.status).toBe('degraded');

    // Three leave the site: everyone left fits.
    await gateway.workers.apply(
      [5, 6, 7].map((i) => ({
        source: 'local' as const,
        op: 'remove' as const,
        identity: { gatewayId: `w${i}` },
        removalReason: 'local',
      })),
    );
    await waitFor(
      async () => (gateway.health().terminals[0]?.roster?.inSync ? true : undefined),
      30_000,
      'in sync after removals',
    );
    expect(gateway.health().terminals[0]?.roster?.full).toBe(false);
    const onTerminal = new Set(zk.users().map((u) => u.name));
    expect(onTerminal).toEqual(new Set(['工人0', '工人1', '工人2', '工人3', '工人4']));
  });
});

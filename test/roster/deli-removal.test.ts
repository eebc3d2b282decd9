import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { DeliEmulator } from '../../cloud/deli/emulator';
import type { SyncEntry } from '../../cloud/deli/messages';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const DELI = { deviceId: 'kq01_GW-REMOVAL-1', appId: 'removal-app', orgId: '1000001' };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let cleanup: () => Promise<void>;
let gateway: Gateway;
let zk: ZkEmulator;
let deli: DeliEmulator;
let clock = Date.now();
/** Deli users with an update time newer than any before, so every user_update starts a sync. */
const user = (userId: string, name: string): SyncEntry => ({
  userId,
  name,
  delete: false,
  fp: [],
  fa: [],
  updateTimeMs: ++clock,
});
const namesOnTerminal = () => new Set(zk.users().map((u) => u.name));
const worker = (deliUserId: string) => gateway.workers.findByIdentity({ deliUserId });

/** Deli's full sync (`reset`) listing only `users`, announced and awaited until the roster has applied it. */
async function deliFullSync(users: SyncEntry[], settled: () => boolean, what: string): Promise<void> {
  deli.setRoster(users, { reset: true });
  await deli.sendUserUpdate(++clock);
  await waitFor(async () => (settled() ? true : undefined), 15_000, what);
}

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('deli-removal-'));
  const port = await freePort();
  zk = new ZkEmulator({ port, users: 0, records: 0, enrolDelayMs: 200 });
  await zk.start();
  deli = new DeliEmulator({
    ...DELI,
    embedded: true,
    roster: [user('81001', '王五'), user('81002', '赵六')],
    logger: testLogger(),
  });
  await deli.start();
  const config = validateConfig({
    site: { name: 'deli-removal' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    outbox: { initialBackoffMs: 100, maxBackoffMs: 1000 },
    reconcile: { maxStepsPerSecond: 0 },
    terminals: [
      {
        id: 'zk-1',
        driver: 'zk',
        direction: 'in',
        host: '127.0.0.1',
        port,
        transport: 'tcp',
        pollSeconds: 2,
      },
    ],
    upstreams: { deli: { enabled: true, brokerUrl: deli.brokerUrl, ...DELI } },
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  gateway = new Gateway(config.config, testLogger());
  await gateway.start();
  await waitFor(
    async () => (gateway.health().terminals.every((t) => t.online) ? true : undefined),
    20_000,
    'terminal online',
  );
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([zk?.stop(), deli?.stop()]);
  await cleanup();
});

describe('Deli removal of a worker who enrolled a fingerprint (real Deli emulator over MQTT, real ZK terminal)', () => {
  it('a Deli full sync that leaves out an enrolled worker removes them from the roster and the terminal', async () => {
    await deli.sendUserUpdate();
    await waitFor(
      async () => (namesOnTerminal().has('王五') && namesOnTerminal().has('赵六') ? true : undefined),
      20_000,
      'both Deli workers on the terminal',
    );
    // Deli asks for a fingerprint; the terminal captures it and the gateway uploads it to Deli.
    await deli.sendFeatureInput('81001', 'fp');
    await waitFor(async () => (deli.templates.length > 0 ? true : undefined), 20_000, 'fp_input at Deli');
    const enrolled = worker('81001')!;
    expect(enrolled.templates).toHaveLength(1);

    await deliFullSync(
      [user('81002', '赵六')],
      () => worker('81001')?.status === 'removed',
      'the enrolled worker removed by the full sync',
    );
    expect(worker('81001')?.removal).toMatchObject({ source: 'deli' });
    // The template was data about the worker, not the page claiming them.
    expect(worker('81001')?.sources).toEqual(['deli']);
    expect(worker('81002')?.status).toBe('active');
    await waitFor(
      async () => (!namesOnTerminal().has('王五') ? true : undefined),
      20_000,
      'the removed worker gone from the terminal',
    );
    expect(namesOnTerminal().has('赵六')).toBe(true);
    // The template stays stored with the removed worker, should anyone bring them back.
    expect(worker('81001')?.templates).toHaveLength(1);
  });

  it('a template arriving for a removed worker is stored but brings nobody back', async () => {
    const removed = worker('81001')!;
    await gateway.workers.apply([
      {
        source: 'local',
        op: 'upsert',
        identity: { gatewayId: removed.id },
        biometrics: [{ kind: 'fp', index: 1, format: 'zk-fp10', data: new Uint8Array([7, 7, 7]) }],
      },
    ]);
    expect(worker('81001')).toMatchObject({ status: 'removed', sources: ['deli'] });
    expect(
      worker('81001')
        ?.templates.map((t) => t.index)
        .sort(),
    ).toEqual([0, 1]);
  });

  it('a template for a worker the roster does not have is refused with a clear error', async () => {
    await expect(
      gateway.workers.apply([
        {
          source: 'local',
          op: 'upsert',
          identity: { gatewayId: 'no-such-worker' },
          biometrics: [{ kind: 'fp', index: 0, format: 'zk-fp10', data: new Uint8Array([1]) }],
        },
      ]),
    ).rejects.toThrow(/fp template for worker no-such-worker, who is not in the roster/);
    expect(gateway.workers.get('no-such-worker')).toBeUndefined();
  });

  it('a worker the page really added (restored) stays through the next Deli full sync', async () => {
    const removed = worker('81001')!;
    // The site manager's "restore": the page itself says the worker belongs on site.
    await gateway.workers.apply([{ source: 'local', op: 'upsert', identity: { gatewayId: removed.id } }]);
    expect(worker('81001')).toMatchObject({ status: 'active', sources: ['deli', 'local'] });
    await waitFor(
      async () => (namesOnTerminal().has('王五') ? true : undefined),
      20_000,
      'the restored worker back on the terminal',
    );
    // Deli leaves out both: the Deli-only worker goes, the one the page added stays.
    await deliFullSync([], () => worker('81002')?.status === 'removed', 'the Deli-only worker removed');
    expect(worker('81001')?.status).toBe('active');
  });
});

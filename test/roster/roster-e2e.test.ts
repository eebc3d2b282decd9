import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import type { SichuanUpstream } from '../../cloud/sichuan/upstream';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const SICHUAN = { sn: 'GW-E2E-1', deviceKey: 'e2e-device-key', sm4Key: '0123456789abcdeffedcba9876543210' };
const DELI = { deviceId: 'kq01_GW-E2E-1', appId: 'e2e-app', orgId: '1000001' };
/** A tiny but real JPEG header, enough for the terminals to store as a photo blob. */
const PHOTO = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AVN//2Q==',
  'base64',
);

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
let zkA: ZkEmulator;
let zkB: ZkEmulator;
let portA: number;
let portB: number;
let sichuan: SichuanEmulator;
let deli: DeliEmulator;

const namesOn = (zk: ZkEmulator) => new Set(zk.users().map((u) => u.name));

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('roster-e2e-'));
  [portA, portB] = [await freePort(), await freePort()];
  zkA = new ZkEmulator({ port: portA, users: 0, records: 0, enrolDelayMs: 300 });
  zkB = new ZkEmulator({ port: portB, users: 0, records: 0, enrolDelayMs: 300 });
  await Promise.all([zkA.start(), zkB.start()]);
  sichuan = new SichuanEmulator({ ...SICHUAN, port: 0 });
  const baseUrl = await sichuan.start();
  deli = new DeliEmulator({
    ...DELI,
    embedded: true,
    roster: [{ userId: '80001', delete: false, name: '李小龙', fp: [], fa: [], updateTimeMs: Date.now() }],
    logger: testLogger(),
  });
  await deli.start();
  const config = validateConfig({
    site: { name: 'e2e' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    outbox: { initialBackoffMs: 100, maxBackoffMs: 1000 },
    reconcile: { maxStepsPerSecond: 0 },
    terminals: [
      {
        id: 'zk-a',
        driver: 'zk',
        direction: 'in',
        host: '127.0.0.1',
        port: portA,
        transport: 'tcp',
        pollSeconds: 2,
      },
      {
        id: 'zk-b',
        driver: 'zk',
        direction: 'out',
        host: '127.0.0.1',
        port: portB,
        transport: 'tcp',
        pollSeconds: 2,
      },
    ],
    upstreams: {
      sichuan: { enabled: true, baseUrl, ...SICHUAN, heartbeatSeconds: 600 },
      deli: { enabled: true, brokerUrl: deli.brokerUrl, ...DELI },
    },
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  gateway = new Gateway(config.config, testLogger());
  await gateway.start();
  await waitFor(
    async () => (gateway.health().terminals.every((t) => t.online) ? true : undefined),
    20_000,
    'terminals online',
  );
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([zkA?.stop(), zkB?.stop(), sichuan?.stop(), deli?.stop()]);
  await cleanup();
});

const sichuanUpstream = () => gateway.upstream('sichuan') as SichuanUpstream;

describe('roster, reconcilers and biometric sync (two ZK terminals, both platforms)', () => {
  it('an issue task puts the worker on both terminals, then the task is acknowledged', async () => {
    const taskId = sichuan.addIssueTask([
      {
        userId: 'SC100',
        name: '张三丰',
        userType: 1,
        photo: PHOTO.toString('base64'),
        idCardNo: '510104199001011234',
      },
    ]);
    await sichuanUpstream().heartbeat();
    await waitFor(
      async () => (namesOn(zkA).has('张三丰') && namesOn(zkB).has('张三丰') ? true : undefined),
      20_000,
      'worker on both terminals',
    );
    const task = sichuan.state().tasks.find((t) => t.id === taskId);
    expect(task?.state).toBe('succeeded');
    const worker = gateway.workers.findByIdentity({ sichuanUserId: 'SC100' });
    expect(worker?.facePhoto).toMatch(/^[0-9a-f]{64}$/);
    expect(worker?.identities.idCardNo).toBe('510104199001011234');
  });

  it('a Deli feature_input enrols on one terminal; the template reaches Deli and the other terminal', async () => {
    await deli.sendUserUpdate();
    await waitFor(
      async () => (namesOn(zkA).has('李小龙') && namesOn(zkB).has('李小龙') ? true : undefined),
      20_000,
      'Deli worker on both terminals',
    );
    const worker = gateway.workers.findByIdentity({ deliUserId: '80001' })!;
    await deli.sendFeatureInput('80001', 'fp');
    await waitFor(async () => (deli.templates.length > 0 ? true : undefined), 20_000, 'fp_input at Deli');
    await waitFor(
      async () =>
        zkA.templates(worker.pin).length > 0 && zkB.templates(worker.pin).length > 0 ? true : undefined,
      20_000,
      'template on both terminals',
    );
    expect(Buffer.compare(zkA.templates(worker.pin)[0]!.data, zkB.templates(worker.pin)[0]!.data)).toBe(0);
    expect(gateway.workers.get(worker.id)?.templates).toHaveLength(1);
  });

  it('a 禁入 task removes the worker from both terminals, and no other source can bring them back', async () => {
    const taskId = sichuan.addDeleteTask([{ userId: 'SC100', name: '张三丰', delType: 2 }]);
    await sichuanUpstream().heartbeat();
    await waitFor(
      async () => (!namesOn(zkA).has('张三丰') && !namesOn(zkB).has('张三丰') ? true : undefined),
      20_000,
      'worker removed from both',
    );
    expect(sichuan.state().tasks.find((t) => t.id === taskId)?.state).toBe('succeeded');
    const worker = gateway.workers.findByIdentity({ sichuanUserId: 'SC100' })!;
    expect(worker.removal).toMatchObject({ reason: '禁入', source: 'sichuan' });
    // The local page (or Deli) trying to restore them loses against the platform's ban.
    await gateway.workers.apply([
      { source: 'local', op: 'upsert', identity: { gatewayId: worker.id }, name: '张三丰' },
    ]);
    expect(gateway.workers.get(worker.id)?.status).toBe('removed');
    await new Promise((r) => setTimeout(r, 500));
    expect(namesOn(zkA).has('张三丰')).toBe(false);
  });

  it('a terminal offline during 50 changes converges after it returns', async () => {
    await zkB.stop();
    await waitFor(
      async () =>
        gateway.health().terminals.find((t) => t.id === 'zk-b')?.online === false ? true : undefined,
      20_000,
      'zk-b offline',
    );
    for (let i = 0; i < 50; i++) {
      await gateway.workers.apply([
        { source: 'local', op: 'upsert', identity: { gatewayId: `local-${i}` }, name: `工人${i}` },
      ]);
    }
    zkB = new ZkEmulator({ port: portB, users: [...zkB.users()], records: 0, enrolDelayMs: 300 });
    await zkB.start();
    await waitFor(
      async () => (zkB.users().filter((u) => u.name.startsWith('工人')).length === 50 ? true : undefined),
      30_000,
      '50 workers on zk-b',
    );
    await waitFor(
      async () => (gateway.reconciler('zk-b')?.status().inSync ? true : undefined),
      10_000,
      'zk-b in sync',
    );
  });

  it('a replaced (empty) terminal is refilled, templates included', async () => {
    const enrolled = gateway.workers.findByIdentity({ deliUserId: '80001' })!;
    await zkA.stop();
    zkA = new ZkEmulator({ port: portA, users: 0, records: 0 });
    await zkA.start();
    const active = gateway.workers.list().filter((w) => w.status === 'active').length;
    await waitFor(
      async () => (zkA.users().length === active ? true : undefined),
      30_000,
      'replacement refilled',
    );
    expect(namesOn(zkA).has('张三丰')).toBe(false);
    expect(zkA.templates(enrolled.pin).length).toBe(1);
    const health = gateway.health().terminals.find((t) => t.id === 'zk-a');
    expect(health?.roster).toMatchObject({ applicable: true, full: false });
  });
});

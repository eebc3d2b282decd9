import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

/**
 * Deli `feature_input` → fingerprint enrolment on ZK terminal A → `fp_input` at Deli → the same
 * template on ZK terminal B, all over real sockets: the Deli emulator with its embedded (aedes)
 * broker, two ZK emulators, the whole gateway. Terminal A sends EF_ENROLLFINGER in the published
 * layout; terminal B is firmware that answers every data command with ACK_DATA.
 */

const DELI = { deviceId: 'kq01_GW-ENROL-1', appId: 'enrol-app', orgId: '1000002' };
const DELI_USER = '80042';

let cleanup: () => Promise<void>;
let gateway: Gateway;
let zkA: ZkEmulator;
let zkB: ZkEmulator;
let deli: DeliEmulator;

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('enrolment-e2e-'));
  zkA = new ZkEmulator({ enrolDelayMs: 200 });
  // B would take two minutes to enrol: a template that reaches Deli in time was captured on A.
  zkB = new ZkEmulator({ enrolDelayMs: 120_000, ackData: 'data', mode: 'chunked', coalesce: true });
  const [portA, portB] = await Promise.all([zkA.start(), zkB.start()]);
  deli = new DeliEmulator({
    ...DELI,
    embedded: true,
    roster: [{ userId: DELI_USER, delete: false, name: '黄飞鸿', fp: [], fa: [], updateTimeMs: Date.now() }],
    logger: testLogger(),
  });
  await deli.start();
  const config = validateConfig({
    site: { name: 'enrolment-e2e' },
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
    upstreams: { deli: { enabled: true, brokerUrl: deli.brokerUrl, ...DELI } },
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  gateway = new Gateway(config.config, testLogger());
  await gateway.start();
  await waitFor(
    async () => (gateway.health().terminals.every((t) => t.online) ? true : undefined),
    20_000,
    'both terminals online',
  );
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([zkA?.stop(), zkB?.stop(), deli?.stop()]);
  await cleanup?.();
});

describe('fingerprint enrolment from Deli, end to end', () => {
  it('feature_input enrols on A; fp_input carries the template; B receives the same template', async () => {
    await deli.sendUserUpdate();
    const worker = await waitFor(
      async () => gateway.workers.findByIdentity({ deliUserId: DELI_USER }),
      20_000,
      'Deli worker on the roster',
    );
    const onTerminal = (zk: ZkEmulator) => zk.users().some((u) => u.pin === worker.pin);
    await waitFor(
      async () => (onTerminal(zkA) && onTerminal(zkB) ? true : undefined),
      20_000,
      'worker on both terminals',
    );

    await deli.sendFeatureInput(DELI_USER, 'fp');
    const upload = await waitFor(async () => deli.templates[0], 20_000, 'fp_input at Deli');
    expect(upload).toMatchObject({ userId: DELI_USER, featureType: 'fp' });
    const onA = zkA.templates(worker.pin);
    expect(onA.map((t) => t.index)).toEqual([0]);
    const captured = onA[0]?.data ?? Buffer.alloc(0);
    expect(captured.length).toBeGreaterThan(0);
    expect(Buffer.from(upload.data, 'base64').equals(captured)).toBe(true);

    const onB = await waitFor(
      async () => {
        const t = zkB.templates(worker.pin);
        return t.length > 0 ? t : undefined;
      },
      20_000,
      'template on terminal B',
    );
    expect(onB.map((t) => t.index)).toEqual([0]);
    expect(onB[0]?.data.equals(captured)).toBe(true);
    expect(gateway.workers.get(worker.id)?.templates).toHaveLength(1);
    expect(deli.templates).toHaveLength(1);
    expect(deli.violations).toEqual([]);
  });

  it('the ACK_DATA terminal stays online and its punches are journaled and reach Deli', async () => {
    const worker = gateway.workers.findByIdentity({ deliUserId: DELI_USER });
    expect(worker).toBeDefined();
    zkB.addPunch({ pin: worker?.pin ?? '', verify: 1 });
    const checkin = await waitFor(
      async () => deli.checkins.flatMap((c) => c.users).find((u) => u.userId === DELI_USER),
      20_000,
      'check-in from terminal B at Deli',
    );
    expect(checkin.featureType).toBe('fp');
    const health = gateway.health().terminals.find((t) => t.id === 'zk-b');
    expect(health?.online).toBe(true);
    expect(health?.lastError).toBeUndefined();
  });
});

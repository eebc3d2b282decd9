import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModbusDriver } from '../../adapters/modbus/driver';
import { Cmd } from '../../adapters/zk/constants';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { openTcpLink } from '../../adapters/zk/link';
import { encodeUser72, type ZkUser } from '../../adapters/zk/records';
import { isAccepted, ZkSession } from '../../adapters/zk/session';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { TerminalFullError } from '../../gateway/model';
import { PlanRunner } from '../../gateway/roster/plan-runner';
import { planReconcile } from '../../gateway/roster/reconcile-plan';
import { AppliedDigests } from '../../gateway/store/applied-digests';
import { BlobStore } from '../../gateway/store/blobs';
import { systemClock } from '../../lib/clock';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { Lab } from '../zk/support';
import { activeWorker, memoryRecord, startGate } from './support';

describe('a terminal that is full', () => {
  let cleanup: () => Promise<void>;
  let zk: ZkEmulator;
  let gateway: Gateway;

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('capacity-'));
    // Slow replies, as from a busy terminal or a loaded machine: the terminal holds the users a while
    // before the gateway hears that the write went through, which is when health used to be read.
    zk = new ZkEmulator({ users: 0, records: 0, userCapacity: 5, faults: { replyDelayMs: 100 } });
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

  it('gets as many workers as fit, says so in health, and converges once workers leave', async () => {
    await gateway.workers.apply(
      Array.from({ length: 8 }, (_, i) => ({
        source: 'local' as const,
        op: 'upsert' as const,
        identity: { gatewayId: `w${i}` },
        name: `工人${i}`,
      })),
    );
    // `full` is known when the pass starts, but `pending` settles only when it ends, and the pass
    // ends by reporting the workers it left out (lastError): wait for that, not for the terminal.
    const report = await waitFor(
      async () => {
        const h = gateway.health();
        return h.terminals[0]?.roster?.full && h.terminals[0].roster.lastError !== undefined ? h : undefined;
      },
      20_000,
      'the pass that found the terminal full to end',
    );
    expect(zk.users()).toHaveLength(5);
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

/** The error a promise rejects with, to look at more than its message. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got none');
}

/**
 * Another tool writing one user straight to the terminal at the uid it chooses (here the last one,
 * 65,535), over its own connection: the terminal then has no user number left for a new user.
 */
async function writeUserAtUid(port: number, user: ZkUser): Promise<void> {
  let session: ZkSession | undefined;
  const link = await openTcpLink('127.0.0.1', port, 2000, {
    onBody: (body) => session?.receive(body),
    onClose: () => undefined,
  });
  session = new ZkSession(link, { timeoutMs: 2000, onEvent: () => undefined });
  try {
    await session.open();
    const reply = await session.request(Cmd.USER_WRQ, encodeUser72(user, 'gb18030'));
    if (!isAccepted(reply)) throw new Error(`USER_WRQ refused (${reply.command})`);
    await session.request(Cmd.EXIT);
  } finally {
    await link.close();
  }
}

describe('drivers say a terminal is full with a TerminalFullError', () => {
  const lab = new Lab();
  afterEach(() => lab.cleanup());

  it('ZK: a new user on a terminal at its capacity (GET_FREE_SIZES) is refused with the capacity', async () => {
    const zk = await lab.emulator({ users: 2, records: 0, userCapacity: 2 });
    const driver = lab.driver(zk.port, {}, 'zkfull');
    await driver.connect();
    const error = await rejection(driver.upsertUser({ pin: '3', name: '新人' }));
    expect(error).toBeInstanceOf(TerminalFullError);
    expect(error).toMatchObject({ terminalId: 'zkfull', capacity: 2 });
    // Room is needed only to add: an update still goes through.
    await driver.upsertUser({ pin: '1', name: '改名' });
    expect(zk.users().map((u) => [u.pin, u.name])).toEqual([
      ['1', '改名'],
      ['2', '工人2'],
    ]);
  });

  it('ZK: a bulk upload with more new users than room is refused with the capacity', async () => {
    const zk = await lab.emulator({ users: 1, records: 0, userCapacity: 2 });
    const driver = lab.driver(zk.port, {}, 'zkbulk');
    await driver.connect();
    const error = await rejection(
      driver.writeUsers([
        { user: { pin: '2', name: 'a' }, templates: [] },
        { user: { pin: '3', name: 'b' }, templates: [] },
      ]),
    );
    expect(error).toBeInstanceOf(TerminalFullError);
    expect(error).toMatchObject({ terminalId: 'zkbulk', capacity: 2 });
    expect(zk.users().map((u) => u.pin)).toEqual(['1']);
    // One fits: the same driver writes it after the refusal.
    await driver.writeUsers([{ user: { pin: '2', name: 'a' }, templates: [] }]);
    expect(zk.users().map((u) => u.pin)).toEqual(['1', '2']);
  });

  it('ZK: a terminal whose last user number (65,535) is taken has no room for a new user', async () => {
    const zk = await lab.emulator({ users: 1, records: 0 });
    await writeUserAtUid(zk.port, {
      uid: 0xffff,
      pin: '65535',
      name: 'admin',
      privilege: 14,
      password: '',
      card: 0,
    });
    const driver = lab.driver(zk.port, {}, 'zkuid');
    await driver.connect();
    const one = await rejection(driver.upsertUser({ pin: '7', name: 'x' }));
    expect(one).toBeInstanceOf(TerminalFullError);
    expect(one).toMatchObject({
      terminalId: 'zkuid',
      message: expect.stringMatching(/no user number left for 7/),
    });
    const bulk = await rejection(driver.writeUsers([{ user: { pin: '8', name: 'y' }, templates: [] }]));
    expect(bulk).toBeInstanceOf(TerminalFullError);
    expect(zk.users().map((u) => u.pin)).toEqual(['1', '65535']);
  });
});

describe('a whitelist that fills up while the reconciler writes to it', () => {
  let gate: Awaited<ReturnType<typeof startGate>>;

  beforeEach(async () => {
    gate = await startGate(4, ['gate', 'other-tool']);
  });

  afterEach(() => gate.stop());

  it('the Modbus driver refuses a user with no free slot, and the rest of the plan still goes', async () => {
    const [driver, otherTool] = gate.drivers as [ModbusDriver, ModbusDriver];
    const capabilities = driver.capabilities();
    expect(capabilities.maxUsers).toBe(4);
    // The plan is made from one listing: four free slots, four workers to add.
    const plan = planReconcile({
      workers: ['11', '12', '13', '14'].map(activeWorker),
      held: await driver.listUsers(),
      applied: new AppliedDigests(),
      capabilities,
    });
    expect(plan).toMatchObject({ full: false, notAdded: [] });
    expect(plan.writes).toHaveLength(4);

    // Before the runner gets there, another tool (the device's own panel, a second PC) takes two slots.
    await otherTool.upsertUser({ pin: '900', name: '' });
    await otherTool.upsertUser({ pin: '901', name: '' });

    const record = memoryRecord();
    const runner = new PlanRunner({
      driver,
      blobs: new BlobStore(join(gate.dir, 'blobs')),
      record,
      clock: systemClock,
      options: { maxStepsPerSecond: 0 },
    });
    const progress = { pending: plan.writes.length, full: plan.full };
    const leftOut = await runner.apply(plan, progress);

    expect(leftOut).toBe(2);
    expect(progress).toEqual({ pending: 2, full: true });
    expect(gate.emulator.unit().whitelistPins().sort()).toEqual([11, 12, 900, 901]);
    expect(Object.keys(record.saved()).sort()).toEqual(['11', '12']);
    // Refused writes are not steps done.
    expect(runner.stepsDone).toBe(2);
  });
});

import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AdmsEmulator } from '../adapters/adms/emulator';
import { ModbusEmulator } from '../adapters/modbus/emulator';
import { ZkEmulator } from '../adapters/zk/emulator';
import { DeliEmulator } from '../cloud/deli/emulator';
import { SichuanEmulator } from '../cloud/sichuan/emulator';
import labProfile from '../config/lab.json' with { type: 'json' };
import { validateConfig } from '../config/load';
import type { Gateway } from './controller';
import { createLogger } from './logger';
import { runGateway } from './run';
import { readFileIfExists, writeFileAtomic } from './store/durable-file';

/** Lab workers: the emulated terminals know them by PIN 1…20, the roster by these names. */
export const LAB_WORKERS = [
  '张三丰',
  '李小龙',
  '王建国',
  '赵丽颖',
  '陈伟',
  '刘洋',
  '杨帆',
  '黄磊',
  '周杰',
  '吴敏',
  '徐静',
  '孙强',
  '马超',
  '朱琳',
  '胡军',
  '郭靖',
  '何平',
  '高峰',
  '林涛',
  'José García',
] as const;

interface LabPart {
  /** Terminals and upstreams this emulator contributes to the lab config. */
  readonly terminals?: unknown[];
  readonly upstreams?: Record<string, unknown>;
  /** Whole sections of the lab config (the fleet link's). */
  readonly config?: Record<string, unknown>;
  /** Runs once the gateway listens (an ADMS device needs the gateway's port). */
  readonly afterStart?: (gateway: Gateway) => Promise<void>;
  readonly stop: () => Promise<void>;
}

/**
 * Lab mode: the gateway with emulated terminals and platforms on loopback, so a newcomer sees
 * punches flow end to end with no hardware. Emulators listen on free ports; the gateway's page
 * keeps its usual port (8080, or --port).
 */
export async function runLab(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'punch-every': { type: 'string', default: '5' },
      fleet: { type: 'boolean', default: false },
      'fleet-port': { type: 'string', default: '1883' },
    },
    strict: true,
  });
  const punchEverySeconds = Number(values['punch-every']);
  if (!(punchEverySeconds > 0)) {
    process.stderr.write('--punch-every must be a number of seconds > 0\n');
    return 2;
  }
  const parts: LabPart[] = [];
  const stopAll = async () => {
    for (const part of parts.reverse()) await part.stop().catch(() => undefined);
  };
  try {
    parts.push(await startSichuanPlatform());
    parts.push(await startDeliPlatform());
    parts.push(await startZkTerminal('lab-zk-in', '东门进场 (ZK)', 'in', punchEverySeconds));
    parts.push(await startZkTerminal('lab-zk-out', '东门出场 (ZK)', 'out', punchEverySeconds * 1.5));
    parts.push(await startModbusTurnstile(punchEverySeconds));
    parts.push(admsFaceTerminal(punchEverySeconds));
    if (values.fleet) {
      // A broker and two more sites beside this one, for `fleet watch` (docs/fleet.md#lab).
      const { startLabFleet } = await import('./fleet/lab-fleet');
      const dataDir = resolve(values['data-dir'] ?? labProfile.dataDir);
      parts.push(await startLabFleet({ dataDir, port: Number(values['fleet-port']) }));
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  const document = structuredClone(labProfile) as Record<string, unknown> & { http: Record<string, unknown> };
  if (values['data-dir']) document.dataDir = values['data-dir'];
  if (values.port) document.http.port = Number(values.port);
  // Written out so the page can edit the lab's terminals as it would a real config file.
  const configFile = join(resolve(String(document.dataDir)), 'lab-config.json');
  const labTerminals = parts.flatMap((p) => p.terminals ?? []);
  document.terminals = [...labTerminals, ...(await terminalsAddedOnThePage(configFile, labTerminals))];
  document.upstreams = Object.assign({}, ...parts.map((p) => p.upstreams ?? {}));
  for (const part of parts) Object.assign(document, part.config ?? {});
  const result = validateConfig(document, process.env);
  if (!result.ok) {
    await stopAll();
    process.stderr.write(`lab profile is not valid:\n${result.problems.join('\n')}\n`);
    return 2;
  }
  await mkdir(dirname(configFile), { recursive: true, mode: 0o700 });
  await writeFileAtomic(configFile, `${JSON.stringify(document, null, 2)}\n`);
  const afterStart = async (gateway: Gateway) => {
    await seedLabRoster(gateway);
    for (const part of parts) await part.afterStart?.(gateway);
  };
  // The emulators stop after the gateway: with the Deli broker gone first, a delivery in flight
  // waited for an acknowledgement that could not come, and the stop outlasted a service manager's
  // grace period (seen once in CI: the lab binary killed after 5 s).
  return runGateway(result.config, { configFile, afterStart, afterStop: stopAll, lab: true });
}

/**
 * Terminals a person added on the page to an earlier run's lab config: kept, so a restart does not
 * lose them. The lab's own terminals are written afresh each run (their emulators get new ports).
 */
async function terminalsAddedOnThePage(
  configFile: string,
  labTerminals: readonly unknown[],
): Promise<unknown[]> {
  const text = await readFileIfExists(configFile);
  if (text === null) return [];
  let previous: unknown;
  try {
    previous = JSON.parse(text);
  } catch {
    process.stderr.write(
      `${configFile} is not JSON; terminals added on the page earlier are not carried over\n`,
    );
    return [];
  }
  const ids = new Set(labTerminals.map((t) => (t as { id?: unknown }).id));
  const terminals = (previous as { terminals?: unknown } | null)?.terminals;
  if (!Array.isArray(terminals)) return [];
  return terminals.filter(
    (t): t is Record<string, unknown> =>
      typeof t === 'object' && t !== null && !ids.has((t as { id?: unknown }).id),
  );
}

/** Gives the lab workers the PINs the emulators use (idempotent: identities are fixed). */
async function seedLabRoster(gateway: Gateway): Promise<void> {
  await gateway.workers.apply(
    LAB_WORKERS.map((name, i) => ({
      source: 'local' as const,
      op: 'upsert' as const,
      identity: {
        gatewayId: `lab-worker-${i + 1}`,
        sichuanUserId: `SC-LAB-${i + 1}`,
        deliUserId: labDeliUserId(i),
      },
      name,
    })),
  );
}

function randomPin(): number {
  return 1 + Math.floor(Math.random() * LAB_WORKERS.length);
}

async function startModbusTurnstile(punchEverySeconds: number): Promise<LabPart> {
  const emulator = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port: 0 }, {});
  await emulator.start();
  const timer = setInterval(
    () => {
      emulator.addEvent({
        pin: randomPin(),
        method: Math.floor(Math.random() * 4),
        direction: Math.random() < 0.5 ? 1 : 2,
      });
    },
    punchEverySeconds * 1000 * 2,
  );
  timer.unref();
  return {
    terminals: [
      {
        id: 'lab-turnstile',
        name: '北门闸机 (Modbus)',
        driver: 'modbus',
        direction: 'state',
        transport: 'tcp',
        host: '127.0.0.1',
        port: emulator.address().port,
        pollSeconds: 1,
      },
    ],
    stop: async () => {
      clearInterval(timer);
      await emulator.stop();
    },
  };
}

/** Lab-only platform credentials: the emulated platform and the gateway share them on loopback. */
const LAB_SICHUAN = {
  sn: 'LAB-GW-0001',
  deviceKey: 'lab-device-key',
  sm4Key: '0123456789abcdeffedcba9876543210',
} as const;

async function startSichuanPlatform(): Promise<LabPart> {
  const emulator = new SichuanEmulator({ ...LAB_SICHUAN, host: '127.0.0.1', port: 0 });
  const baseUrl = await emulator.start();
  return {
    upstreams: { sichuan: { enabled: true, baseUrl, ...LAB_SICHUAN, heartbeatSeconds: 60 } },
    stop: () => emulator.stop(),
  };
}

/** Deli user ids are numbers in the seed's examples. */
function labDeliUserId(index: number): string {
  return String(70_001 + index);
}

const LAB_DELI = { deviceId: 'kq01_LAB-GW-0001', appId: 'lab-attendance', orgId: '1000001' } as const;

async function startDeliPlatform(): Promise<LabPart> {
  const emulator = new DeliEmulator({
    ...LAB_DELI,
    embedded: true,
    http: true,
    roster: LAB_WORKERS.map((name, i) => ({ userId: labDeliUserId(i), delete: false, name, fp: [], fa: [] })),
    logger: createLogger('warn').child({ part: 'deli-emulator' }),
  });
  await emulator.start();
  return {
    upstreams: { deli: { enabled: true, brokerUrl: emulator.brokerUrl, ...LAB_DELI } },
    stop: () => emulator.stop(),
  };
}

/** A ZK terminal that already holds the lab workers (as a site's terminals do before the gateway comes). */
async function startZkTerminal(
  id: string,
  name: string,
  direction: 'in' | 'out',
  punchEverySeconds: number,
): Promise<LabPart> {
  const emulator = new ZkEmulator({
    users: LAB_WORKERS.map((workerName, i) => ({ pin: String(i + 1), name: workerName })),
    records: 0,
    encoding: 'gb18030',
    timeZone: 'Asia/Shanghai',
    enrolDelayMs: 3000,
  });
  const port = await emulator.start();
  const timer = setInterval(() => {
    emulator.addPunch({
      pin: String(randomPin()),
      verify: Math.random() < 0.8 ? 1 : 2,
      state: direction === 'in' ? 0 : 1,
    });
  }, punchEverySeconds * 1000);
  timer.unref();
  return {
    terminals: [
      {
        id,
        name,
        driver: 'zk',
        direction,
        host: '127.0.0.1',
        port,
        transport: 'tcp',
        encoding: 'gb18030',
        pollSeconds: 30,
      },
    ],
    stop: async () => {
      clearInterval(timer);
      await emulator.stop();
    },
  };
}

/**
 * A face terminal that pushes over ADMS. It starts empty: the reconciler gives it the lab workers
 * (and their photos, when they have one), then it punches them.
 */
function admsFaceTerminal(punchEverySeconds: number): LabPart {
  const sn = 'LABFACE0001';
  let emulator: AdmsEmulator | undefined;
  return {
    terminals: [{ id: 'lab-face', name: '办公区人脸机 (ADMS)', driver: 'adms', direction: 'state', sn }],
    afterStart: async (gateway) => {
      emulator = new AdmsEmulator({
        serverUrl: `http://127.0.0.1:${gateway.admsPort}`,
        sn,
        punchEverySeconds: punchEverySeconds * 3,
        pollMs: 1000,
        logger: createLogger('warn').child({ part: 'adms-emulator' }),
      });
      await emulator.start();
    },
    stop: async () => {
      await emulator?.stop();
    },
  };
}

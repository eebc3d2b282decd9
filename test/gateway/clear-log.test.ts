/**
 * `clearLogAfterJournal` end to end, through one real gateway over real sockets: two ZK emulators
 * (one with the option, one without), the Sichuan platform emulator over HTTP and the Deli emulator
 * over MQTT. A terminal's log is the last copy of a punch outside the gateway's disk, so it is
 * cleared only once its punches are journaled and every enabled platform has acknowledged them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const WORKERS = 3;
const SICHUAN = { sn: 'GW-CLEAR', deviceKey: 'clear-key', sm4Key: '0123456789abcdeffedcba9876543210' };
const DELI = { deviceId: 'kq01_GW-CLEAR', appId: 'clear-app', orgId: '1000001' };

let dir: string;
let cleanup: () => Promise<void>;
let clearing: ZkEmulator;
let keeping: ZkEmulator;
let sichuan: SichuanEmulator;
let deli: DeliEmulator;
let gateway: Gateway;
let second = 0;

function zk(id: string, port: number, clearLogAfterJournal: boolean) {
  return {
    id,
    driver: 'zk',
    direction: 'in',
    host: '127.0.0.1',
    port,
    transport: 'tcp',
    pollSeconds: 1,
    timeoutMs: 2000,
    clearLogAfterJournal,
  };
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('clear-log-'));
  clearing = new ZkEmulator({ users: 0, records: 0, timeZone: 'Asia/Shanghai' });
  keeping = new ZkEmulator({ users: 0, records: 0, timeZone: 'Asia/Shanghai' });
  await Promise.all([clearing.start(), keeping.start()]);
  sichuan = new SichuanEmulator({ ...SICHUAN, port: 0 });
  const sichuanUrl = await sichuan.start();
  // The platform answers -99 to everything until the test lets it through.
  sichuan.setFaults({ serverErrorRate: 1 });
  deli = new DeliEmulator({ ...DELI, embedded: true, logger: testLogger() });
  await deli.start();
  const result = validateConfig({
    site: { name: 'clear log', timezone: 'Asia/Shanghai' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    outbox: { initialBackoffMs: 100, maxBackoffMs: 500 },
    terminals: [zk('clearing', clearing.port, true), zk('keeping', keeping.port, false)],
    upstreams: {
      sichuan: {
        enabled: true,
        baseUrl: sichuanUrl,
        ...SICHUAN,
        heartbeatSeconds: 600,
        requestTimeoutMs: 10_000,
      },
      deli: { enabled: true, brokerUrl: deli.brokerUrl, ...DELI, reconnectMaxMs: 1000 },
    },
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  gateway = new Gateway(result.config, testLogger());
  await gateway.start();
  // Workers known to both platforms, so no punch is settled without an upload.
  await gateway.workers.apply(
    Array.from({ length: WORKERS }, (_, w) => ({
      source: 'local' as const,
      op: 'upsert' as const,
      identity: { gatewayId: `w${w + 1}`, sichuanUserId: `SC${w + 1}`, deliUserId: String(80_001 + w) },
      name: `工人${w + 1}`,
    })),
  );
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([clearing?.stop(), keeping?.stop(), sichuan?.stop(), deli?.stop()]);
  await cleanup();
});

/** Punches on `terminal` at distinct wall times; returns them as `pin|wall time`. */
function punch(terminal: ZkEmulator, count: number): string[] {
  const made: string[] = [];
  for (let i = 0; i < count; i++) {
    const pin = String(1 + (i % WORKERS));
    const s = second++;
    const time = `2026-12-01T08:${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
    terminal.addPunch({ pin, time, verify: 1 });
    made.push(`${pin}|${time}`);
  }
  return made;
}

const atSichuan = () =>
  new Set(sichuan.state().punches.map((r) => `${r.userId.slice(2)}|${r.recogTime.replace(' ', 'T')}`));
const atDeli = () =>
  new Set(
    deli.checkins.flatMap((c) =>
      c.users.map((u) => {
        const wall = new Date((u.timeS + 8 * 3600) * 1000).toISOString().slice(0, 19);
        return `${Number(u.userId) - 80_000}|${wall}`;
      }),
    ),
  );

/** Resolves after `count` more catch-up reads of the terminal have ended. */
async function catchUps(id: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const before = gateway.terminal(id)?.status().lastCatchUpAt ?? 0;
    await waitFor(
      async () => ((gateway.terminal(id)?.status().lastCatchUpAt ?? 0) > before ? true : undefined),
      10_000,
      `a catch-up read of ${id}`,
    );
  }
}

describe('clearLogAfterJournal', () => {
  const first: string[] = [];
  const kept: string[] = [];

  it('keeps the log while one enabled platform has not acknowledged, though the journal and the other have it', async () => {
    await waitFor(
      async () => (gateway.health().terminals.every((t) => t.online) ? true : undefined),
      20_000,
      'both terminals online',
    );
    first.push(...punch(clearing, 5));
    kept.push(...punch(keeping, 3));
    await waitFor(
      async () => ([...first, ...kept].every((k) => atDeli().has(k)) ? true : undefined),
      20_000,
      'every punch at Deli',
    );
    expect(gateway.punchJournal.lastSeq).toBe(8);
    await waitFor(
      async () => ((gateway.outbox('deli')?.cursor ?? 0) >= 8 ? true : undefined),
      10_000,
      'the Deli cursor past every punch',
    );
    // Several polls later, Sichuan still refusing: the log stays whole.
    await catchUps('clearing', 3);
    expect(gateway.outbox('sichuan')?.cursor).toBe(0);
    expect(atSichuan().size).toBe(0);
    expect(clearing.recordCount()).toBe(5);
  });

  it('clears it once every enabled platform has acknowledged, and only on the terminal that asks', async () => {
    sichuan.setFaults({ serverErrorRate: 0 });
    await waitFor(async () => (clearing.recordCount() === 0 ? true : undefined), 20_000, 'the log cleared');
    // By the time the log is empty, both platforms hold every punch it had.
    const sichuanHas = atSichuan();
    const deliHas = atDeli();
    expect(first.filter((k) => !sichuanHas.has(k))).toEqual([]);
    expect(first.filter((k) => !deliHas.has(k))).toEqual([]);
    await waitFor(
      async () => (kept.every((k) => atSichuan().has(k)) ? true : undefined),
      20_000,
      'the other terminal’s punches at Sichuan',
    );
    await catchUps('keeping', 2);
    expect(keeping.recordCount()).toBe(3);
    expect(gateway.terminal('clearing')?.status().lastError ?? '').not.toMatch(/not cleared/);
  });

  it('reads punches taken after the clear exactly once, and clears again when they are delivered', async () => {
    const later = punch(clearing, 4);
    await waitFor(
      async () => (later.every((k) => atSichuan().has(k) && atDeli().has(k)) ? true : undefined),
      20_000,
      'the new punches at both platforms',
    );
    await waitFor(
      async () => (clearing.recordCount() === 0 ? true : undefined),
      20_000,
      'the log cleared again',
    );
    // The journal holds every punch once: nothing lost, nothing read twice after the log restarted.
    expect(gateway.punchJournal.lastSeq).toBe(first.length + kept.length + later.length);
    expect(clearing.attendance()).toEqual([]);
  });
});

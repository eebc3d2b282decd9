import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCommandLines } from '../../adapters/adms/commands';
import { AdmsDriver } from '../../adapters/adms/driver';
import { AdmsEmulator } from '../../adapters/adms/emulator';
import { AdmsServer } from '../../adapters/adms/server';
import { terminalSchema } from '../../config/schema';
import { StateStore } from '../../gateway/store/state';
import { systemClock } from '../../lib/clock';
import { tempDir } from '../support/tmp';
import { capturingLogger, type LogRecord } from './support';

const SN = 'CMDTEST0001';
let server: AdmsServer;
let driver: AdmsDriver;
let url: string;
let logs: LogRecord[];
let cleanup: () => Promise<void>;
let state: StateStore;

const get = async (path: string) => {
  const response = await fetch(`${url}${path}`);
  return { status: response.status, text: await response.text() };
};

beforeEach(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('adms-cmd-'));
  state = new StateStore(`${dir}/state.json`);
  await state.open();
  const captured = capturingLogger();
  logs = captured.records;
  server = new AdmsServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024, delaySeconds: 1, commandTimeoutMs: 300 },
    { logger: captured.logger, clock: systemClock, state },
  );
  url = `http://127.0.0.1:${await server.start()}`;
  const config = terminalSchema.parse({ id: 'face-9', driver: 'adms', sn: SN, direction: 'in' });
  if (config.driver !== 'adms') throw new Error('not adms');
  driver = new AdmsDriver(config, { logger: captured.logger, clock: systemClock, state, server });
  await driver.connect();
});

afterEach(async () => {
  await driver.disconnect();
  await server.stop();
  await cleanup();
});

describe('the command queue over HTTP', () => {
  it('fails a command the device never collected, and never hands it out afterwards', async () => {
    await expect(driver.deleteUser('5')).rejects.toThrow(/never sent/);
    expect(await get(`/iclock/getrequest?SN=${SN}`)).toEqual({ status: 200, text: 'OK' });
  });

  it('fails a handed-out command without a result, does not re-send it, and ignores the late result', async () => {
    const pending = driver.deleteUser('5');
    const outcome = pending.catch((error: Error) => error);
    const first = parseCommandLines((await get(`/iclock/getrequest?SN=${SN}`)).text);
    expect(first).toHaveLength(1);
    expect(first[0]?.text).toBe('DATA DELETE USERINFO PIN=5');
    const error = await outcome;
    expect(String(error)).toMatch(/not re-sent/);
    expect(await get(`/iclock/getrequest?SN=${SN}`)).toEqual({ status: 200, text: 'OK' });
    const late = await fetch(`${url}/iclock/devicecmd?SN=${SN}`, {
      method: 'POST',
      body: `ID=${first[0]?.id}&Return=0&CMD=DATA`,
    });
    expect(late.status).toBe(200);
    expect(logs.some((l) => /after its command had timed out/.test(l.msg))).toBe(true);
  });

  it('matches several results in one devicecmd body to their commands', async () => {
    const a = driver.deleteUser('1');
    const b = driver.deleteUser('2').catch((error: Error) => error);
    const lines = parseCommandLines((await get(`/iclock/getrequest?SN=${SN}`)).text);
    expect(lines.map((l) => l.text)).toEqual(['DATA DELETE USERINFO PIN=1', 'DATA DELETE USERINFO PIN=2']);
    expect(new Set(lines.map((l) => l.id)).size).toBe(2);
    await fetch(`${url}/iclock/devicecmd?SN=${SN}`, {
      method: 'POST',
      body: `ID=${lines[1]?.id}&Return=-1&CMD=DATA\nID=${lines[0]?.id}&Return=0&CMD=DATA\n`,
    });
    await expect(a).resolves.toBeUndefined();
    expect(String(await b)).toMatch(/Return=-1 \(parameter error\)/);
  });

  it('answers 503 to punches before the gateway subscribed, so the device keeps and resends them', async () => {
    const device = new AdmsEmulator({ serverUrl: url, sn: SN, pollMs: 1000, retryMs: 50 });
    await device.start();
    try {
      expect(await device.punchNow('7', { wall: '2026-01-01T08:00:00' })).toBe(false);
      const taken: string[] = [];
      driver.subscribe(async (punches) => {
        taken.push(
          ...punches.map((p) => `${p.pin}@${'wall' in p.time ? p.time.wall : p.time.utcMs}/${p.source}`),
        );
      });
      await device.flush();
      for (let i = 0; i < 100 && taken.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(taken).toEqual(['7@2026-01-01T08:00:00/push']);
      expect(device.unsentCount()).toBe(0);
    } finally {
      await device.stop();
    }
  });

  it('refuses a second terminal with the same serial number', async () => {
    const config = terminalSchema.parse({ id: 'face-10', driver: 'adms', sn: SN, direction: 'in' });
    if (config.driver !== 'adms') throw new Error('not adms');
    const twin = new AdmsDriver(config, {
      logger: capturingLogger().logger,
      clock: systemClock,
      state,
      server,
    });
    await expect(twin.connect()).rejects.toThrow(/already served for terminal face-9/);
  });

  it('is online only while the device keeps calling in', async () => {
    expect(driver.health().online).toBe(false);
    await get(`/iclock/getrequest?SN=${SN}&INFO=Ver 8.0.4.2,12,3,456,10.0.0.9`);
    const health = driver.health();
    expect(health.online).toBe(true);
    expect(health.userCount).toBe(12);
    expect(health.recordCount).toBe(456);
    expect(health.details?.firmware).toBe('Ver 8.0.4.2');
    const batch = await driver.readPunchesSince({ push: true });
    expect(batch).toEqual({ punches: [], cursor: { push: true } });
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCommandLines } from '../../adapters/adms/commands';
import { AdmsDriver } from '../../adapters/adms/driver';
import { AdmsEmulator, type AdmsEmulatorOptions } from '../../adapters/adms/emulator';
import { AdmsServer } from '../../adapters/adms/server';
import { type AdmsTerminalConfig, terminalSchema } from '../../config/schema';
import { StateStore } from '../../gateway/store/state';
import { systemClock } from '../../lib/clock';
import { tempDir } from '../support/tmp';
import { capturingLogger, type LogRecord } from './support';

/**
 * PUSH 3.x ("Security PUSH") firmware may refuse `DATA QUERY USERINFO` with Return=-1002 and only run
 * `DATA QUERY tablename=user,fielddesc=*,filter=*`; 2.x firmware knows only the former. The driver asks
 * in the form the device's pushver suggests, falls back to the other on -1002, and remembers what works.
 */

const SN = 'QFORM000001';
const USER_3X = 'DATA QUERY tablename=user,fielddesc=*,filter=*';
const USERS = ['1', '2', '3'].map((pin) => ({ pin, name: `Worker ${pin}` }));

let dir: string;
let cleanup: () => Promise<void>;
let server: AdmsServer;
let url: string;
let logs: LogRecord[];
let logger: ReturnType<typeof capturingLogger>['logger'];
const drivers: AdmsDriver[] = [];
const devices: AdmsEmulator[] = [];

const config = (): AdmsTerminalConfig => {
  const parsed = terminalSchema.parse({ id: 'face-f', driver: 'adms', sn: SN, direction: 'in' });
  if (parsed.driver !== 'adms') throw new Error('not adms');
  return parsed;
};

/** A driver over a state file read from disk, as after a gateway (re)start. */
const startDriver = async (): Promise<AdmsDriver> => {
  const state = new StateStore(`${dir}/state.json`);
  await state.open();
  const driver = new AdmsDriver(config(), { logger, clock: systemClock, state, server });
  await driver.connect();
  drivers.push(driver);
  return driver;
};

const startDevice = async (options: Partial<AdmsEmulatorOptions>): Promise<AdmsEmulator> => {
  const device = new AdmsEmulator({ serverUrl: url, sn: SN, pollMs: 30, users: USERS, ...options });
  await device.start();
  devices.push(device);
  return device;
};

const post = async (path: string, body: string | Uint8Array) => {
  const response = await fetch(`${url}${path}`, { method: 'POST', body });
  return { status: response.status, text: await response.text() };
};

/** Plays the device by hand: the one command the driver queued, and its id. */
const collect = async (): Promise<{ id: string; text: string }> => {
  const lines = parseCommandLines(await (await fetch(`${url}/iclock/getrequest?SN=${SN}`)).text());
  expect(lines).toHaveLength(1);
  return lines[0] as { id: string; text: string };
};

const names = (users: ReadonlyArray<{ pin: string; name: string }>) => users.map((u) => [u.pin, u.name]);

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('adms-qform-'));
  const captured = capturingLogger();
  logs = captured.records;
  logger = captured.logger;
  const state = new StateStore(`${dir}/server-state.json`);
  await state.open();
  server = new AdmsServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024, delaySeconds: 1, commandTimeoutMs: 5000 },
    { logger, clock: systemClock, state },
  );
  url = `http://127.0.0.1:${await server.start()}`;
});

afterEach(async () => {
  for (const device of devices.splice(0)) await device.stop();
  for (const driver of drivers.splice(0)) await driver.disconnect();
  await server.stop();
  await cleanup();
});

describe('DATA QUERY forms (PUSH 2.x and 3.x) over HTTP', () => {
  it('asks a 3.x-only device again in the 3.x form after -1002, and remembers it across restarts', async () => {
    const before = await startDriver();
    const device = await startDevice({ pushver: '3.1.2', queryForms: '3.x-only' });
    // The gateway restarts; the device keeps polling without a new handshake, so its pushver is unseen.
    await before.disconnect();
    const driver = await startDriver();

    expect(names(await driver.listUsers())).toEqual(names(USERS));
    expect(device.commands()).toEqual([
      { text: 'DATA QUERY USERINFO', returnCode: -1002 },
      { text: USER_3X, returnCode: USERS.length },
    ]);
    expect(logs.some((l) => /refused the PUSH 2\.x DATA QUERY/.test(l.msg))).toBe(true);

    // Templates are read in the form already learned: no second refusal.
    const template = Buffer.from('fingerprint-10-template');
    await driver.writeTemplate({ pin: '2', kind: 'fp', index: 6, format: 'zk-fp10', data: template });
    const read = await driver.readTemplates('2');
    expect(read.map((t) => [t.pin, t.kind, t.index, t.format])).toEqual([['2', 'fp', 6, 'zk-fp10']]);
    expect(Buffer.from(read[0]?.data ?? []).equals(template)).toBe(true);
    expect(device.commands().at(-1)).toEqual({
      text: 'DATA QUERY tablename=templatev10,fielddesc=*,filter=Pin=2',
      returnCode: 1,
    });
    // The refusal it recovered from is no error to show.
    expect(driver.health().lastError).toBeUndefined();
    expect(driver.health().details).toMatchObject({ queryForm: '3.x' });

    // Another restart: the form comes back from the state file, so the 2.x form is never sent again.
    await driver.disconnect();
    const again = await startDriver();
    expect(names(await again.listUsers())).toEqual(names(USERS));
    expect(device.commands().filter((c) => c.returnCode === -1002)).toHaveLength(1);
    expect(device.commands().at(-1)?.text).toBe(USER_3X);
  });

  it('asks a device that announced pushver 3 in the 3.x form from the first query', async () => {
    const driver = await startDriver();
    const device = await startDevice({ pushver: '3.1.2', queryForms: '3.x-only' });
    expect(driver.health().details).toMatchObject({ pushver: '3.1.2' });

    expect(names(await driver.listUsers())).toEqual(names(USERS));
    expect(device.commands()).toEqual([{ text: USER_3X, returnCode: USERS.length }]);
    // Three users in packs of 100: one querydata post.
    expect(device.stats.queryDataPosts).toBe(1);
  });

  it('asks a pushver 3 device that only runs the 2.x form again in the 2.x form', async () => {
    const driver = await startDriver();
    const device = await startDevice({ pushver: '3.1.2', queryForms: '2.x-only' });

    expect(names(await driver.listUsers())).toEqual(names(USERS));
    expect(device.commands()).toEqual([
      { text: USER_3X, returnCode: -1002 },
      { text: 'DATA QUERY USERINFO', returnCode: USERS.length },
    ]);
    expect(driver.health().details).toMatchObject({ queryForm: '2.x' });
  });

  it('keeps asking a PUSH 2.x device in the 2.x form, never trying 3.x', async () => {
    const driver = await startDriver();
    const device = await startDevice({ pushver: '2.4.1' });
    expect(names(await driver.listUsers())).toEqual(names(USERS));
    expect(names(await driver.listUsers())).toEqual(names(USERS));
    expect(device.commands()).toEqual([
      { text: 'DATA QUERY USERINFO', returnCode: USERS.length },
      { text: 'DATA QUERY USERINFO', returnCode: USERS.length },
    ]);
  });

  it('takes a hand-written refusal, then the published 3.x command and answer', async () => {
    const driver = await startDriver();
    const listing = driver.listUsers();
    const refused = await collect();
    expect(refused.text).toBe('DATA QUERY USERINFO');
    expect(await post(`/iclock/devicecmd?SN=${SN}`, `ID=${refused.id}&Return=-1002&CMD=DATA\r\n`)).toEqual({
      status: 200,
      text: 'OK',
    });
    const asked = await collect();
    // Security PUSH protocol, "query data": `C:<id>:DATA QUERY tablename=user,fielddesc=*,filter=*`.
    expect(asked.text).toBe(USER_3X);
    const answer = await post(
      `/iclock/querydata?SN=${SN}&type=tabledata&cmdid=${asked.id}&tablename=user&count=1&packcnt=1&packidx=1`,
      'user uid=1\tcardno=13375590\tpin=982\tpassword=\tgroup=1\tstarttime=0\tendtime=0\tname=Richard\tprivilege=14\tdisable=0\tverify=0\r\n',
    );
    expect(answer).toEqual({ status: 200, text: 'user=1' });
    await post(`/iclock/devicecmd?SN=${SN}`, `ID=${asked.id}&Return=1&CMD=DATA`);
    expect(await listing).toEqual([{ pin: '982', name: 'Richard', privilege: 14, card: 13375590 }]);
  });

  it('fails with the device’s code when both forms are refused, and learns nothing', async () => {
    const driver = await startDriver();
    const listing = driver.listUsers();
    const rejected = expect(listing).rejects.toThrow(/Return=-1002 \(command not supported\)/);
    const first = await collect();
    await post(`/iclock/devicecmd?SN=${SN}`, `ID=${first.id}&Return=-1002&CMD=DATA`);
    const second = await collect();
    expect(second.text).toBe(USER_3X);
    await post(`/iclock/devicecmd?SN=${SN}`, `ID=${second.id}&Return=-1002&CMD=DATA`);
    await rejected;
    expect(driver.health().lastError).toMatch(/tablename=user.*Return=-1002/);
    expect(driver.health().details).not.toHaveProperty('queryForm');
  });

  it('does not retry a query the device failed for another reason', async () => {
    const driver = await startDriver();
    const device = await startDevice({ pushver: '3.1.2', queryForms: 'both' });
    device.failNextCommand(-3);
    await expect(driver.listUsers()).rejects.toThrow(/Return=-3/);
    expect(device.commands()).toEqual([{ text: USER_3X, returnCode: -3 }]);
  });
});

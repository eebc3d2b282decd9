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

const SN = 'QRYTEST0001';
let server: AdmsServer;
let driver: AdmsDriver;
let url: string;
let logs: LogRecord[];
let cleanup: () => Promise<void>;

const post = async (path: string, body: string | Uint8Array) => {
  const response = await fetch(`${url}${path}`, { method: 'POST', body });
  return { status: response.status, text: await response.text() };
};

/** Plays the device by hand: collects the query the driver queued and returns its command id. */
const collectQuery = async (expected: string): Promise<string> => {
  const response = await fetch(`${url}/iclock/getrequest?SN=${SN}`);
  const lines = parseCommandLines(await response.text());
  expect(lines.map((l) => l.text)).toEqual([expected]);
  return lines[0]?.id as string;
};

beforeEach(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('adms-query-'));
  const state = new StateStore(`${dir}/state.json`);
  await state.open();
  const captured = capturingLogger();
  logs = captured.records;
  server = new AdmsServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024, delaySeconds: 1, commandTimeoutMs: 5000 },
    { logger: captured.logger, clock: systemClock, state },
  );
  url = `http://127.0.0.1:${await server.start()}`;
  const config = terminalSchema.parse({ id: 'face-q', driver: 'adms', sn: SN, direction: 'in' });
  if (config.driver !== 'adms') throw new Error('not adms');
  driver = new AdmsDriver(config, { logger: captured.logger, clock: systemClock, state, server });
  await driver.connect();
});

afterEach(async () => {
  await driver.disconnect();
  await server.stop();
  await cleanup();
});

describe('PUSH 3.x query results over HTTP', () => {
  it('takes the published querydata form, written out by hand, as the answer to listUsers', async () => {
    const listing = driver.listUsers();
    const id = await collectQuery('DATA QUERY USERINFO');
    // Security PUSH protocol, "query data": user lines of `key=value` pairs joined by HT (0x09),
    // records ended by CR LF. e5 bc a0 e4 b8 89 is 张三 in UTF-8.
    const body = Buffer.concat([
      Buffer.from('user uid=1\tcardno=\tpin=1\tpassword=\tgroup=1\tstarttime=0\tendtime=0\tname=', 'latin1'),
      Buffer.from('e5bca0e4b889', 'hex'),
      Buffer.from(
        '\tprivilege=0\tdisable=0\tverify=0\r\n' +
          'user uid=2\tcardno=13375590\tpin=982\tpassword=9822\tgroup=1\tstarttime=0\tendtime=0\tname=Richard\tprivilege=14\tdisable=0\tverify=0\r\n',
        'latin1',
      ),
    ]);
    const answer = await post(
      `/iclock/querydata?SN=${SN}&type=tabledata&cmdid=${id}&tablename=user&count=2&packcnt=1&packidx=1`,
      body,
    );
    expect(answer).toEqual({ status: 200, text: 'user=2' });
    expect((await post(`/iclock/devicecmd?SN=${SN}`, `ID=${id}&Return=2&CMD=DATA`)).status).toBe(200);
    expect(await listing).toEqual([
      { pin: '1', name: '张三', privilege: 0 },
      { pin: '982', name: 'Richard', privilege: 14, card: 13375590, password: '9822' },
    ]);
  });

  it('tolerates the firmware variants across the packs of one answer, and logs bad lines', async () => {
    const listing = driver.listUsers();
    const id = await collectQuery('DATA QUERY USERINFO');
    // Pack 1: `type` sent twice (seen in real traces).
    const first = await post(
      `/iclock/querydata?SN=${SN}&type=tabledata&type=tabledata&cmdid=${id}&tablename=user&count=1&packcnt=2&packidx=1`,
      'user uid=7\tcardno=\tpin=7\tpassword=\tgroup=1\tstarttime=0\tendtime=0\tname=Ann\tprivilege=0\n',
    );
    expect(first).toEqual({ status: 200, text: 'user=1' });
    // Pack 2: the table in `type`, lines without a prefix in the 2.x spelling, one of them broken.
    const second = await post(
      `/iclock/querydata?SN=${SN}&type=user&cmdid=${id}&count=2&packcnt=2&packidx=2`,
      'Pin=8\tName=Bo\tPrivilege=0\tCard=101\nPin=\tName=broken\n',
    );
    expect(second).toEqual({ status: 200, text: 'user=2' });
    // An answer to GET OPTIONS carries no records and is simply acknowledged.
    expect(await post(`/iclock/querydata?SN=${SN}&type=options&cmdid=1`, '~DeviceName=X\n')).toEqual({
      status: 200,
      text: 'OK',
    });
    await post(`/iclock/devicecmd?SN=${SN}`, `ID=${id}&Return=3&CMD=DATA`);
    expect((await listing).map((u) => [u.pin, u.name])).toEqual([
      ['7', 'Ann'],
      ['8', 'Bo'],
    ]);
    const warning = logs.find((l) => /malformed lines skipped/.test(l.msg));
    expect(warning).toMatchObject({ table: 'querydata user', count: 1 });
  });

  it('refuses query results from an unconfigured serial number', async () => {
    const answer = await post(
      '/iclock/querydata?SN=STRANGER01&type=tabledata&cmdid=1&tablename=user&count=1&packcnt=1&packidx=1',
      'user uid=1\tpin=1\tname=X\n',
    );
    expect(answer).toEqual({ status: 403, text: 'ERROR: unknown device' });
  });

  it('lists the users and reads the fingerprints of an emulated PUSH 3.x device, pack by pack', async () => {
    const users = ['1', '2', '3', '4', '5'].map((pin) => ({ pin, name: `Worker ${pin}` }));
    const device = new AdmsEmulator({
      serverUrl: url,
      sn: SN,
      pollMs: 30,
      pushver: '3.1.2',
      queryPackSize: 2,
      users,
    });
    await device.start();
    try {
      const listed = await driver.listUsers();
      expect(listed.map((u) => [u.pin, u.name])).toEqual(users.map((u) => [u.pin, u.name]));
      // Five users in packs of two: three querydata posts, and no cdata upload of the answer.
      expect(device.stats.queryDataPosts).toBe(3);

      const template = Buffer.from('fingerprint-10-template');
      await driver.writeTemplate({ pin: '2', kind: 'fp', index: 6, format: 'zk-fp10', data: template });
      const read = await driver.readTemplates('2');
      expect(read).toHaveLength(1);
      expect(read[0]).toMatchObject({ pin: '2', kind: 'fp', index: 6, format: 'zk-fp10' });
      expect(Buffer.from(read[0]?.data ?? []).equals(template)).toBe(true);
      expect(device.stats.queryDataPosts).toBe(4);
    } finally {
      await device.stop();
    }
  });
});

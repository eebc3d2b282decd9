import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import { runEmulatorCli } from '../../cloud/sichuan/emulator-cli';
import { SichuanUpstream } from '../../cloud/sichuan/upstream';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import {
  DEVICE_KEY,
  lookupWorker,
  MemoryState,
  makePunch,
  RecordingRoster,
  SM4_KEY,
  SN,
  selfSignedCert,
  sichuanConfig,
} from './harness';

// These requests are built from the seed's text with node:crypto only, not with our codec,
// so a mistake shared by our client and emulator would show here.
const KEY = Buffer.from(SM4_KEY, 'hex');
const IV = Buffer.alloc(16);
const encrypt = (text: string) => {
  const c = createCipheriv('sm4-cbc', KEY, IV);
  return Buffer.concat([c.update(text, 'utf8'), c.final()]).toString('hex');
};
const decrypt = (hex: string) => {
  const d = createDecipheriv('sm4-cbc', KEY, IV);
  return Buffer.concat([d.update(Buffer.from(hex, 'hex')), d.final()]).toString('utf8');
};
const sign = (values: string[], key = DEVICE_KEY) =>
  createHmac('md5', key).update(values.join('')).digest('hex');
const now = () => String(Math.floor(Date.now() / 1000));

interface Answer {
  Result: number;
  Content: unknown;
  Msg: string;
}

let emulator: SichuanEmulator | undefined;
let base = '';
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function start(): Promise<SichuanEmulator> {
  emulator = new SichuanEmulator({ sn: SN, deviceKey: DEVICE_KEY, sm4Key: SM4_KEY });
  base = await emulator.start();
  return emulator;
}

async function post(endpoint: string, fields: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${base}/${endpoint}`, { method: 'POST', body: new URLSearchParams(fields) });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}

describe('Sichuan platform emulator', () => {
  it('answers a heartbeat signed in upper case, with a Date header', async () => {
    await start();
    const ts = now();
    const res = await fetch(`${base}/Online`, {
      method: 'POST',
      body: new URLSearchParams({ sn: SN, timestamp: ts, sign: sign([SN, ts]).toUpperCase() }),
    });
    expect(Math.abs(Date.parse(res.headers.get('date')!) - Date.now())).toBeLessThan(2000);
    expect(await res.json()).toEqual({ Result: 0, Content: '', Msg: '' });
  });

  it('serves the task queue: Online lists, GetTaskData gives records, RetResult closes', async () => {
    await start();
    const created = await fetch(`${base}/_emulator/tasks`, {
      method: 'POST',
      body: JSON.stringify({ records: [{ userId: 'S1', name: '王五', delType: 2 }] }),
    });
    const { id } = (await created.json()) as { id: string };
    let ts = now();
    const online = await post('Online', { sn: SN, timestamp: ts, sign: sign([SN, ts]) });
    expect(online.Result).toBe(1);
    expect(JSON.parse(decrypt(online.Content as string))).toEqual([{ Id: id, Type: 2 }]);
    ts = now();
    const task = await post('GetTaskData', { sn: SN, id, timestamp: ts, sign: sign([SN, id, ts]) });
    expect(JSON.parse(decrypt(task.Content as string))).toEqual([{ userId: 'S1', name: '王五', delType: 2 }]);
    // A failure without its reason is refused, as the seed requires msg on failure.
    ts = now();
    const noReason = await post('RetResult', {
      sn: SN,
      id,
      result: '1',
      timestamp: ts,
      sign: sign([SN, id, '1', '', ts]),
    });
    expect(noReason.Result).toBe(-99);
    ts = now();
    const done = await post('RetResult', {
      sn: SN,
      id,
      result: '0',
      msg: '',
      timestamp: ts,
      sign: sign([SN, id, '0', '', ts]),
    });
    expect(done.Result).toBe(0);
    ts = now();
    expect((await post('Online', { sn: SN, timestamp: ts, sign: sign([SN, ts]) })).Result).toBe(0);
    ts = now();
    expect((await post('GetTaskData', { sn: SN, id, timestamp: ts, sign: sign([SN, id, ts]) })).Result).toBe(
      -99,
    );
    const state = (await (await fetch(`${base}/_emulator/state`)).json()) as { tasks: { state: string }[] };
    expect(state.tasks[0]?.state).toBe('succeeded');
  });

  it('checks sn, sign, timestamp, record count and formats, and records every violation', async () => {
    const emu = await start();
    const record = { sn: SN, userId: 'S1', type: 1, recogTime: '2026-03-01 08:00:00' };
    const upload = (records: unknown[], overrides: Record<string, string> = {}) => {
      const ts = overrides['timestamp'] ?? now();
      const data = encrypt(JSON.stringify(records));
      const sn = overrides['sn'] ?? SN;
      return post('UploadData', { sn, data, timestamp: ts, sign: sign([sn, data, ts], overrides['key']) });
    };
    expect((await upload([record])).Result).toBe(0);
    expect((await upload(Array(11).fill(record))).Result).toBe(-99);
    expect((await upload([{ ...record, recogTime: '2026-03-01T08:00:00' }])).Result).toBe(-99);
    expect((await upload([{ ...record, recogTime: '2026-02-30 08:00:00' }])).Result).toBe(-99);
    expect((await upload([{ ...record, type: 3 }])).Result).toBe(-99);
    expect((await upload([{ ...record, sn: 'OTHER' }])).Result).toBe(-99);
    expect((await upload([record], { sn: 'UNKNOWN' })).Result).toBe(-1);
    expect((await upload([record], { key: 'wrong' })).Result).toBe(-2);
    expect((await upload([record], { timestamp: String(Math.floor(Date.now() / 1000) - 301) })).Result).toBe(
      -3,
    );
    const json = await fetch(`${base}/Online`, { method: 'POST', body: JSON.stringify({ sn: SN }) });
    expect(((await json.json()) as Answer).Result).toBe(-99);
    const ts = now();
    expect(
      (await post('UploadData', { sn: SN, data: 'zz', timestamp: ts, sign: sign([SN, 'zz', ts]) })).Result,
    ).toBe(-99);
    const reasons = emu.state().violations.map((v) => `${v.result} ${v.reason}`);
    expect(reasons).toEqual([
      expect.stringMatching(/^-99 data holds 11 records \(at most 10\)/),
      expect.stringMatching(/^-99 data\[0\]\.recogTime is not yyyy-MM-dd HH:mm:ss/),
      expect.stringMatching(/^-99 data\[0\]\.recogTime is not a real date/),
      expect.stringMatching(/^-99 data\[0\]\.type is not 1 or 2/),
      expect.stringMatching(/^-99 data\[0\]\.sn "OTHER" is not the device sn/),
      '-1 设备序列号不存在',
      '-2 签名不正确',
      expect.stringMatching(/^-3 数据已失效/),
      expect.stringMatching(/^-99 content type must be application\/x-www-form-urlencoded/),
      expect.stringMatching(/^-99 data does not decrypt/),
    ]);
    expect(emu.state().punches).toEqual([record]);
  });

  it('registers a worker from a multipart form with encrypted Idno and photos', async () => {
    const emu = await start();
    const ts = now();
    const fields: [string, string][] = [
      ['Idno', encrypt('51010019900101123X')],
      ['Name', '张三'],
      ['gender', '1'],
      ['nation', '汉'],
      ['birthday', '1990-01-01'],
      ['address', '四川省成都市'],
      ['idissue', '成都市公安局'],
      ['idperiod', '20100101-20300101'],
      ['idphoto', encrypt(Buffer.from('id photo').toString('base64'))],
      ['photo', encrypt(Buffer.from('face photo').toString('base64'))],
      ['userType', '2'],
      ['sn', SN],
      ['timestamp', ts],
    ];
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    form.append('sign', sign(fields.map(([, v]) => v)));
    const answer = (await (
      await fetch(`${base}/RegistData`, { method: 'POST', body: form })
    ).json()) as Answer;
    expect(answer.Result).toBe(0);
    const { userId } = JSON.parse(decrypt(answer.Content as string)) as { userId: string };
    expect(emu.state().registrations).toMatchObject([
      { userId, idCardNo: '51010019900101123X', userType: '2', photoBytes: 10, idPhotoBytes: 8 },
    ]);
    // The same form url-encoded is refused: the seed says form-data.
    const urlencoded = await post('RegistData', Object.fromEntries([...fields, ['sign', 'x']]));
    expect(urlencoded.Result).toBe(-99);
  });

  it('injects faults set over HTTP: HTTP 500, rate limit, plain-JSON Content, clock skew', async () => {
    await start();
    const set = (plan: object) =>
      fetch(`${base}/_emulator/faults`, { method: 'POST', body: JSON.stringify(plan) });
    await set({ http500Next: 1 });
    let ts = now();
    const res = await fetch(`${base}/Online`, {
      method: 'POST',
      body: new URLSearchParams({ sn: SN, timestamp: ts, sign: sign([SN, ts]) }),
    });
    expect(res.status).toBe(500);
    await set({ rateLimit: { max: 1, perMs: 60_000 } });
    ts = now();
    expect((await post('Online', { sn: SN, timestamp: ts, sign: sign([SN, ts]) })).Result).toBe(0);
    expect((await post('Online', { sn: SN, timestamp: ts, sign: sign([SN, ts]) })).Result).toBe(-4);
    await set({ rateLimit: null, plainJsonContent: true });
    emulator!.addIssueTask([{ userId: 'S1', name: '张三', userType: 1 }]);
    const plain = await post('Online', { sn: SN, timestamp: ts, sign: sign([SN, ts]) });
    expect(plain.Content).toEqual([{ Id: expect.any(String), Type: 1 }]);
    await set({ clockSkewMs: -600_000 });
    const skewed = await fetch(`${base}/Online`, {
      method: 'POST',
      body: new URLSearchParams({ sn: SN, timestamp: ts, sign: sign([SN, ts]) }),
    });
    expect(((await skewed.json()) as Answer).Result).toBe(-3);
    expect(Date.parse(skewed.headers.get('date')!)).toBeLessThan(Date.now() - 590_000);
  });

  it('serves HTTPS; the client trusts it only with caFile (verification stays on)', async () => {
    const { dir, cleanup } = await tempDir('sichuan-tls-');
    try {
      const { key, cert, certFile } = await selfSignedCert(dir);
      emulator = new SichuanEmulator({ sn: SN, deviceKey: DEVICE_KEY, sm4Key: SM4_KEY, tls: { key, cert } });
      base = await emulator.start();
      expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const make = (caFile?: string) =>
        new SichuanUpstream(sichuanConfig(base, caFile ? { caFile } : {}), {
          logger: testLogger(),
          clock: { now: () => Date.now() },
          roster: new RecordingRoster(),
          state: new MemoryState(),
          siteTimezone: 'Asia/Shanghai',
          lookupWorker,
        });
      const untrusted = make();
      const refused = await untrusted.deliver([makePunch(1)]);
      expect(refused.acknowledged).toBe(0);
      expect(refused.error).toMatch(/self-signed|certificate/i);
      await untrusted.stop();
      const trusted = make(certFile);
      expect(await trusted.deliver([makePunch(1)])).toEqual({ acknowledged: 1 });
      await trusted.stop();
      expect(emulator.state().punches).toHaveLength(1);
    } finally {
      await cleanup();
    }
  });

  it('runs from the CLI until SIGINT', async () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const running = runEmulatorCli([
        '--port',
        '0',
        '--sn',
        SN,
        '--device-key',
        DEVICE_KEY,
        '--sm4-key',
        SM4_KEY,
      ]);
      await vi.waitFor(() => expect(lines.join('')).toMatch(/listening on http/));
      base = /(http:\/\/[\d.]+:\d+)/.exec(lines.join(''))![1]!;
      const ts = now();
      expect((await post('Online', { sn: SN, timestamp: ts, sign: sign([SN, ts]) })).Result).toBe(0);
      process.emit('SIGINT');
      await running;
      await expect(fetch(`${base}/_emulator/state`)).rejects.toThrow();
    } finally {
      write.mockRestore();
    }
    await expect(runEmulatorCli(['--sn', SN])).rejects.toThrow(/usage/);
  });
});

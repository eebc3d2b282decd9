import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmsEmulator } from '../../adapters/adms/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import type { TerminalDriver } from '../../gateway/model';
import { tempDir } from '../support/tmp';
import { capturingLogger, eventually, flakyProxy, journaled, type LogRecord } from './support';

const SN = 'SPK7240100098';
const FLAKY_SN = 'SPK7240100099';
const ZONE = 'Asia/Shanghai';
const PHOTO = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2Q==',
  'base64',
);
const MAX_BODY = 16 * 1024;

let cleanup: () => Promise<void>;
let gateway: Gateway;
let emulator: AdmsEmulator;
let serverUrl: string;
let logs: LogRecord[];

const driver = (): TerminalDriver => {
  const supervisor = gateway.terminal('face-1');
  if (!supervisor) throw new Error('no face-1');
  return supervisor.driver;
};
const punches = () => journaled(gateway.punchJournal);

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('adms-gw-'));
  const parsed = validateConfig({
    site: { name: 'adms', timezone: ZONE },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    adms: { host: '127.0.0.1', port: 0, delaySeconds: 1, commandTimeoutMs: 5000, maxBodyBytes: MAX_BODY },
    reconcile: { maxStepsPerSecond: 0 },
    terminals: [
      { id: 'face-1', driver: 'adms', sn: SN, direction: 'state', pollSeconds: 60 },
      { id: 'face-2', driver: 'adms', sn: FLAKY_SN, direction: 'in', pollSeconds: 60 },
    ],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const captured = capturingLogger();
  logs = captured.records;
  gateway = new Gateway(parsed.config, captured.logger, { httpPort: 0 });
  await gateway.start();
  serverUrl = `http://127.0.0.1:${gateway.admsPort}`;
  emulator = new AdmsEmulator({
    serverUrl,
    sn: SN,
    pollMs: 30,
    retryMs: 100,
    users: [{ pin: '1', name: 'Ann' }],
    clockOffsetMs: -3_600_000,
  });
  // The supervisor subscribes right after connect; until then the server answers 503 and the device retries.
  await eventually(
    () => (gateway.health().terminals.some((t) => t.id === 'face-1') ? true : undefined),
    'supervisor',
  );
  await emulator.start();
  await eventually(() => (gateway.terminal('face-1')?.status().online ? true : undefined), 'face-1 online');
});

afterAll(async () => {
  await emulator?.stop();
  await gateway?.stop();
  await cleanup?.();
});

describe('ADMS terminals through a real gateway', () => {
  it('answers the handshake with stamps, real-time mode, the poll delay and the site zone', async () => {
    const response = await fetch(`${serverUrl}/iclock/cdata?SN=${SN}&options=all&pushver=2.4.1`);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text.split('\n')[0]).toBe(`GET OPTION FROM: ${SN}`);
    expect(text).toMatch(/^ATTLOGStamp=(None|\d+)$/m);
    expect(text).toMatch(/^Realtime=1$/m);
    expect(text).toMatch(/^Delay=1$/m);
    expect(text).toMatch(/^TimeZone=8$/m);
    expect(text).toMatch(/^TransFlag=TransData AttLog/m);
  });

  it('journals a pushed punch before answering OK', async () => {
    const before = (await punches()).length;
    const acked = await emulator.punchNow('1', { status: 1, verify: 15, wall: '2026-03-02T08:30:00' });
    expect(acked).toBe(true);
    // No waiting: `OK` came only after the journal append.
    const all = await punches();
    expect(all).toHaveLength(before + 1);
    const punch = all.at(-1);
    expect(punch).toMatchObject({
      terminalId: 'face-1',
      pin: '1',
      method: 'fa',
      direction: 'out',
      source: 'push',
    });
    expect(punch?.atMs).toBe(DateTime.fromISO('2026-03-02T08:30:00', { zone: ZONE }).toMillis());
  });

  it('stores a resent batch once', async () => {
    await emulator.punchNow('1', { wall: '2026-03-02T09:00:00' });
    const before = (await punches()).length;
    const again = await emulator.resendLastBatch();
    expect(again).toEqual({ status: 200, text: 'OK: 1' });
    expect(await punches()).toHaveLength(before);
  });

  it('keeps stamps, so a device that reconnects resends only what is new', async () => {
    await emulator.punchNow('1', { wall: '2026-03-02T10:00:00' });
    const lastStamp = emulator.device.log.length;
    await emulator.stop();
    const options = await emulator.handshake();
    expect(options.get('ATTLOGStamp')).toBe(String(lastStamp));
    const linesBefore = emulator.stats.attlogLinesPosted;
    await emulator.start();
    expect(await emulator.punchNow('1', { wall: '2026-03-02T10:05:00' })).toBe(true);
    expect(emulator.stats.attlogLinesPosted - linesBefore).toBe(1);
  });

  it('refuses and logs an unconfigured serial number', async () => {
    const stranger = new AdmsEmulator({ serverUrl, sn: 'NOTCONFIGURED1' });
    await expect(stranger.start()).rejects.toThrow(/403/);
    const before = (await punches()).length;
    const upload = await stranger.postRaw('ATTLOG', '1\t2026-03-02 08:00:00\t0\t1\t0\t0\t0\n', 5);
    expect(upload.status).toBe(403);
    expect(await punches()).toHaveLength(before);
    expect(logs.some((l) => l.sn === 'NOTCONFIGURED1' && /unconfigured serial number/.test(l.msg))).toBe(
      true,
    );
  });

  it('skips malformed lines with a log line and keeps the good lines of the same body', async () => {
    const before = (await punches()).length;
    const body = [
      '21\t2026-03-03 07:00:00\t0\t1\t0\t0\t0',
      '%%% garbled %%%',
      '22\t2026-13-03 07:00:00\t0\t1\t0\t0\t0',
      '23\t2026-03-03 07:00:01\t0\t1\t0\t0\t0',
    ].join('\n');
    const answer = await emulator.postRaw('ATTLOG', body);
    expect(answer).toEqual({ status: 200, text: 'OK: 2' });
    const added = (await punches()).slice(before);
    expect(added.map((p) => p.pin)).toEqual(['21', '23']);
    const line = logs.find((l) => /malformed lines skipped/.test(l.msg));
    expect(line?.count).toBe(2);
  });

  it('refuses an oversized body with 413 and applies none of it', async () => {
    const before = (await punches()).length;
    const line = '31\t2026-03-04 07:00:00\t0\t1\t0\t0\t0\n';
    const body = line.repeat(Math.ceil((MAX_BODY + 1) / line.length));
    const answer = await emulator.postRaw('ATTLOG', body);
    expect(answer.status).toBe(413);
    expect(await punches()).toHaveLength(before);
    expect(logs.some((l) => /body too large/.test(l.msg))).toBe(true);
  });

  it('adds and removes a user through the command queue', async () => {
    await driver().upsertUser({ pin: '2', name: '张三', card: 1234567, privilege: 0 });
    expect(emulator.users().find((u) => u.pin === '2')).toMatchObject({ name: '张三', card: 1234567 });
    const listed = await driver().listUsers();
    expect(listed.map((u) => u.pin).sort()).toEqual(['1', '2']);
    await driver().deleteUser('2');
    expect(emulator.users().map((u) => u.pin)).toEqual(['1']);
  });

  it('puts a face photo on the terminal as BIOPHOTO, and reports a refusal', async () => {
    await driver().upsertUser({ pin: '3', name: 'Face' });
    await driver().writeTemplate({ pin: '3', kind: 'fa', index: 0, format: 'photo', data: PHOTO });
    expect(emulator.photos().get('3')?.equals(PHOTO)).toBe(true);
    // The device has no user 99: it answers Return=-10 and the driver rejects.
    await expect(
      driver().writeTemplate({ pin: '99', kind: 'fa', index: 0, format: 'photo', data: PHOTO }),
    ).rejects.toThrow(/Return=-10/);
  });

  it('writes many users with fingerprints and photos in one go', async () => {
    const writeUsers = driver().writeUsers;
    if (!writeUsers) throw new Error('the ADMS driver has a bulk write');
    const pollsBefore = emulator.stats.polls;
    const fp = Buffer.from('fingerprint-template-bytes');
    await writeUsers.call(
      driver(),
      ['51', '52', '53'].map((pin) => ({
        user: { pin, name: `Bulk ${pin}` },
        templates: [
          { pin, kind: 'fp' as const, index: 1, format: 'zk-fp10', data: fp },
          { pin, kind: 'fa' as const, index: 0, format: 'photo', data: PHOTO },
        ],
      })),
    );
    for (const pin of ['51', '52', '53']) {
      expect(emulator.users().some((u) => u.pin === pin)).toBe(true);
      expect(emulator.fingerprints(pin).get(1)?.equals(fp)).toBe(true);
      expect(emulator.photos().get(pin)?.equals(PHOTO)).toBe(true);
    }
    // Nine commands, handed out together rather than one per poll.
    expect(emulator.stats.polls - pollsBefore).toBeLessThan(9);
  });

  it('sets the device clock', async () => {
    expect(emulator.clock() < '2030').toBe(true);
    await driver().setTime({ wall: '2030-01-02T03:04:05' });
    expect(emulator.clock()).toMatch(/^2030-01-02T03:04:0\d$/);
    const now = Date.now();
    await driver().setTime({ utcMs: now });
    const expected = DateTime.fromMillis(now, { zone: ZONE }).toFormat("yyyy-MM-dd'T'HH:mm");
    expect(emulator.clock().slice(0, 16)).toBe(expected);
  });

  it('enrols a face and a fingerprint, resolving with the uploaded capture', async () => {
    const face = await driver().startEnrolment('3', 'fa');
    expect(face.pin).toBe('3');
    const photo = face.templates.find((t) => t.format === 'jpeg');
    expect(photo && Buffer.from(photo.data).subarray(0, 2).toString('hex')).toBe('ffd8');
    const finger = await driver().startEnrolment('3', 'fp');
    expect(finger.templates).toHaveLength(1);
    expect(finger.templates[0]).toMatchObject({ pin: '3', kind: 'fp', index: 0, format: 'zk-fp10' });
    const read = await driver().readTemplates('3');
    expect(read.map((t) => t.format).sort()).toEqual(['jpeg', 'zk-fp10']);
  });

  it('survives a server answering 500: the device keeps its punches and pushes them later', async () => {
    const proxy = await flakyProxy(gateway.admsPort as number, 2);
    const flaky = new AdmsEmulator({ serverUrl: proxy.url, sn: FLAKY_SN, pollMs: 50, retryMs: 100 });
    try {
      await flaky.start();
      const before = (await punches()).length;
      const first = await flaky.punchNow('41', { wall: '2026-03-05T07:00:00' });
      expect(first).toBe(false);
      expect(flaky.unsentCount()).toBe(1);
      await flaky.punchNow('42', { wall: '2026-03-05T07:00:01' });
      await eventually(() => (flaky.unsentCount() === 0 ? true : undefined), 'retried push');
      const added = (await punches()).slice(before);
      expect(added.map((p) => [p.terminalId, p.pin]).sort()).toEqual([
        ['face-2', '41'],
        ['face-2', '42'],
      ]);
      expect(proxy.failed()).toBe(2);
    } finally {
      await flaky.stop();
      await proxy.close();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdmsDriver } from '../../adapters/adms/driver';
import { AdmsEmulator } from '../../adapters/adms/emulator';
import { AdmsServer } from '../../adapters/adms/server';
import { terminalSchema } from '../../config/schema';
import type { RawPunch } from '../../gateway/model';
import { StateStore } from '../../gateway/store/state';
import { systemClock } from '../../lib/clock';
import { tempDir } from '../support/tmp';
import { capturingLogger, type LogRecord } from './support';

const SN = 'CAMTEST0001';
let server: AdmsServer;
let driver: AdmsDriver;
let state: StateStore;
let url: string;
let logs: LogRecord[];
let taken: RawPunch[];
let cleanup: () => Promise<void>;
let device: AdmsEmulator | undefined;

const unusedTableWarnings = () =>
  logs.filter((l) => l.level === 40 && l.table === 'ATTPHOTO' && /does not keep/.test(l.msg));

beforeEach(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('adms-photo-'));
  state = new StateStore(`${dir}/state.json`);
  await state.open();
  const captured = capturingLogger();
  logs = captured.records;
  server = new AdmsServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024, delaySeconds: 1, commandTimeoutMs: 5000 },
    { logger: captured.logger, clock: systemClock, state },
  );
  url = `http://127.0.0.1:${await server.start()}`;
  const config = terminalSchema.parse({ id: 'face-c', driver: 'adms', sn: SN, direction: 'in' });
  if (config.driver !== 'adms') throw new Error('not adms');
  driver = new AdmsDriver(config, { logger: captured.logger, clock: systemClock, state, server });
  await driver.connect();
  taken = [];
  driver.subscribe(async (punches) => {
    taken.push(...punches);
  });
});

afterEach(async () => {
  await device?.stop();
  device = undefined;
  await driver.disconnect();
  await server.stop();
  await cleanup();
});

describe('attendance photos (ATTPHOTO)', () => {
  it('are not asked for: no ATTPHOTO stamp, no AttPhoto flag, so a camera terminal keeps its photos', async () => {
    device = new AdmsEmulator({ serverUrl: url, sn: SN, pollMs: 1000, retryMs: 50, camera: 'as-asked' });
    await device.start();
    const options = await device.handshake();
    expect(options.has('ATTPHOTOStamp')).toBe(false);
    expect(options.get('TransFlag')?.split(/\s+/)).not.toContain('AttPhoto');
    expect(await device.punchNow('5', { wall: '2026-04-01T08:00:00' })).toBe(true);
    expect(await device.punchNow('6', { wall: '2026-04-01T08:00:02' })).toBe(true);
    // The camera did take two photos; the device sent the punches and none of the photos.
    expect(device.device.attendancePhotos).toHaveLength(2);
    expect(device.stats.attPhotoPosts).toBe(0);
    expect(taken.map((p) => [p.pin, 'wall' in p.time ? p.time.wall : p.time.utcMs])).toEqual([
      ['5', '2026-04-01T08:00:00'],
      ['6', '2026-04-01T08:00:02'],
    ]);
  });

  it('pushed anyway by firmware that ignores TransFlag: OK so it moves on, one warning, punches intact', async () => {
    device = new AdmsEmulator({ serverUrl: url, sn: SN, pollMs: 1000, retryMs: 50, camera: 'always' });
    await device.start();
    expect(await device.punchNow('5', { wall: '2026-04-01T09:00:00' })).toBe(true);
    expect(await device.punchNow('6', { wall: '2026-04-01T09:00:02' })).toBe(true);
    // Each photo went once and was answered OK: the device does not resend it.
    expect(device.stats.attPhotoPosts).toBe(2);
    expect(device.stats.failedPosts).toBe(0);
    expect(taken.map((p) => p.pin)).toEqual(['5', '6']);
    // The installer hears about it once (it is a device setting to turn off), not per photo.
    const warnings = unusedTableWarnings();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ sn: SN, terminalId: 'face-c' });
    expect(Number(warnings[0]?.bytes)).toBeGreaterThan(2000);
    // Nothing was kept, so no photo stamp is offered at the next handshake either.
    expect((await device.handshake()).has('ATTPHOTOStamp')).toBe(false);
    expect(state.slot<Record<string, string>>(`adms.${SN}.stamps`).get()?.ATTPHOTO).toBeUndefined();
  });
});

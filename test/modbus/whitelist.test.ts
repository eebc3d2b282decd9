import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModbusDriver } from '../../adapters/modbus/driver';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { builtInProfile, loadProfile } from '../../adapters/modbus/profile';
import { systemClock } from '../../lib/clock';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { modbusConfig, pinsOf } from './support';

/** Another device described by a profile file only: low word first, no clock, a whitelist area, own codes. */
const turnstileProfile = {
  ...builtInProfile('event-ring-v1'),
  name: 'turnstile-x',
  wordOrder: 'low-first',
  methods: { '5': 'card', '6': 'fa' },
  directions: { '1': 'in', '2': 'out' },
  clock: undefined,
  whitelist: {
    base: 9000,
    capacity: 40,
    recordRegisters: 4,
    fields: { pin: { offset: 0, type: 'u32' }, card: { offset: 2, type: 'u32' } },
  },
};

describe('a profile file with a whitelist and no clock', () => {
  let emulator: ModbusEmulator;
  let driver: ModbusDriver;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const tmp = await tempDir('modbus-wl-');
    cleanup = tmp.cleanup;
    const file = join(tmp.dir, 'turnstile-x.json');
    await writeFile(file, JSON.stringify(turnstileProfile));
    emulator = new ModbusEmulator({ transport: 'tcp' }, { profile: await loadProfile(file), capacity: 100 });
    await emulator.start();
    const { host, port } = emulator.address();
    driver = new ModbusDriver(modbusConfig({ transport: 'tcp', host, port, profile: file }), {
      logger: testLogger('modbus-wl'),
      clock: systemClock,
    });
    await driver.connect();
  });

  afterEach(async () => {
    await driver.disconnect();
    await emulator.stop();
    await cleanup();
  });

  it('decodes events with the file profile word order and codes', async () => {
    emulator.addEvent({ pin: 0x0001_0002, method: 6, direction: 2 });
    emulator.addEvent({ pin: 77, method: 9 });
    const batch = await driver.readPunchesSince(null);
    expect(pinsOf(batch)).toEqual([0x0001_0002, 77]);
    expect(batch.punches.map((p) => [p.verifyCode, p.direction])).toEqual([
      [2, 'out'],
      [1009, undefined],
    ]);
  });

  it('adds, updates, lists and deletes whitelist users', async () => {
    expect(driver.capabilities()).toMatchObject({ users: true, cards: true, clock: false, maxUsers: 40 });
    await driver.upsertUser({ pin: '1001', name: 'Li Wei', card: 123456 });
    await driver.upsertUser({ pin: '1002', name: 'Zhang San' });
    await driver.upsertUser({ pin: '1001', name: 'Li Wei', card: 654321 });
    expect(await driver.listUsers()).toEqual([
      { pin: '1001', name: '', card: 654321 },
      { pin: '1002', name: '' },
    ]);
    expect(emulator.unit().whitelistPins()).toEqual([1001, 1002]);
    await driver.deleteUser('1001');
    expect(emulator.unit().whitelistPins()).toEqual([1002]);
    await expect(driver.upsertUser({ pin: 'A-7', name: 'x' })).rejects.toThrow(/PINs are numbers/);
    await expect(driver.getTime()).rejects.toThrow(/clock not supported by profile turnstile-x/);
  });
});

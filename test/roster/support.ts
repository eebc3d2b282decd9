import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModbusDriver } from '../../adapters/modbus/driver';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { builtInProfile, loadProfile } from '../../adapters/modbus/profile';
import type { ClockSource, TerminalCapabilities } from '../../gateway/model';
import type { Worker } from '../../gateway/roster/roster';
import { AppliedDigests } from '../../gateway/store/applied-digests';
import type { AppliedRecord } from '../../gateway/store/reconciler-records';
import { systemClock } from '../../lib/clock';
import { modbusConfig } from '../modbus/support';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

/** A ZK fingerprint terminal as its driver describes itself. */
export const ZK_TERMINAL: TerminalCapabilities = {
  realtime: true,
  users: true,
  cards: true,
  fingerprints: true,
  faces: false,
  clock: true,
  enrolment: ['fp'],
  templateFormat: 'zk-fp10',
  maxPinLength: 9,
};

/** An ADMS face terminal: photos, no fingerprint format of ours. */
export const FACE_TERMINAL: TerminalCapabilities = {
  ...ZK_TERMINAL,
  fingerprints: false,
  faces: true,
  templateFormat: undefined,
};

/** An active worker as the roster holds them, with nothing but a PIN and a name. */
export function activeWorker(pin: string): Worker {
  return {
    id: `id-${pin}`,
    pin,
    name: `工人${pin}`,
    identities: {},
    sources: ['local'],
    status: 'active',
    templates: [],
    updatedMs: 0,
  };
}

/** A reconciler record kept in memory; `saved()` is what its last save held, as a file would. */
export function memoryRecord(terminalId = 'test'): AppliedRecord & {
  readonly saved: () => Record<string, string>;
} {
  const digests = new AppliedDigests();
  let saved: Record<string, string> = {};
  return {
    terminalId,
    digests,
    save: async () => {
      saved = Object.fromEntries(digests.entries());
    },
    saved: () => saved,
  };
}

/**
 * A Modbus gate controller with a whitelist of `slots` users (event-ring-v1 plus a whitelist area,
 * described by a profile file as an installer would), and one connected driver per id.
 */
export async function startGate(
  slots: number,
  ids: readonly string[],
  clock: ClockSource = systemClock,
): Promise<{ emulator: ModbusEmulator; drivers: ModbusDriver[]; dir: string; stop: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir('gate-');
  const file = join(dir, `gate-${slots}.json`);
  const profile = {
    ...builtInProfile('event-ring-v1'),
    name: `gate-${slots}`,
    whitelist: {
      base: 9000,
      capacity: slots,
      recordRegisters: 4,
      fields: { pin: { offset: 0, type: 'u32' }, card: { offset: 2, type: 'u32' } },
    },
  };
  await writeFile(file, JSON.stringify(profile));
  const emulator = new ModbusEmulator(
    { transport: 'tcp' },
    { profile: await loadProfile(file), capacity: 100 },
  );
  await emulator.start();
  const { host, port } = emulator.address();
  const drivers: ModbusDriver[] = [];
  for (const id of ids) {
    const config = modbusConfig({ id, transport: 'tcp', host, port, profile: file });
    const driver = new ModbusDriver(config, { logger: testLogger(id), clock });
    await driver.connect();
    drivers.push(driver);
  }
  const stop = async () => {
    for (const driver of drivers) await driver.disconnect();
    await emulator.stop();
    await cleanup();
  };
  return { emulator, drivers, dir, stop };
}

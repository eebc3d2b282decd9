import { afterEach, describe, expect, it } from 'vitest';
import { AdmsDriver } from '../../adapters/adms/driver';
import { runEmulatorCli } from '../../adapters/adms/emulator-cli';
import { AdmsServer } from '../../adapters/adms/server';
import { terminalSchema } from '../../config/schema';
import type { RawPunch } from '../../gateway/model';
import { StateStore } from '../../gateway/store/state';
import { systemClock } from '../../lib/clock';
import { spawnCli } from '../support/cli';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { eventually } from './support';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('emulate adms (the CLI)', () => {
  it('rejects missing or bad options with the usage', async () => {
    await expect(runEmulatorCli(['--sn', 'X1'])).rejects.toThrow(/--server URL is required/);
    await expect(runEmulatorCli(['--server', 'http://127.0.0.1:1', '--sn', 'bad sn'])).rejects.toThrow(
      /--sn/,
    );
    await expect(
      runEmulatorCli(['--server', 'http://127.0.0.1:1', '--sn', 'X1', '--punch-every', '-1']),
    ).rejects.toThrow(/--punch-every/);
    await expect(
      runEmulatorCli(['--server', 'http://127.0.0.1:1', '--sn', 'X1', '--pushver', 'three']),
    ).rejects.toThrow(/--pushver is like 3.1.2/);
    await expect(
      runEmulatorCli(['--server', 'http://127.0.0.1:1', '--sn', 'X1', '--camera', 'sometimes']),
    ).rejects.toThrow(/--camera is as-asked or always/);
    await expect(
      runEmulatorCli(['--server', 'http://127.0.0.1:1', '--sn', 'X1', '--query-forms', '3.x']),
    ).rejects.toThrow(/--query-forms is 2.x-only, both or 3.x-only/);
  });

  it('runs a PUSH 3.x-only terminal that handshakes, pushes punches and answers queries until SIGTERM', async () => {
    const { dir, cleanup } = await tempDir('adms-cli-');
    cleanups.push(cleanup);
    const state = new StateStore(`${dir}/state.json`);
    await state.open();
    const server = new AdmsServer(
      { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, delaySeconds: 1 },
      { logger: testLogger(), clock: systemClock, state },
    );
    const port = await server.start();
    cleanups.push(() => server.stop());
    const config = terminalSchema.parse({ id: 'cli', driver: 'adms', sn: 'CLI0001', direction: 'in' });
    if (config.driver !== 'adms') throw new Error('not adms');
    const driver = new AdmsDriver(config, { logger: testLogger(), clock: systemClock, state, server });
    await driver.connect();
    const punches: RawPunch[] = [];
    driver.subscribe(async (batch) => {
      punches.push(...batch);
    });
    const child = spawnCli([
      'emulate',
      'adms',
      '--server',
      `http://127.0.0.1:${port}`,
      '--sn',
      'CLI0001',
      '--punch-every',
      '0.2',
      '--pushver',
      '3.1.2',
      '--query-forms',
      '3.x-only',
    ]);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    cleanups.push(async () => {
      child.kill('SIGKILL');
    });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    await eventually(() => (punches.length >= 2 ? true : undefined), 'punches from the CLI emulator', 20_000);
    expect(stdout).toContain('adms emulator CLI0001 pushing to');
    expect(punches[0]).toMatchObject({ terminalId: 'cli', source: 'push' });
    // Asked in the 3.x form (it announced pushver 3.1.2 and refuses the 2.x one); answered through /iclock/querydata.
    const users = await driver.listUsers();
    expect(users.map((u) => u.pin)).toEqual(['1', '2', '3', '4', '5']);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

import { ZkDriver } from '../../adapters/zk/driver';
import { ZkEmulator, type ZkEmulatorOptions } from '../../adapters/zk/emulator';
import { terminalSchema, type ZkTerminalConfig } from '../../config/schema';
import { systemClock } from '../../lib/clock';
import { testLogger } from '../support/logger';

/** Emulators and drivers a test started, stopped in afterEach. */
export class Lab {
  private readonly emulators: ZkEmulator[] = [];
  private readonly drivers: ZkDriver[] = [];

  async emulator(options: ZkEmulatorOptions = {}): Promise<ZkEmulator> {
    const emulator = new ZkEmulator(options);
    await emulator.start();
    this.emulators.push(emulator);
    return emulator;
  }

  driver(
    port: number,
    overrides: Partial<ZkTerminalConfig> = {},
    id = `zk${this.drivers.length + 1}`,
  ): ZkDriver {
    const config = terminalSchema.parse({
      id,
      driver: 'zk',
      direction: 'state',
      host: '127.0.0.1',
      port,
      timeoutMs: 2000,
      ...overrides,
    }) as ZkTerminalConfig;
    const driver = new ZkDriver(config, { logger: testLogger('zk'), clock: systemClock });
    this.drivers.push(driver);
    return driver;
  }

  async cleanup(): Promise<void> {
    for (const d of this.drivers.splice(0)) await d.disconnect().catch(() => undefined);
    for (const e of this.emulators.splice(0)) await e.stop();
  }
}

export async function waitFor(done: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * How the emulated firmware answers commands that return data: with ACK_OK (most firmware) or
 * with ACK_DATA everywhere (some firmware). The driver tests run against both.
 */
export const REPLY_MODES: readonly { replies: string; options: ZkEmulatorOptions }[] = [
  { replies: 'ACK_OK', options: {} },
  { replies: 'ACK_DATA', options: { ackData: 'data' } },
];

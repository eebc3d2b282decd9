import { afterEach, describe, expect, it } from 'vitest';
import { ZkDriver } from '../../adapters/zk/driver';
import { terminalSchema, type ZkTerminalConfig } from '../../config/schema';
import { systemClock } from '../../lib/clock';
import { testLogger } from '../support/logger';
import { Lab } from './support';

const lab = new Lab();
afterEach(() => lab.cleanup());

/** A driver that lets go of the user table `keepMs` after its last use. */
function driverFor(port: number, keepMs: number): ZkDriver {
  const config = terminalSchema.parse({
    id: 'table',
    driver: 'zk',
    direction: 'in',
    host: '127.0.0.1',
    port,
    timeoutMs: 2000,
  }) as ZkTerminalConfig;
  return new ZkDriver(config, { logger: testLogger('zk'), clock: systemClock, userTableKeepMs: keepMs });
}

describe("the driver's copy of the terminal's user table", () => {
  it('is let go once writes are over, and a later write reads it again and numbers users right', async () => {
    const zk = await lab.emulator({ users: 300, records: 0 });
    const driver = driverFor(zk.port, 300);
    await driver.connect();
    try {
      expect(await driver.listUsers()).toHaveLength(300);
      expect(driver.heldUsers).toBe(300);
      await driver.upsertUser({ pin: '9001', name: '新人甲' });
      expect(driver.heldUsers).toBe(301);
      // Idle: 20 terminals × 5,000 users kept for good cost 17 MB (docs/history.md).
      await new Promise((r) => setTimeout(r, 600));
      expect(driver.heldUsers).toBe(0);
      // The next write needs user numbers again: it reads the table and takes the next free one.
      await driver.upsertUser({ pin: '9002', name: '新人乙' });
      const users = zk.users();
      const uids = users.map((u) => u.uid);
      expect(new Set(uids).size).toBe(uids.length);
      expect(users.find((u) => u.pin === '9002')?.uid).toBe(Math.max(...uids));
      expect(users.find((u) => u.pin === '9001')?.uid).toBe(301);
      expect(users.find((u) => u.pin === '9002')?.uid).toBe(302);
    } finally {
      await driver.disconnect();
    }
  });

  it('stays while writes keep coming, however long the pass', async () => {
    const zk = await lab.emulator({ users: 50, records: 0 });
    const driver = driverFor(zk.port, 300);
    await driver.connect();
    try {
      await driver.listUsers();
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 150));
        await driver.upsertUser({ pin: String(7000 + i), name: `工人${i}` });
        expect(driver.heldUsers).toBe(51 + i);
      }
    } finally {
      await driver.disconnect();
    }
  });
});

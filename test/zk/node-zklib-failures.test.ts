import { afterEach, describe, expect, it } from 'vitest';
import type { ZkEmulatorOptions } from '../../adapters/zk/emulator';
import { type NodeZkLib, nodeZkLib } from './node-zklib';
import { Lab, waitFor } from './support';

/**
 * What node-zklib 1.3.0 gets wrong, shown against the same emulator our driver reads correctly.
 * These back docs/zk.md's reasons for writing our own protocol layer.
 */
const lab = new Lab();
const clients: NodeZkLib[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect().catch(() => undefined);
  await lab.cleanup();
});

async function both(options: ZkEmulatorOptions) {
  const emulator = await lab.emulator(options);
  const client = nodeZkLib(emulator.port);
  clients.push(client);
  await client.createSocket();
  const driver = lab.driver(emulator.port, { encoding: options.encoding ?? 'gb18030' });
  await driver.connect();
  return { emulator, client, driver };
}

describe('node-zklib failures our driver does not have', () => {
  it('destroys a Chinese name by decoding it as ASCII', async () => {
    const { client, driver } = await both({
      users: [{ pin: '1', name: '张三丰', card: 1 }],
      encoding: 'gb18030',
    });
    const theirs = await client.getUsers();
    expect(theirs.data[0]?.name).not.toBe('张三丰');
    expect(theirs.data[0]?.name).toMatch(/^[ -~\0]*$/);
    expect((await driver.listUsers())[0]?.name).toBe('张三丰');
  });

  it('stalls and returns a short log when packets coalesce; our driver reads it all', async () => {
    const { client, driver } = await both({ users: 5, records: 6000, mode: 'chunked', coalesce: true });
    const ours = await driver.readPunchesSince(null);
    expect(ours.punches).toHaveLength(6000);
    const started = Date.now();
    const theirs = await client.getAttendances();
    expect(theirs.err?.message).toMatch(/TIME OUT/);
    expect(theirs.data.length).toBeLessThan(6000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9000);
  }, 30_000);

  it('loses real-time events after a bulk read on the same connection and never acknowledges them', async () => {
    const { emulator, client, driver } = await both({
      users: 3,
      records: 3000,
      mode: 'chunked',
      packetGapMs: 10,
    });
    expect((await client.getAttendances()).data).toHaveLength(3000);
    const theirs: unknown[] = [];
    await client.getRealTimeLogs((e) => theirs.push(e));
    const ours: unknown[] = [];
    driver.subscribe(async (p) => {
      ours.push(...p);
    });
    await driver.readPunchesSince(null);
    await new Promise((r) => setTimeout(r, 100));
    emulator.addPunch({ pin: '2', time: '2030-01-01T08:00:00' });
    await waitFor(() => ours.length === 1 && emulator.stats.eventAcks === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(emulator.stats.eventsSent).toBe(2);
    expect(theirs).toHaveLength(0);
    expect(emulator.stats.eventAcks).toBe(1);
  });

  it('cannot authenticate with a communication key', async () => {
    const emulator = await lab.emulator({ users: 2, records: 5, commKey: 4242 });
    const client = nodeZkLib(emulator.port);
    clients.push(client);
    await client.createSocket();
    await expect(client.getInfo()).rejects.toBeTruthy();
    const driver = lab.driver(emulator.port, { commKey: 4242 });
    await driver.connect();
    expect((await driver.readPunchesSince(null)).punches).toHaveLength(5);
  });

  it('lacks user writes, templates and clock operations', async () => {
    const { client } = await both({ users: 2, records: 5 });
    for (const op of ['setUser', 'deleteUser', 'setTime', 'getTime', 'getTemplates'])
      expect(op in (client as unknown as Record<string, unknown>)).toBe(false);
  });
});

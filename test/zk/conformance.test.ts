import { afterEach, describe, expect, it } from 'vitest';
import { ZkEmulator, type ZkEmulatorOptions } from '../../adapters/zk/emulator';
import { type NodeZkLib, nodeZkLib } from './node-zklib';

/** Unmodified node-zklib 1.3.0 against our emulator: the emulator speaks the protocol real clients expect. */
describe('node-zklib against the ZK emulator', () => {
  const running: ZkEmulator[] = [];
  const clients: NodeZkLib[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.disconnect().catch(() => undefined);
    for (const e of running.splice(0)) await e.stop();
  });
  async function start(options: ZkEmulatorOptions): Promise<{ emulator: ZkEmulator; client: NodeZkLib }> {
    // 10 ms between packets: node-zklib handles one packet per socket read, so even on a loaded
    // machine each packet must arrive in a read of its own.
    const emulator = new ZkEmulator({ packetGapMs: 10, ...options });
    const port = await emulator.start();
    running.push(emulator);
    const client = nodeZkLib(port);
    clients.push(client);
    await client.createSocket();
    return { emulator, client };
  }

  it('reads info, users and 6,000 attendance records (chunked, not coalesced)', async () => {
    const { emulator, client } = await start({ users: 25, records: 6000, mode: 'chunked', encoding: 'utf8' });
    const info = await client.getInfo();
    // Its checksum is computed before it bumps the reply number, and off by one: the two cancel out.
    expect(emulator.stats.badChecksums).toBe(0);
    expect(info).toEqual({ userCounts: 25, logCounts: 6000, logCapacity: 200_000 });
    const users = await client.getUsers();
    expect(users.err).toBeNull();
    expect(users.data).toHaveLength(25);
    expect(users.data[0]?.userId).toBe('1');
    expect(users.data[0]?.cardno).toBe(100_000);
    const logs = await client.getAttendances();
    expect(logs.err).toBeNull();
    expect(logs.data).toHaveLength(6000);
    const expected = emulator.attendance();
    expect(logs.data.map((r) => r.deviceUserId)).toEqual(expected.map((r) => r.pin));
    // node-zklib builds a Date in the process's zone from the wall time: compare wall parts.
    const last = logs.data[5999]?.recordTime as Date;
    const wall = `${last.getFullYear()}-${pad(last.getMonth() + 1)}-${pad(last.getDate())}T${pad(last.getHours())}:${pad(last.getMinutes())}:${pad(last.getSeconds())}`;
    expect(wall).toBe(expected[5999]?.time);
  });

  it('reads 6,000 records answered inline (single CMD_DATA)', async () => {
    const { client } = await start({ users: 3, records: 6000, mode: 'single' });
    const logs = await client.getAttendances();
    expect(logs.err ?? null).toBeNull();
    expect(logs.data).toHaveLength(6000);
  });

  it('receives a real-time punch on a fresh connection', async () => {
    const { emulator, client } = await start({ users: 3, records: 10 });
    const events: { userId: string; attTime: Date }[] = [];
    await client.getRealTimeLogs((e) => events.push(e));
    await waitFor(() => emulator.sessionCount() === 1 && emulator.stats.commands >= 2);
    await new Promise((r) => setTimeout(r, 50));
    emulator.addPunch({ pin: '2', time: '2026-03-04T07:08:09', verify: 15 });
    await waitFor(() => events.length === 1);
    expect(events[0]?.userId).toBe('2');
    expect(events[0]?.attTime.getHours()).toBe(7);
    expect(events[0]?.attTime.getSeconds()).toBe(9);
  });
});

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

async function waitFor(done: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

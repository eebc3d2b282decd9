import { afterEach, describe, expect, it } from 'vitest';
import type { ZkEmulatorOptions } from '../../adapters/zk/emulator';
import type { RawPunch } from '../../gateway/model';
import { Lab, REPLY_MODES } from './support';

const lab = new Lab();
afterEach(() => lab.cleanup());

const key = (p: RawPunch) => `${p.pin}|${'wall' in p.time ? p.time.wall : p.time.utcMs}`;

/** A listener that records every call, as the supervisor's ingest would receive them. */
function collector() {
  const calls: RawPunch[][] = [];
  return {
    calls,
    punches: () => calls.flat(),
    listener: async (punches: readonly RawPunch[]) => {
      calls.push([...punches]);
    },
  };
}

describe.each(REPLY_MODES)('ZkDriver streamed catch-up (replies $replies)', ({ options: replyOptions }) => {
  const startEmulator = (options: ZkEmulatorOptions = {}) => lab.emulator({ ...replyOptions, ...options });

  it('hands 100,000 punches over in several calls, in order, none lost or repeated', async () => {
    const emulator = await startEmulator({ users: 50, records: 100_000, mode: 'chunked', coalesce: true });
    const driver = lab.driver(emulator.port);
    await driver.connect();
    const seen = collector();
    const batch = await driver.readPunchesSince(null, seen.listener);
    expect(seen.calls.length).toBeGreaterThan(1);
    const all = [...seen.punches(), ...batch.punches].map(key);
    expect(all).toEqual(emulator.attendance().map((r) => `${r.pin}|${r.time}`));
    expect(batch.cursor).toMatchObject({ records: 100_000 });
    const again = collector();
    const steady = await driver.readPunchesSince(batch.cursor, again.listener);
    expect(steady.punches).toHaveLength(0);
    expect(again.calls).toHaveLength(0);
  });

  it('streams only what follows the cursor, even when it falls inside a chunk', async () => {
    const emulator = await startEmulator({ users: 9, records: 5000, mode: 'chunked' });
    const driver = lab.driver(emulator.port);
    await driver.connect();
    const first = await driver.readPunchesSince(null);
    // 5,000 records of 40 bytes end inside the fourth 64 KB chunk: the new ones start mid-chunk.
    for (let i = 0; i < 200; i++)
      emulator.addPunch({
        pin: String((i % 9) + 1),
        time: `2031-02-01T10:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
      });
    const seen = collector();
    const next = await driver.readPunchesSince(first.cursor, seen.listener);
    expect(seen.calls.length).toBeGreaterThan(0);
    const got = [...seen.punches(), ...next.punches].map(key);
    expect(got).toEqual(
      emulator
        .attendance()
        .slice(5000)
        .map((r) => `${r.pin}|${r.time}`),
    );
    expect(next.cursorReset).toBeUndefined();
  });

  it('a read cut mid-stream and read again from the stored cursor loses nothing', async () => {
    const emulator = await startEmulator({ users: 5, records: 20_000, mode: 'chunked' });
    const driver = lab.driver(emulator.port);
    await driver.connect();
    const cut = collector();
    emulator.faults.dropAfterBytes = 300_000;
    await expect(driver.readPunchesSince(null, cut.listener)).rejects.toThrow();
    const expected = emulator.attendance().map((r) => `${r.pin}|${r.time}`);
    const before = cut.punches().map(key);
    // Some punches went over before the cut, all of them the log's first ones, in order.
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(expected.length);
    expect(before).toEqual(expected.slice(0, before.length));
    emulator.faults.dropAfterBytes = undefined;
    await driver.connect();
    // The cursor was never stored: the supervisor reads from the same place again.
    const resumed = collector();
    const batch = await driver.readPunchesSince(null, resumed.listener);
    const after = [...resumed.punches(), ...batch.punches].map(key);
    expect(after).toEqual(expected);
    // What de-duplication sees: the union is the log, once each.
    expect(new Set([...before, ...after]).size).toBe(expected.length);
  });

  it('a failing listener fails the read after the download, and gets no call after its failure', async () => {
    const emulator = await startEmulator({ users: 5, records: 20_000, mode: 'chunked' });
    const driver = lab.driver(emulator.port);
    await driver.connect();
    let calls = 0;
    await expect(
      driver.readPunchesSince(null, async () => {
        calls++;
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(calls).toBe(1);
    // The link is fine: the next read works.
    expect((await driver.readPunchesSince(null)).punches).toHaveLength(20_000);
  });
});

describe('ZkSession chunked read hand-over', () => {
  it('a hand-over that throws ends the read after the request on the wire, and the session goes on', async () => {
    const { openTcpLink } = await import('../../adapters/zk/link');
    const { ZkSession } = await import('../../adapters/zk/session');
    const { READ_ATTENDANCE } = await import('../../adapters/zk/requests');
    const { Cmd } = await import('../../adapters/zk/constants');
    const emulator = await lab.emulator({ users: 5, records: 5000, mode: 'chunked', coalesce: false });
    let session: InstanceType<typeof ZkSession> | undefined;
    const link = await openTcpLink('127.0.0.1', emulator.port, 2000, {
      onBody: (body) => session?.receive(body),
      onClose: () => undefined,
    });
    session = new ZkSession(link, {
      timeoutMs: 2000,
      onEvent: () => undefined,
    });
    try {
      await session.open();
      const handedOn: number[] = [];
      const read = session.readBuffer(READ_ATTENDANCE, 'attendance log', (got) => {
        handedOn.push(got);
        if (handedOn.length === 2) throw new Error('journal refused');
      });
      await expect(read).rejects.toThrow('journal refused');
      // Thrown while the third chunk was asked for: that chunk was received before the error went on.
      expect(handedOn).toEqual([65_472, 130_944]);
      // Nothing of the abandoned read arrives late to be mistaken for the next answer.
      const table = await session.readBuffer(READ_ATTENDANCE, 'attendance log');
      expect(table.readUInt32LE(0)).toBe(5000 * 40);
      const reply = await session.request(Cmd.GET_FREE_SIZES);
      expect(reply.command).toBe(Cmd.ACK_OK);
    } finally {
      await link.close();
    }
  });
});

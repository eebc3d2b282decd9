import { afterEach, describe, expect, it } from 'vitest';
import type { ZkEmulatorOptions } from '../../adapters/zk/emulator';
import type { PunchCursor, RawPunch } from '../../gateway/model';
import { Lab, REPLY_MODES } from './support';

const lab = new Lab();
afterEach(() => lab.cleanup());

const key = (p: RawPunch) => `${p.pin}|${'wall' in p.time ? p.time.wall : p.time.utcMs}`;

describe.each(REPLY_MODES)(
  'ZkDriver bulk reads against the emulator (replies $replies)',
  ({ options: replyOptions }) => {
    const startEmulator = (options: ZkEmulatorOptions = {}) => lab.emulator({ ...replyOptions, ...options });

    for (const mode of ['single', 'chunked', 'ackdata'] as const) {
      for (const coalesce of [false, true]) {
        it(`reads 3,000 records answered ${mode}${coalesce ? ', coalesced' : ''}`, async () => {
          const emulator = await startEmulator({ users: 7, records: 3000, mode, coalesce });
          const driver = lab.driver(emulator.port);
          await driver.connect();
          const batch = await driver.readPunchesSince(null);
          expect(batch.punches).toHaveLength(3000);
          const expected = emulator.attendance();
          expect(batch.punches.map(key)).toEqual(expected.map((r) => `${r.pin}|${r.time}`));
          expect(batch.punches[2]).toMatchObject({
            terminalId: 'zk1',
            verifyCode: 2,
            state: 0,
            source: 'poll',
          });
          expect(batch.cursor).toEqual({ records: 3000, anchor: `${expected[0]?.pin}|${expected[0]?.time}` });
        });
      }
    }

    it('survives packets split into 7-byte pieces and garbage before every reply', async () => {
      const emulator = await startEmulator({
        users: 3,
        records: 500,
        faults: { splitBytes: 7, garbageBytes: 13 },
      });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      const batch = await driver.readPunchesSince(null);
      expect(batch.punches).toHaveLength(500);
      expect(driver.health().details?.['skippedBytes']).toBeGreaterThan(0);
      expect(driver.health().online).toBe(true);
    });

    it('downloads 100,000 records', async () => {
      const emulator = await startEmulator({ users: 50, records: 100_000, mode: 'chunked', coalesce: true });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      const batch = await driver.readPunchesSince(null);
      expect(batch.punches).toHaveLength(100_000);
      expect(batch.punches[99_999]?.pin).toBe(emulator.attendance()[99_999]?.pin);
      expect(driver.health()).toMatchObject({ online: true, recordCount: 100_000, userCount: 50 });
    });

    it('loses nothing and duplicates nothing when the link drops mid-download', async () => {
      const emulator = await startEmulator({ users: 5, records: 4000, mode: 'chunked' });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      const first = await driver.readPunchesSince(null);
      for (let i = 0; i < 200; i++)
        emulator.addPunch({
          pin: String((i % 5) + 1),
          time: `2030-01-01T10:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
        });
      const disconnects: Error[] = [];
      driver.onDisconnect((e) => disconnects.push(e));
      emulator.faults.dropAfterBytes = 60_000;
      await expect(driver.readPunchesSince(first.cursor)).rejects.toThrow();
      expect(disconnects).toHaveLength(1);
      expect(driver.health().online).toBe(false);
      expect(driver.health().lastError).toBeTruthy();
      await driver.connect();
      const second = await driver.readPunchesSince(first.cursor);
      const all = [...first.punches, ...second.punches].map(key);
      expect(all).toHaveLength(4200);
      expect(new Set(all).size).toBe(emulator.attendance().length);
      expect(second.cursorReset).toBeUndefined();
      const third = await driver.readPunchesSince(second.cursor);
      expect(third.punches).toHaveLength(0);
    });

    it('resets the cursor when the terminal reboots with an empty log, then reads new punches once', async () => {
      const emulator = await startEmulator({ users: 5, records: 300 });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      let cursor: PunchCursor = (await driver.readPunchesSince(null)).cursor;
      const dropped = new Promise<Error>((resolve) => driver.onDisconnect(resolve));
      emulator.reboot();
      await dropped;
      emulator.addPunch({ pin: '3', time: '2031-05-06T07:08:09' });
      await driver.connect();
      const after = await driver.readPunchesSince(cursor);
      expect(after.cursorReset).toBe(true);
      expect(after.punches.map(key)).toEqual(['3|2031-05-06T07:08:09']);
      cursor = after.cursor;
      // Cleared and refilled past the old count: the anchor (first record) tells.
      emulator.clearLog();
      for (let i = 0; i < 3; i++) emulator.addPunch({ pin: '4', time: `2031-05-07T07:08:0${i}` });
      const refilled = await driver.readPunchesSince(cursor);
      expect(refilled.cursorReset).toBe(true);
      expect(refilled.punches).toHaveLength(3);
      const steady = await driver.readPunchesSince(refilled.cursor);
      expect(steady.punches).toHaveLength(0);
      expect(steady.cursorReset).toBeUndefined();
    });

    it('clears the log only when asked and only when every record is journaled', async () => {
      const emulator = await startEmulator({ users: 3, records: 50 });
      const off = lab.driver(emulator.port);
      await off.connect();
      const read = await off.readPunchesSince(null);
      expect(await off.clearJournaledLog(read.cursor)).toBeNull();
      expect(emulator.recordCount()).toBe(50);
      const on = lab.driver(emulator.port, { clearLogAfterJournal: true });
      await on.connect();
      emulator.addPunch({ pin: '1', time: '2030-01-01T00:00:00' });
      // A punch not yet journaled: nothing is cleared.
      expect(await on.clearJournaledLog(read.cursor)).toBeNull();
      expect(emulator.recordCount()).toBe(51);
      const all = await on.readPunchesSince(read.cursor);
      expect(all.punches).toHaveLength(1);
      const next = await on.clearJournaledLog(all.cursor);
      expect(next).toEqual({ records: 0, anchor: null });
      expect(emulator.recordCount()).toBe(0);
      expect(on.health().details?.['lastPunch']).toBe('2030-01-01T00:00:00');
      emulator.addPunch({ pin: '2', time: '2030-01-01T00:00:05' });
      const after = await on.readPunchesSince(next);
      expect(after.punches.map((p) => p.pin)).toEqual(['2']);
      expect(after.cursorReset).toBeUndefined();
    });
  },
);

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModbusDriver } from '../../adapters/modbus/driver';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { systemClock } from '../../lib/clock';
import { testLogger } from '../support/logger';
import { eventKey, modbusConfig, persisted, pinsOf, punchKey, type WrittenEvent } from './support';

const T0 = 1_750_000_000;
/** Later than T0 in both 16-bit halves, so a time made of one's high word and the other's low word is neither. */
const T1 = T0 + 0x2_0777;
/** event-ring-v1: the ring starts at register 100, 8 registers a record, time at +4 (high) and +5 (low). */
const slotRegister = (slot: number, offset: number) => 100 + slot * 8 + offset;

describe('Modbus TCP driver against the emulator (event-ring-v1)', () => {
  let emulator: ModbusEmulator;
  let drivers: ModbusDriver[] = [];

  async function startEmulator(capacity = 20): Promise<void> {
    emulator = new ModbusEmulator({ transport: 'tcp', port: 0 }, { capacity, units: [1] });
    await emulator.start();
  }

  function driver(overrides: Record<string, unknown> = {}): ModbusDriver {
    const { host, port } = emulator.address();
    const d = new ModbusDriver(modbusConfig({ transport: 'tcp', host, port, timeoutMs: 200, ...overrides }), {
      logger: testLogger('modbus'),
      clock: systemClock,
    });
    drivers.push(d);
    return d;
  }

  beforeEach(async () => {
    await startEmulator();
  });

  afterEach(async () => {
    for (const d of drivers) await d.disconnect();
    drivers = [];
    await emulator.stop();
  });

  it('listens on an ephemeral port and reads new events in order, with time, method and direction', async () => {
    expect(emulator.address().port).toBeGreaterThan(0);
    const d = driver();
    await d.connect();
    expect(d.capabilities()).toMatchObject({ realtime: false, users: false, clock: true });
    const empty = await d.readPunchesSince(null);
    expect(empty.punches).toEqual([]);

    emulator.addEvent({ pin: 7, timeSec: T0, method: 0, direction: 1 });
    emulator.addEvent({ pin: 8, timeSec: T0 + 1, method: 2, direction: 2 });
    emulator.addEvent({ pin: 9, timeSec: T0 + 2, method: 3, direction: 0 });
    const batch = await d.readPunchesSince(empty.cursor);
    expect(batch.punches).toEqual([
      {
        terminalId: 'mb1',
        pin: '7',
        time: { utcMs: T0 * 1000 },
        verifyCode: 0,
        direction: 'in',
        source: 'poll',
      },
      {
        terminalId: 'mb1',
        pin: '8',
        time: { utcMs: (T0 + 1) * 1000 },
        verifyCode: 2,
        direction: 'out',
        source: 'poll',
      },
      { terminalId: 'mb1', pin: '9', time: { utcMs: (T0 + 2) * 1000 }, verifyCode: 3, source: 'poll' },
    ]);
    expect(batch.cursorReset).toBeUndefined();
    expect(batch.cursor['next']).toBe(3);
    // Nothing new: nothing read twice.
    const again = await d.readPunchesSince(batch.cursor);
    expect(again.punches).toEqual([]);
    expect(d.subscribe(async () => undefined)).toBeTypeOf('function');
  });

  it('follows the ring across its end and across the u32 counter wrap', async () => {
    const d = driver();
    await d.connect();
    const unit = emulator.unit(1);
    unit.addEvents(15);
    let batch = await d.readPunchesSince(null);
    expect(pinsOf(batch)).toHaveLength(15);
    unit.addEvents(10, (i) => ({ pin: 500 + i })); // slots 15..19 then 0..4
    batch = await d.readPunchesSince(persisted(batch.cursor));
    expect(pinsOf(batch)).toEqual(Array.from({ length: 10 }, (_, i) => 500 + i));

    // A device that has counted to just below 2^32, its ring full of the last 20 events.
    unit.reset();
    unit.setCounter(0xffff_fffe - 20);
    unit.addEvents(20);
    batch = await d.readPunchesSince(null);
    expect(pinsOf(batch)).toHaveLength(20);
    expect(batch.cursor['next']).toBe(0xffff_fffe);
    unit.addEvents(5, (i) => ({ pin: 600 + i })); // seq fffffffe, ffffffff, 0, 1, 2
    const wrapped = await d.readPunchesSince(persisted(batch.cursor));
    expect(pinsOf(wrapped)).toEqual([600, 601, 602, 603, 604]);
    expect(wrapped.cursor['next']).toBe(3);
    expect(wrapped.cursorReset).toBeUndefined();
    expect(d.health().details?.['resets']).toBe(0);
  });

  it('reports a ring overflow with the count of lost events and keeps the newest N', async () => {
    const d = driver();
    await d.connect();
    const unit = emulator.unit(1);
    unit.addEvents(3);
    const first = await d.readPunchesSince(null);
    unit.addEvents(20 + 7, (i) => ({ pin: 100 + i })); // capacity 20: 7 lost
    const batch = await d.readPunchesSince(first.cursor);
    expect(pinsOf(batch)).toEqual(Array.from({ length: 20 }, (_, i) => 107 + i));
    expect(batch.cursor['next']).toBe(30);
    const health = d.health();
    expect(health.details?.['overflowLost']).toBe(7);
    expect(health.lastError).toMatch(/ring overflow: 7 events lost/);
    // lastError is overwritten by the next message; the alert keeps the count.
    expect(health.alerts).toEqual(['ring overflow: 7 event(s) lost on the device since start']);
  });

  // Capacity 20: slots 0–19 hold events 0–19. When the read reaches slot 15, the device writes 16 more
  // events (20–35) over slots 0–15. Before the fix a request ended at register 225, inside slot 15, so
  // event 15's seq, PIN and high time word were journaled with event 35's low time word, method and
  // direction, event 15 itself was never journaled, and nothing was counted lost.
  it.each([
    ['between the two halves of a record', slotRegister(15, 5)],
    ['at the first register of a record', slotRegister(15, 0)],
  ])(
    'journals no record torn by writes during the read (%s), and counts every event lost',
    async (_, register) => {
      const d = driver();
      await d.connect();
      const unit = emulator.unit(1);
      const before: WrittenEvent[] = Array.from({ length: 20 }, (_, i) => ({
        pin: 100 + i,
        timeSec: T0 + i,
        method: 1,
        direction: 1,
      }));
      const burst: WrittenEvent[] = Array.from({ length: 16 }, (_, i) => ({
        pin: 900 + i,
        timeSec: T1 + i,
        method: 2,
        direction: 2,
      }));
      for (const event of before) unit.addEvent(event);
      unit.faults.writeDuringRead = { register, events: burst };

      const first = await d.readPunchesSince(null);
      expect(unit.faults.writeDuringRead).toBeNull();
      expect(unit.counter).toBe(36);
      const second = await d.readPunchesSince(persisted(first.cursor));
      const journaled = [...first.punches, ...second.punches].map(punchKey);

      const real = new Set([...before, ...burst].map(eventKey));
      expect(journaled.filter((key) => !real.has(key))).toEqual([]);
      expect(new Set(journaled).size).toBe(journaled.length);
      const lost = Number(d.health().details?.['overflowLost']);
      expect(lost).toBeGreaterThan(0);
      // Every event the device wrote is journaled or counted lost.
      expect(journaled.length + lost).toBe(36);
      expect(pinsOf(second)).toEqual(burst.map((e) => e.pin));
      expect(second.cursor['next']).toBe(36);
      expect(d.health().lastError).toMatch(/overwritten/);
    },
  );

  it('discards a read during which the device reset, counts it lost, then reads the new ring', async () => {
    const d = driver();
    await d.connect();
    const unit = emulator.unit(1);
    const before: WrittenEvent[] = Array.from({ length: 20 }, (_, i) => ({
      pin: 100 + i,
      timeSec: T0 + i,
      method: 1,
      direction: 1,
    }));
    const after: WrittenEvent[] = [800, 801, 802].map((pin, i) => ({
      pin,
      timeSec: T1 + i,
      method: 0,
      direction: 2,
    }));
    for (const event of before) unit.addEvent(event);
    // The reset wipes the ring while slot 15 is half read: its other half would be zeros.
    unit.faults.writeDuringRead = { register: slotRegister(15, 5), reset: true, events: after };

    const first = await d.readPunchesSince(null);
    expect(unit.faults.writeDuringRead).toBeNull();
    const second = await d.readPunchesSince(persisted(first.cursor));
    const journaled = [...first.punches, ...second.punches].map(punchKey);
    const real = new Set([...before, ...after].map(eventKey));
    expect(journaled.filter((key) => !real.has(key))).toEqual([]);
    expect(first.cursorReset).toBe(true);
    expect(pinsOf(second)).toEqual([800, 801, 802]);
    const details = d.health().details ?? {};
    expect(details['resets']).toBe(1);
    expect(journaled.length + Number(details['resetLost'])).toBe(23);
    expect(d.health().alerts).toEqual([
      expect.stringMatching(/^device reset 1 time\(s\) since start; 20 event\(s\) lost/),
    ]);
  });

  it('reads whole records only: no request starts or ends inside a record', async () => {
    const d = driver();
    await d.connect();
    const unit = emulator.unit(1);
    unit.addEvents(20);
    const requestsBefore = Number(d.health().details?.['requests']);
    expect(pinsOf(await d.readPunchesSince(null))).toHaveLength(20);
    const ringReads = unit.reads.filter((r) => r.address >= 100);
    expect(ringReads.length).toBeGreaterThan(0);
    for (const r of ringReads) {
      expect((r.address - 100) % 8).toBe(0);
      expect(r.count % 8).toBe(0);
      expect(r.count).toBeLessThanOrEqual(125);
    }
    // 20 records of 8 registers: 15 + 5 records, plus the header before and the counter after.
    expect(ringReads.map((r) => r.count)).toEqual([120, 40]);
    expect(Number(d.health().details?.['requests']) - requestsBefore).toBe(4);
  });

  it('handles a device reset: cursor reset, events read from the new start', async () => {
    const d = driver();
    await d.connect();
    const unit = emulator.unit(1);
    unit.addEvents(10);
    const before = await d.readPunchesSince(null);
    unit.reset();
    unit.addEvents(2, (i) => ({ pin: 900 + i }));
    const after = await d.readPunchesSince(before.cursor);
    expect(after.cursorReset).toBe(true);
    expect(pinsOf(after)).toEqual([900, 901]);
    expect(d.health().details?.['resets']).toBe(1);
    expect(d.health().lastError).toMatch(/device reset/);

    // A reset followed by more events than before hides from the counter; the fingerprint catches it.
    unit.reset();
    unit.addEvents(4, (i) => ({ pin: 950 + i }));
    const hidden = await d.readPunchesSince(after.cursor);
    expect(hidden.cursorReset).toBe(true);
    expect(pinsOf(hidden)).toEqual([950, 951, 952, 953]);
    expect(d.health().details?.['resets']).toBe(2);
  });

  it('resumes from a persisted cursor after a restart', async () => {
    const d1 = driver();
    await d1.connect();
    emulator.unit(1).addEvents(4);
    const batch = await d1.readPunchesSince(null);
    const stored = persisted(batch.cursor);
    await d1.disconnect();
    emulator.unit(1).addEvents(3, (i) => ({ pin: 70 + i }));
    const d2 = driver();
    await d2.connect();
    expect(pinsOf(await d2.readPunchesSince(stored))).toEqual([70, 71, 72]);
  });

  it('survives timeouts and exception responses, then reads everything', async () => {
    const d = driver();
    await d.connect();
    const unit = emulator.unit(1);
    unit.addEvents(5);
    unit.faults.noAnswer = 1;
    await expect(d.readPunchesSince(null)).rejects.toThrow(/timed out/);
    expect(d.health().online).toBe(false);
    unit.faults.exception = { code: 6, count: 1 };
    await expect(d.readPunchesSince(null)).rejects.toThrow(/exception 6/i);
    const batch = await d.readPunchesSince(null);
    expect(pinsOf(batch)).toHaveLength(5);
    const health = d.health();
    expect(health.online).toBe(true);
    expect(health.details).toMatchObject({ timeouts: 1, exceptions: 1 });
  });

  it('reads and sets the clock in UTC and reports the offset', async () => {
    const d = driver();
    await d.connect();
    emulator.unit(1).setClock(Math.floor(Date.now() / 1000) - 3600);
    const time = await d.getTime();
    expect('utcMs' in time && Math.abs(time.utcMs - (Date.now() - 3_600_000)) < 2000).toBe(true);
    expect(d.health().clockOffsetSeconds).toBeCloseTo(-3600, -1);
    await d.setTime({ utcMs: Date.now() });
    expect(Math.abs(emulator.unit(1).clockSeconds() - Date.now() / 1000)).toBeLessThan(2);
    expect(Math.abs(d.health().clockOffsetSeconds ?? 99)).toBeLessThan(2);
  });

  it('rejects user methods where the profile has no whitelist, naming the profile', async () => {
    const d = driver();
    await d.connect();
    await expect(d.listUsers()).rejects.toThrow(/not supported by profile event-ring-v1/);
    await expect(d.upsertUser({ pin: '1', name: 'A' })).rejects.toThrow(
      /not supported by profile event-ring-v1/,
    );
  });

  it('fails connect clearly when nothing listens, and reports a drop of the link', async () => {
    const d = driver();
    await d.connect();
    const dropped = new Promise<Error>((resolve) => d.onDisconnect(resolve));
    await emulator.stop();
    expect((await dropped).message).toMatch(/closed/);
    expect(d.health().online).toBe(false);
    await expect(d.readPunchesSince(null)).rejects.toThrow(/not connected/);
    await expect(d.connect()).rejects.toThrow(/cannot connect to Modbus TCP/);
    await startEmulator();
  });
});

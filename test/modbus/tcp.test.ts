import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModbusDriver } from '../../adapters/modbus/driver';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { systemClock } from '../../gateway/model';
import { testLogger } from '../support/logger';
import { modbusConfig, persisted, pinsOf } from './support';

const T0 = 1_750_000_000;

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

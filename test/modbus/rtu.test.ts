import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusDriver } from '../../adapters/modbus/driver';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { SerialSupportError } from '../../adapters/modbus/serial-binding';
import { SerialLineRegistry } from '../../adapters/modbus/serial-line';
import { systemClock } from '../../lib/clock';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { type PtyPair, ptyPair } from './socat';
import { eventKey, modbusConfig, persisted, pinsOf, punchKey, type WrittenEvent } from './support';

describe('Modbus RTU over a pty pair: two units on one line', () => {
  let pty: PtyPair;
  let cleanup: () => Promise<void>;
  let emulator: ModbusEmulator;
  let registry: SerialLineRegistry;
  let gate1: ModbusDriver;
  let gate2: ModbusDriver;

  const make = (id: string, unitId: number) =>
    new ModbusDriver(modbusConfig({ id, transport: 'rtu', path: pty.b, unitId, timeoutMs: 200 }), {
      logger: testLogger('modbus-rtu'),
      clock: systemClock,
      serialLines: registry,
    });

  beforeAll(async () => {
    const tmp = await tempDir('modbus-rtu-');
    cleanup = tmp.cleanup;
    pty = await ptyPair(tmp.dir);
    emulator = new ModbusEmulator({ transport: 'rtu', path: pty.a }, { units: [1, 2], capacity: 50 });
    await emulator.start();
    registry = new SerialLineRegistry();
    gate1 = make('gate1', 1);
    gate2 = make('gate2', 2);
    await gate1.connect();
    await gate2.connect();
  });

  afterAll(async () => {
    await gate1?.disconnect();
    await gate2?.disconnect();
    await emulator?.stop();
    await pty?.close();
    await cleanup?.();
  });

  it('reads each unit its own events, in order, with requests interleaved on the shared line', async () => {
    emulator.unit(1).addEvents(30, (i) => ({ pin: 100 + i }));
    emulator.unit(2).addEvents(30, (i) => ({ pin: 200 + i, direction: 2 }));
    const [a, b] = await Promise.all([gate1.readPunchesSince(null), gate2.readPunchesSince(null)]);
    expect(pinsOf(a)).toEqual(Array.from({ length: 30 }, (_, i) => 100 + i));
    expect(pinsOf(b)).toEqual(Array.from({ length: 30 }, (_, i) => 200 + i));
    expect(b.punches.every((p) => p.direction === 'out' && p.terminalId === 'gate2')).toBe(true);

    emulator.unit(1).addEvents(30, (i) => ({ pin: 300 + i })); // wraps the 50-slot ring
    const a2 = await gate1.readPunchesSince(persisted(a.cursor));
    expect(pinsOf(a2)).toEqual(Array.from({ length: 30 }, (_, i) => 300 + i));
    expect(a2.cursor['next']).toBe(60);
    expect(emulator.unit(1).requests).toBeGreaterThan(2);
    expect(emulator.unit(2).requests).toBeGreaterThan(2);
  });

  it('resumes from the stored cursor when a terminal on the line restarts', async () => {
    const before = await gate1.readPunchesSince(null);
    const stored = persisted(before.cursor);
    await gate1.disconnect();
    emulator.unit(1).addEvents(2, (i) => ({ pin: 700 + i }));
    // The other terminal keeps the shared port open meanwhile.
    expect((await gate2.readPunchesSince(null)).punches.length).toBeGreaterThan(0);
    gate1 = make('gate1', 1);
    await gate1.connect();
    expect(pinsOf(await gate1.readPunchesSince(stored))).toEqual([700, 701]);
  });

  it('survives a corrupted frame (bad CRC), a timeout and an exception on one unit without disturbing the other', async () => {
    const before = await gate1.readPunchesSince(null);
    const before2 = await gate2.readPunchesSince(null);
    emulator.unit(1).addEvents(3, (i) => ({ pin: 400 + i }));
    emulator.unit(2).addEvents(2, (i) => ({ pin: 500 + i }));

    emulator.unit(1).faults.badCrc = 1;
    const [crcFail, other] = await Promise.allSettled([
      gate1.readPunchesSince(before.cursor),
      gate2.readPunchesSince(before2.cursor),
    ]);
    expect(crcFail.status === 'rejected' && String(crcFail.reason)).toMatch(/CRC/);
    expect(other.status === 'fulfilled' && pinsOf(other.value)).toEqual([500, 501]);

    emulator.unit(1).faults.noAnswer = 1;
    await expect(gate1.readPunchesSince(before.cursor)).rejects.toThrow(/timed out/);
    emulator.unit(1).faults.exception = { code: 4, count: 1 };
    await expect(gate1.readPunchesSince(before.cursor)).rejects.toThrow(/exception 4/i);

    const after = await gate1.readPunchesSince(before.cursor);
    expect(pinsOf(after)).toEqual([400, 401, 402]);
    expect(gate1.health().details).toMatchObject({ crcErrors: 1, timeouts: 1, exceptions: 1 });
    expect(gate1.health().online).toBe(true);
  });

  it('reports overflow and reset over RTU too', async () => {
    const start = await gate2.readPunchesSince(null);
    emulator.unit(2).addEvents(55, (i) => ({ pin: 600 + i }));
    const over = await gate2.readPunchesSince(start.cursor);
    expect(pinsOf(over)).toEqual(Array.from({ length: 50 }, (_, i) => 605 + i));
    expect(gate2.health().details?.['overflowLost']).toBe(5);

    emulator.unit(2).reset();
    emulator.unit(2).addEvent({ pin: 42 });
    const reset = await gate2.readPunchesSince(over.cursor);
    expect(reset.cursorReset).toBe(true);
    expect(pinsOf(reset)).toEqual([42]);
  });

  it('sets the clock of one unit', async () => {
    const target = Date.now() - 120_000;
    await gate2.setTime({ utcMs: target });
    expect(Math.abs(emulator.unit(2).clockSeconds() - target / 1000)).toBeLessThan(2);
    expect(Math.abs(emulator.unit(1).clockSeconds() - Date.now() / 1000)).toBeLessThan(2);
    const read = await gate2.getTime();
    expect('utcMs' in read && Math.abs(read.utcMs - target) < 2000).toBe(true);
  });

  // Capacity 50, ring from register 100, 8 registers a record. When the read reaches the low time word of
  // slot 15 (register 225, where a 125-register request used to end), the device writes 16 events over
  // slots 0–15. A record mixing event 15 and event 65 must not be journaled; the loss must be counted.
  it('journals no record torn by writes during the read, and counts the loss, over RTU', async () => {
    const T0 = 1_760_000_000;
    const T1 = T0 + 0x3_0555;
    const unit = emulator.unit(1);
    unit.reset();
    const lostBefore = Number(gate1.health().details?.['overflowLost']);
    const before: WrittenEvent[] = Array.from({ length: 50 }, (_, i) => ({
      pin: 1000 + i,
      timeSec: T0 + i,
      method: 0,
      direction: 1,
    }));
    const burst: WrittenEvent[] = Array.from({ length: 16 }, (_, i) => ({
      pin: 2000 + i,
      timeSec: T1 + i,
      method: 3,
      direction: 2,
    }));
    for (const event of before) unit.addEvent(event);
    unit.faults.writeDuringRead = { register: 100 + 15 * 8 + 5, events: burst };

    // The other unit keeps polling on the shared line meanwhile.
    const [first] = await Promise.all([gate1.readPunchesSince(null), gate2.readPunchesSince(null)]);
    expect(unit.faults.writeDuringRead).toBeNull();
    const second = await gate1.readPunchesSince(persisted(first.cursor));
    const journaled = [...first.punches, ...second.punches].map(punchKey);

    const real = new Set([...before, ...burst].map(eventKey));
    expect(journaled.filter((key) => !real.has(key))).toEqual([]);
    expect(new Set(journaled).size).toBe(journaled.length);
    const lost = Number(gate1.health().details?.['overflowLost']) - lostBefore;
    expect(lost).toBeGreaterThan(0);
    expect(journaled.length + lost).toBe(66);
    expect(pinsOf(second)).toEqual(burst.map((e) => e.pin));
    expect(gate1.health().alerts).toContainEqual(
      expect.stringMatching(/^ring overflow: \d+ event\(s\) lost on the device since start$/),
    );
  });

  it('refuses a second terminal on the line with another baud rate', async () => {
    await expect(registry.acquire({ path: pty.b, baudRate: 19200, parity: 'none' })).rejects.toThrow(
      /already open at 9600 baud/,
    );
  });
});

describe('serial support', () => {
  it('fails loudly when the serialport binding cannot load', async () => {
    const registry = new SerialLineRegistry(async () => {
      throw new Error('No native build was found for platform=linux arch=riscv64');
    });
    const d = new ModbusDriver(modbusConfig({ transport: 'rtu', path: '/dev/ttyUSB0' }), {
      logger: testLogger('modbus-rtu'),
      clock: systemClock,
      serialLines: registry,
    });
    const failure = d.connect();
    await expect(failure).rejects.toBeInstanceOf(SerialSupportError);
    await expect(failure).rejects.toThrow(
      /Modbus RTU is unavailable: the serialport native binding could not be loaded/,
    );
  });
});

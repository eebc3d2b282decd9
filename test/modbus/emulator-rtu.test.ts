import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { openSerialPort, type SerialPortLike } from '../../adapters/modbus/serial-binding';
import { rtuFrame } from '../../adapters/modbus/wire';
import { tempDir } from '../support/tmp';
import { type PtyPair, ptyPair } from './socat';

/** The emulator's RTU side, driven with raw frames: what a slave must ignore and what it must answer. */
describe('emulator RTU framing on a pty', () => {
  let pty: PtyPair;
  let cleanup: () => Promise<void>;
  let emulator: ModbusEmulator;
  let master: SerialPortLike;
  const received: Buffer[] = [];

  beforeAll(async () => {
    const tmp = await tempDir('modbus-emu-rtu-');
    cleanup = tmp.cleanup;
    pty = await ptyPair(tmp.dir);
    emulator = new ModbusEmulator({ transport: 'rtu', path: pty.a }, { units: [3], capacity: 10 });
    await emulator.start();
    master = await openSerialPort({ path: pty.b, baudRate: 9600, parity: 'none' });
    master.on('data', (chunk) => received.push(chunk));
  });

  afterAll(async () => {
    await new Promise<void>((r) => master.close(() => r()));
    await emulator.stop();
    await pty.close();
    await cleanup();
  });

  /** The pty and the emulator run on their own time (more so on a loaded machine): wait for the bytes. */
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('stays silent on a bad CRC and on another unit, and answers a good request', async () => {
    const read = rtuFrame(3, Buffer.from('0300000004', 'hex'));
    const corrupted = Buffer.from(read);
    corrupted.writeUInt8(read.readUInt8(read.length - 1) ^ 0xff, read.length - 1);
    master.write(corrupted);
    master.write(rtuFrame(4, Buffer.from('0300000004', 'hex')));
    await until(() => emulator.badFrames === 1, 'the bad frame to be counted');

    master.write(read);
    await until(() => Buffer.concat(received).length >= 13, 'an answer');
    // Frames are handled in order, so an answer to the bad frame or to unit 4 would come first:
    // exactly one answer means both were ignored. Unit 3, fc 3, 8 bytes: version 1, counter 0, capacity 10.
    expect(Buffer.concat(received).toString('hex')).toBe('030308000100000000000a0ea8');
    expect(emulator.badFrames).toBe(1);
  });
});

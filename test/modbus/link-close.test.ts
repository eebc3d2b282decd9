/**
 * Closing a Modbus TCP link always returns: the supervisor awaits it before it reconnects and the
 * gateway awaits it before it exits. modbus-serial's own close waits for a 'close' event that never
 * comes once the device has dropped the socket, or when the device never answers our FIN; in the
 * fifty-site test that left terminals offline for good and gateways deaf to SIGTERM.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ModbusDriver } from '../../adapters/modbus/driver';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { CLOSE_GRACE_MS, TcpLink } from '../../adapters/modbus/link';
import { systemClock } from '../../lib/clock';
import { settlesWithin } from '../../lib/settle-within';
import { testLogger } from '../support/logger';
import { modbusConfig } from './support';

/** Far above the grace period, far below the test timeout: "it returned" rather than "it was quick". */
const RETURNS_WITHIN_MS = CLOSE_GRACE_MS + 3000;

describe('closing a Modbus TCP link', () => {
  const stops: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('returns after the device dropped the connection mid-request, and the driver connects again', async () => {
    const emulator = new ModbusEmulator({ transport: 'tcp', port: 0 }, { units: [1] });
    await emulator.start();
    const { host, port } = emulator.address();
    const driver = new ModbusDriver(modbusConfig({ transport: 'tcp', host, port, timeoutMs: 200 }), {
      logger: testLogger('modbus'),
      clock: systemClock,
    });
    stops.push(() => settlesWithin(driver.disconnect(), 1000));
    await driver.connect();
    // Dropped with a request in flight, as when the device reboots mid-poll.
    emulator.stop();
    await expect(driver.getTime()).rejects.toThrow();

    expect(await settlesWithin(driver.disconnect(), RETURNS_WITHIN_MS)).toBe(true);

    // The same port again, as after a device reboot: the driver's next connect works.
    const again = new ModbusEmulator({ transport: 'tcp', port }, { units: [1] });
    await again.start();
    stops.push(() => again.stop());
    await driver.connect();
    expect(typeof (await driver.getTime())).toBe('object');
  });

  it('returns when the device never answers the FIN (it keeps its half of the socket open)', async () => {
    const held: Socket[] = [];
    const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
      held.push(socket);
      socket.on('end', () => undefined); // heard, never answered
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const link = await TcpLink.open({ host: '127.0.0.1', port: address.port, unitId: 1, timeoutMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(held).toHaveLength(1);

    expect(await settlesWithin(link.close(), RETURNS_WITHIN_MS)).toBe(true);
  });
});

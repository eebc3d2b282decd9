import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttLink } from '../../cloud/deli/mqtt-link';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { Mosquitto, waitUntil } from './harness';

/** mqtt-packet's table of two-byte buffers for packet ids, the one mqtt.js writes with (module state). */
function packetIdBuffers(): number {
  const requireHere = createRequire(import.meta.url);
  const mqttDir = requireHere.resolve('mqtt');
  const fromMqtt = createRequire(mqttDir);
  const numbers = fromMqtt('mqtt-packet/numbers') as { cache: Record<number, Buffer> };
  return Object.keys(numbers.cache).length;
}

let stop: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stop.reverse()) await s();
  stop = [];
});

describe("the Deli link's memory", () => {
  it('publishes QoS 1 messages through a real broker without a table of 65,536 packet-id buffers', async () => {
    const { dir, cleanup } = await tempDir('deli-link-memory-');
    stop.push(cleanup);
    const broker = new Mosquitto(dir);
    await broker.start();
    stop.push(() => broker.stop());
    const link = new MqttLink({
      url: broker.url,
      clientId: 'memory-probe',
      subscribe: ['probe/#'],
      keepaliveSeconds: 30,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
      logger: testLogger(),
    });
    const received: string[] = [];
    link.onMessage((_topic, payload) => received.push(payload.toString()));
    link.start();
    stop.push(() => link.stop());
    await waitUntil(() => link.connected, 5000, 'the link to connect');
    for (let i = 0; i < 5; i++) await link.publish('probe/x', Buffer.from(`m${i}`), 5000);
    await waitUntil(() => received.length === 5, 5000, 'the messages to come back');
    expect(received).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // The default builds the table on the first packet written: ≈ 7 MB of heap for good.
    expect(packetIdBuffers()).toBe(0);
  });
});

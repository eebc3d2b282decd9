import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../controller';
import { createLogger } from '../logger';
import { writeFileAtomic } from '../store/durable-file';

/** How often lab sites send their digest: short, so a change shows quickly on `fleet watch`. */
const LAB_INTERVAL_SECONDS = 10;

const EXTRA_SITES = [
  { siteId: 'lab-site-2', name: '实验室二号工地 Lab site 2' },
  { siteId: 'lab-site-3', name: '实验室三号工地 Lab site 3' },
] as const;

/**
 * `lab --fleet`: an in-process MQTT broker (aedes) on loopback, the lab gateway reporting to it as
 * `lab-site-1`, and two more small sites (a Modbus turnstile each) in the same process, so that
 * `fleet watch` shows a fleet and `fleet send` has somewhere to go. The command key is random per
 * run, written to `<dataDir>/fleet-command.key` (owner-only) for `fleet send --key-file`.
 */
export async function startLabFleet(options: { dataDir: string; port: number }): Promise<{
  readonly config: Record<string, unknown>;
  readonly afterStart: () => Promise<void>;
  readonly stop: () => Promise<void>;
}> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    throw new Error('--fleet-port must be 0–65535');
  const logger = createLogger('info').child({ part: 'lab-fleet' });
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    broker.handle(socket);
  });
  const port = await listen(server, options.port).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    logger.warn({ port: options.port }, 'port in use; the lab broker takes a free one');
    return listen(server, 0);
  });
  const brokerUrl = `mqtt://127.0.0.1:${port}`;
  const commandKey = randomBytes(24).toString('hex');
  const keyFile = join(options.dataDir, 'fleet-command.key');
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(keyFile, `${commandKey}\n`);
  const fleet = (siteId: string) => ({
    enabled: true,
    brokerUrl,
    siteId,
    intervalSeconds: LAB_INTERVAL_SECONDS,
    commandKey,
  });

  const sites: Array<{ gateway: Gateway; emulator: ModbusEmulator }> = [];
  const stop = async () => {
    for (const { gateway, emulator } of sites.splice(0)) {
      await gateway.stop().catch(() => undefined);
      await emulator.stop().catch(() => undefined);
    }
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  };

  const afterStart = async () => {
    for (const { siteId, name } of EXTRA_SITES) {
      const emulator = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port: 0 }, {});
      await emulator.start();
      const result = validateConfig({
        site: { name },
        dataDir: join(options.dataDir, 'fleet-sites', siteId),
        http: { host: '127.0.0.1', port: 0 },
        adms: { host: '127.0.0.1', port: 0 },
        log: { level: 'warn' },
        terminals: [
          {
            id: `${siteId}-turnstile`,
            name: '闸机 (Modbus)',
            driver: 'modbus',
            direction: 'state',
            transport: 'tcp',
            host: '127.0.0.1',
            port: emulator.address().port,
            pollSeconds: 2,
          },
        ],
        fleet: fleet(siteId),
      });
      if (!result.ok) throw new Error(`lab site ${siteId}: ${result.problems.join('; ')}`);
      const gateway = new Gateway(result.config, createLogger('warn').child({ site: siteId }));
      sites.push({ gateway, emulator });
      await gateway.start();
    }
    logger.info(
      {
        broker: brokerUrl,
        sites: ['lab-site-1', ...EXTRA_SITES.map((s) => s.siteId)],
        watch: `npm run cli -- fleet watch --broker ${brokerUrl}`,
        send: `npm run cli -- fleet send lab-site-2 reconcile --key-file ${keyFile} --broker ${brokerUrl}`,
      },
      'lab fleet: broker and sites up',
    );
  };

  return { config: { fleet: fleet('lab-site-1') }, afterStart, stop };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

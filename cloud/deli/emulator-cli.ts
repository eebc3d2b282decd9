import { parseArgs } from 'node:util';
import pino from 'pino';
import { DeliEmulator, type SyncMode } from './emulator';

/**
 * `emulate deli --broker URL --device-id D --app-id A --org-id O [--embedded] [--http-port P]
 * [--sync-mode array|object-burst|object-paged]`: runs the Deli platform+app emulator until
 * SIGINT/SIGTERM.
 */
export async function runEmulatorCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      broker: { type: 'string' },
      embedded: { type: 'boolean', default: false },
      'device-id': { type: 'string' },
      'app-id': { type: 'string', default: 'deli-attendance-app' },
      'org-id': { type: 'string', default: 'org-1' },
      'http-port': { type: 'string', default: '0' },
      'sync-mode': { type: 'string', default: 'object-burst' },
      username: { type: 'string' },
      password: { type: 'string' },
    },
    strict: true,
  });
  const deviceId = values['device-id'];
  if (!deviceId) throw new Error('--device-id is required');
  if (!values.embedded && !values.broker) throw new Error('give --broker URL or --embedded');
  const syncMode = values['sync-mode'];
  if (syncMode !== 'array' && syncMode !== 'object-burst' && syncMode !== 'object-paged')
    throw new Error('--sync-mode must be array, object-burst or object-paged');
  const httpPort = Number(values['http-port']);
  if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535)
    throw new Error('--http-port must be 0–65535');

  const emulator = new DeliEmulator({
    deviceId,
    appId: values['app-id'],
    orgId: values['org-id'],
    embedded: values.embedded,
    syncMode: syncMode as SyncMode,
    httpPort,
    logger: pino({ name: 'deli-emulator', level: process.env.LOG_LEVEL ?? 'info' }),
    ...(values.broker !== undefined && { brokerUrl: values.broker }),
    ...(values.username !== undefined && { username: values.username }),
    ...(values.password !== undefined && { password: values.password }),
  });
  await emulator.start();
  process.stdout.write(
    `deli emulator: broker ${emulator.brokerUrl}, state ${emulator.httpUrl}/_emulator/state\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.stop();
}

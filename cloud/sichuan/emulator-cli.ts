import { parseArgs } from 'node:util';
import { SichuanEmulator } from './emulator';

const USAGE =
  'usage: emulate sichuan --port P --sn SN --device-key K --sm4-key K [--sm4-iv IV] [--cipher-encoding hex|base64] [--host H]';

/** `emulate sichuan`: runs the platform emulator until SIGINT/SIGTERM. */
export async function runEmulatorCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      sn: { type: 'string', multiple: true },
      'device-key': { type: 'string' },
      'sm4-key': { type: 'string' },
      'sm4-iv': { type: 'string' },
      'cipher-encoding': { type: 'string', default: 'hex' },
    },
    strict: true,
  });
  const port = Number(values.port);
  const encoding = values['cipher-encoding'];
  if (!values.sn?.length || !values['device-key'] || !values['sm4-key']) throw new Error(USAGE);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0–65535\n${USAGE}`);
  if (encoding !== 'hex' && encoding !== 'base64')
    throw new Error(`--cipher-encoding must be hex or base64\n${USAGE}`);
  const emulator = new SichuanEmulator({
    sn: values.sn,
    deviceKey: values['device-key'],
    sm4Key: values['sm4-key'],
    ...(values['sm4-iv'] ? { sm4Iv: values['sm4-iv'] } : {}),
    cipherEncoding: encoding,
    host: values.host,
    port,
  });
  const url = await emulator.start();
  process.stdout.write(`sichuan platform emulator listening on ${url} (state: ${url}/_emulator/state)\n`);
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await emulator.stop();
}

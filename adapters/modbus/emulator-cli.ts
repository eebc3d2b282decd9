import { parseArgs } from 'node:util';
import { ModbusEmulator } from './emulator';
import { loadProfile } from './profile';

const USAGE =
  'usage: emulate modbus [--host 127.0.0.1] [--port P] [--rtu PATH --baud 9600] [--units 1,2] ' +
  '[--profile event-ring-v1|file.json] [--capacity N] [--punch-every S]';

/** Runs an emulated Modbus terminal until SIGINT/SIGTERM, adding a punch every S seconds when asked. */
export async function runEmulatorCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      rtu: { type: 'string' },
      baud: { type: 'string', default: '9600' },
      units: { type: 'string', default: '1' },
      profile: { type: 'string', default: 'event-ring-v1' },
      capacity: { type: 'string' },
      'punch-every': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  const units = values.units.split(',').map(Number);
  const punchEvery = values['punch-every'] === undefined ? 0 : Number(values['punch-every']);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0–65535\n${USAGE}`);
  if (units.some((u) => !Number.isInteger(u) || u < 0 || u > 247))
    throw new Error(`--units are 0–247\n${USAGE}`);
  if (!Number.isFinite(punchEvery) || punchEvery < 0)
    throw new Error(`--punch-every is seconds ≥ 0\n${USAGE}`);
  const profile = await loadProfile(values.profile);
  const emulator = new ModbusEmulator(
    values.rtu
      ? { transport: 'rtu', path: values.rtu, baudRate: Number(values.baud) }
      : { transport: 'tcp', host: values.host, port },
    { profile, units, ...(values.capacity ? { capacity: Number(values.capacity) } : {}) },
  );
  await emulator.start();
  const where = values.rtu
    ? `rtu ${values.rtu} @ ${values.baud}`
    : `tcp ${emulator.address().host}:${emulator.address().port}`;
  process.stdout.write(`modbus emulator (${profile.name}, units ${units.join(',')}) listening on ${where}\n`);

  let nextPin = 1;
  const timer =
    punchEvery > 0
      ? setInterval(() => {
          for (const unit of units) {
            emulator.addEvent(
              { pin: nextPin, method: nextPin % 4, direction: (nextPin % 3) as 0 | 1 | 2 },
              unit,
            );
          }
          nextPin = (nextPin % 50) + 1;
        }, punchEvery * 1000)
      : null;

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  if (timer) clearInterval(timer);
  await emulator.stop();
}

import { parseArgs } from 'node:util';
import { type BulkMode, ZkEmulator } from './emulator';
import type { ZkEncoding } from './text';

const USAGE =
  'emulate zk --port P [--users N] [--records N] [--punch-every S] [--mode single|chunked|ackdata] [--ack-data data|all] [--coalesce] [--packet-gap MS] [--comm-key K] [--encoding gb18030|utf8] [--udp] [--host H] [--clock-drift S] [--time-zone Z]';

function int(
  name: string,
  value: string | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new Error(`--${name} must be an integer 0–${max}, got ${JSON.stringify(value)}\nusage: ${USAGE}`);
  return n;
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(`--${name} must be one of ${allowed.join(', ')}\nusage: ${USAGE}`);
  return value as T;
}

/** Runs one emulated ZK terminal until SIGINT/SIGTERM (`npm run cli -- emulate zk …`). */
export async function runEmulatorCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      users: { type: 'string' },
      records: { type: 'string' },
      'punch-every': { type: 'string' },
      mode: { type: 'string' },
      'ack-data': { type: 'string' },
      coalesce: { type: 'boolean', default: false },
      'packet-gap': { type: 'string' },
      'comm-key': { type: 'string' },
      encoding: { type: 'string' },
      udp: { type: 'boolean', default: false },
      'clock-drift': { type: 'string' },
      'time-zone': { type: 'string' },
    },
    strict: true,
  });
  if (values.port === undefined) throw new Error(`--port is required (0 picks a free port)\nusage: ${USAGE}`);
  const punchEvery = values['punch-every'] === undefined ? 0 : Number(values['punch-every']);
  if (!Number.isFinite(punchEvery) || punchEvery < 0)
    throw new Error(`--punch-every must be seconds ≥ 0\nusage: ${USAGE}`);
  const users = int('users', values.users, 10, 10_000);
  const emulator = new ZkEmulator({
    port: int('port', values.port, 4370, 65_535),
    host: values.host,
    users,
    records: int('records', values.records, 0, 200_000),
    mode: oneOf<BulkMode>('mode', values.mode, ['single', 'chunked', 'ackdata'], 'chunked'),
    ...(values['ack-data'] === undefined
      ? {}
      : { ackData: oneOf<'data' | 'all'>('ack-data', values['ack-data'], ['data', 'all'], 'data') }),
    coalesce: values.coalesce,
    packetGapMs: int('packet-gap', values['packet-gap'], 1, 1000),
    commKey: int('comm-key', values['comm-key'], 0, 999_999_999),
    encoding: oneOf<ZkEncoding>('encoding', values.encoding, ['gb18030', 'utf8'], 'gb18030'),
    udp: values.udp,
    clockDriftSeconds: Number(values['clock-drift'] ?? 0),
    timeZone: values['time-zone'] ?? 'UTC',
  });
  const port = await emulator.start();
  process.stdout.write(
    `zk emulator listening on ${values.udp ? 'udp' : 'tcp'}://${values.host}:${port} (users ${users}, records ${emulator.recordCount()}, mode ${values.mode ?? 'chunked'}${values['ack-data'] ? `, ACK_DATA replies: ${values['ack-data']}` : ''})\n`,
  );
  let next = 0;
  const timer =
    punchEvery > 0 && users > 0
      ? setInterval(() => {
          next = (next % users) + 1;
          emulator.addPunch({ pin: String(next), verify: [1, 15, 2][next % 3] ?? 1, state: next % 2 });
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

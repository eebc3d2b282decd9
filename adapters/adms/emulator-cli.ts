import { parseArgs } from 'node:util';
import { AdmsEmulator, type AdmsQueryForms } from './emulator';

const USAGE =
  'usage: emulate adms --server http://HOST:8081 --sn SN [--punch-every S] [--poll-ms MS] [--users N] [--pushver 2.4.1|3.1.2] [--camera as-asked|always] [--query-forms 2.x-only|both|3.x-only]';

const QUERY_FORMS: readonly AdmsQueryForms[] = ['2.x-only', 'both', '3.x-only'];

/** Runs an emulated ADMS face terminal against a server until SIGINT/SIGTERM. */
export async function runEmulatorCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      sn: { type: 'string' },
      'punch-every': { type: 'string' },
      'poll-ms': { type: 'string' },
      users: { type: 'string', default: '5' },
      pushver: { type: 'string', default: '2.4.1' },
      camera: { type: 'string' },
      'query-forms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.server || !/^https?:\/\//.test(values.server))
    throw new Error(`--server URL is required\n${USAGE}`);
  if (!values.sn || !/^[A-Za-z0-9_-]{1,64}$/.test(values.sn)) throw new Error(`--sn is required\n${USAGE}`);
  const punchEvery = values['punch-every'] === undefined ? 0 : Number(values['punch-every']);
  const pollMs = values['poll-ms'] === undefined ? undefined : Number(values['poll-ms']);
  const userCount = Number(values.users);
  if (!Number.isFinite(punchEvery) || punchEvery < 0)
    throw new Error(`--punch-every is seconds ≥ 0\n${USAGE}`);
  if (pollMs !== undefined && (!Number.isInteger(pollMs) || pollMs < 10))
    throw new Error(`--poll-ms is an integer ≥ 10\n${USAGE}`);
  if (!Number.isInteger(userCount) || userCount < 0 || userCount > 10_000)
    throw new Error(`--users is 0–10000\n${USAGE}`);
  if (!/^\d{1,2}\.\d{1,2}(\.\d{1,3})?$/.test(values.pushver))
    throw new Error(`--pushver is like 3.1.2\n${USAGE}`);
  const camera = values.camera;
  if (camera !== undefined && camera !== 'as-asked' && camera !== 'always')
    throw new Error(`--camera is as-asked or always\n${USAGE}`);
  const queryForms = values['query-forms'];
  if (queryForms !== undefined && !QUERY_FORMS.includes(queryForms as AdmsQueryForms))
    throw new Error(`--query-forms is 2.x-only, both or 3.x-only\n${USAGE}`);

  const emulator = new AdmsEmulator({
    serverUrl: values.server,
    sn: values.sn,
    punchEverySeconds: punchEvery,
    ...(pollMs ? { pollMs } : {}),
    pushver: values.pushver,
    ...(camera ? { camera } : {}),
    ...(queryForms ? { queryForms: queryForms as AdmsQueryForms } : {}),
    users: Array.from({ length: userCount }, (_, i) => ({ pin: String(i + 1), name: `Worker ${i + 1}` })),
  });
  await emulator.start();
  process.stdout.write(`adms emulator ${values.sn} pushing to ${values.server}/iclock\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await emulator.stop();
}

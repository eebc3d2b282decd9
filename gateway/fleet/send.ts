import { parseArgs } from 'node:util';
import {
  BROKER_OPTIONS,
  connectOffice,
  EXIT_FAILED,
  EXIT_NO_REPLY,
  EXIT_OK,
  EXIT_USAGE,
  endClient,
  officeClientOptions,
  readSecretFile,
  subscribe,
  UsageError,
} from './office';
import {
  type CommandBody,
  type CommandReply,
  FLEET_ACTIONS,
  fleetTopics,
  parseBody,
  signCommand,
} from './protocol';

export const SEND_USAGE = `usage: edge-gateway fleet send SITE ACTION [ARGS] --key-file F --broker URL [options]

Sends one signed command to a site and prints its reply (exit 0 ok, 1 refused or failed, 3 no reply).

actions:
  reconcile [TERMINAL]   converge one terminal (or every one) to the roster now
  retry UPSTREAM         end an upstream's back-off now (sichuan, deli)
  update-check           ask the platform for a newer build
  config                 print the running configuration, secrets redacted
  set KEY VALUE          change a setting a platform may change too (deviceName, heartbeatSeconds)
  restart                stop in order and let the service manager start it again

  --key-file F           the command key (the box's fleet.commandKey)
  --timeout S            how long to wait for the reply (default 30)
  --broker, --prefix, --username, --password-file, --tls-ca, --tls-cert, --tls-key, --client-id:
                         as for fleet watch (the account needs write on P/SITE/cmd, read on P/SITE/cmd/reply)
`;

export async function runSend(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  let body: CommandBody;
  let key: string;
  let options: ReturnType<typeof officeClientOptions>;
  let timeoutMs: number;
  try {
    parsed = parse(argv);
    if (parsed.values.help) {
      process.stdout.write(SEND_USAGE);
      return EXIT_OK;
    }
    const [site, action, ...args] = parsed.positionals;
    if (!site || !action) throw new UsageError('SITE and ACTION are required');
    body = commandBody(action, args);
    if (!parsed.values['key-file']) throw new UsageError('--key-file F is required (the command key)');
    key = readSecretFile(parsed.values['key-file'], 'key-file');
    if (key.length < 16) throw new UsageError('--key-file: the key has fewer than 16 characters');
    timeoutMs = Number(parsed.values.timeout) * 1000;
    if (!(timeoutMs > 0)) throw new UsageError('--timeout must be a number of seconds > 0');
    options = officeClientOptions(parsed.values, 'send');
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    process.stderr.write(`${error.message}\n\n${SEND_USAGE}`);
    return EXIT_USAGE;
  }
  const site = parsed.positionals[0]!;
  const topics = fleetTopics(`${parsed.values.prefix.replace(/\/+$/, '')}/${site}`);
  const command = signCommand(key, site, body, Math.floor(Date.now() / 1000));
  let client: Awaited<ReturnType<typeof connectOffice>>;
  try {
    client = await connectOffice(parsed.values.broker!, options);
  } catch (error) {
    process.stderr.write(`fleet send: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  }
  try {
    const reply = new Promise<CommandReply | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      client.on('message', (topic, payload) => {
        if (topic !== topics.reply) return;
        try {
          const answer = JSON.parse(payload.toString()) as CommandReply;
          if (answer.nonce !== command.nonce) return;
          clearTimeout(timer);
          resolve(answer);
        } catch {
          // Not ours to judge: another sender's or a broken reply; keep waiting for ours.
        }
      });
    });
    // Listening before sending, so a quick answer is not missed.
    await subscribe(client, [topics.reply]);
    await client.publishAsync(topics.cmd, JSON.stringify(command), { qos: 1 });
    const answer = await reply;
    if (!answer) {
      process.stderr.write(
        `fleet send: no reply from ${site} within ${timeoutMs / 1000} s (the broker keeps the command for the box's session; it expires 5 minutes after signing)\n`,
      );
      return EXIT_NO_REPLY;
    }
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return answer.ok ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    process.stderr.write(`fleet send: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  } finally {
    await endClient(client);
  }
}

/** The command for ACTION and its positional arguments, checked by the box's own schema. */
export function commandBody(action: string, args: readonly string[]): CommandBody {
  if (!(FLEET_ACTIONS as readonly string[]).includes(action))
    throw new UsageError(`unknown action "${action}" (one of ${FLEET_ACTIONS.join(', ')})`);
  const expected: Record<string, number[]> = {
    reconcile: [0, 1],
    retry: [1],
    'update-check': [0],
    config: [0],
    set: [2],
    restart: [0],
  };
  if (!expected[action]!.includes(args.length))
    throw new UsageError(`${action} takes ${expected[action]!.join(' or ')} argument(s), got ${args.length}`);
  const draft =
    action === 'reconcile'
      ? { action, args: args[0] === undefined ? {} : { terminal: args[0] } }
      : action === 'retry'
        ? { action, args: { upstream: args[0] } }
        : action === 'set'
          ? { action, args: { key: args[0], value: settingValue(args[1]!) } }
          : { action };
  const checked = parseBody(JSON.stringify(draft));
  if (!checked.ok) throw new UsageError(`${action}: ${checked.error}`);
  return checked.value;
}

/** A number when it reads as one (heartbeatSeconds 120), else the text as typed. */
function settingValue(text: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      ...BROKER_OPTIONS,
      'key-file': { type: 'string' },
      timeout: { type: 'string', default: '30' },
    },
    allowPositionals: true,
    strict: true,
  });
}

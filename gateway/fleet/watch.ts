import { parseArgs } from 'node:util';
import { FleetView, renderTable, type SiteRow } from './fleet-view';
import {
  BROKER_OPTIONS,
  connectOffice,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  endClient,
  officeClientOptions,
  subscribe,
  UsageError,
} from './office';

export const WATCH_USAGE = `usage: edge-gateway fleet watch --broker URL [options]

A live table of every site heard on the broker, worst first. Read-only: it never publishes.

  --broker URL          mqtt://host:1883 or mqtts://host:8883
  --prefix P            topic prefix of the sites (default edge-gateway: topics P/SITE/status …)
  --username U          broker user (an office account: read P/#)
  --password-file F     its password (or EDGE_GATEWAY_FLEET_PASSWORD)
  --tls-ca F            extra CA for mqtts:// (PEM); --tls-cert F --tls-key F: a client certificate
  --client-id ID        keep a session on the broker (clean: false) under this id
  --json                one JSON document per change instead of the table
  --once                print once, after --wait ms of retained messages, and exit
  --wait MS             how long --once listens (default 3000)
`;

/** Redraws at most this often, and at least this often for the ages and stale sites. */
const REDRAW_MIN_MS = 250;
const REDRAW_EVERY_MS = 5000;

export async function runWatch(argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${WATCH_USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(WATCH_USAGE);
    return EXIT_OK;
  }
  const waitMs = Number(values.wait);
  if (!(waitMs >= 0)) {
    process.stderr.write('--wait must be a number of milliseconds\n');
    return EXIT_USAGE;
  }
  let options: ReturnType<typeof officeClientOptions>;
  try {
    options = officeClientOptions(values, 'watch');
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${WATCH_USAGE}`);
    return EXIT_USAGE;
  }
  const prefix = values.prefix.replace(/\/+$/, '');
  const view = new FleetView(prefix);
  const broker = values.broker!;
  const header = `edge-gateway fleet on ${broker.replace(/\/\/[^@/]*@/, '//')} (${prefix}/+)`;
  const show = (rows: SiteRow[], now: number): string =>
    values.json ? `${JSON.stringify({ at: now, sites: rows })}\n` : renderTable(rows, now, header);
  const tty = process.stdout.isTTY === true && !values.json;
  let live = false;
  let last = '';
  let timer: NodeJS.Timeout | undefined;
  let lastDrawn = 0;
  const draw = () => {
    timer = undefined;
    lastDrawn = Date.now();
    const rows = view.rows(lastDrawn);
    // JSON lines only when something a reader acts on changed (not the ages).
    const key = values.json ? JSON.stringify(rows.map(({ lastSeenMs: _seen, ...rest }) => rest)) : '';
    if (values.json && key === last) return;
    last = key;
    const text = show(rows, lastDrawn);
    process.stdout.write(tty ? `\x1b[H\x1b[2J${text}` : values.json ? text : `${text}\n`);
  };
  const changed = (): void => {
    if (!live || timer) return;
    timer = setTimeout(draw, Math.max(0, REDRAW_MIN_MS - (Date.now() - lastDrawn)));
  };

  let client: Awaited<ReturnType<typeof connectOffice>>;
  try {
    client = await connectOffice(broker, options);
    client.on('message', (topic, payload) => {
      if (view.receive(topic, payload, Date.now())) changed();
    });
    await subscribe(client, view.topics);
  } catch (error) {
    process.stderr.write(`fleet watch: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  }

  if (values.once) {
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    process.stdout.write(show(view.rows(Date.now()), Date.now()));
    await endClient(client);
    return EXIT_OK;
  }

  live = true;
  const tick = setInterval(changed, REDRAW_EVERY_MS);
  changed();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(tick);
  clearTimeout(timer);
  await endClient(client);
  return EXIT_OK;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      ...BROKER_OPTIONS,
      json: { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      wait: { type: 'string', default: '3000' },
    },
    allowPositionals: false,
    strict: true,
  });
}

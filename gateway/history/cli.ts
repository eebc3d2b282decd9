import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isIanaZone } from '../../config/schema';
import { utcMsToWall } from '../../lib/wall-clock';
import { createLogger } from '../logger';
import { PUNCHES_PER_SHIFT } from './generator';
import { SeedOptionError, type SeedOptions, seedHistory } from './seed';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

export const SEED_HISTORY_USAGE = `usage: edge-gateway seed-history --data-dir D [options]

Fills an empty data folder with a made-up but realistic attendance history, through the gateway's
own write path, and writes a configuration for it (docs/history.md).

  --data-dir D            the data folder to fill (must not hold a gateway's data yet)
  --workers N             workers on the roster (default 5000)
  --days N                days of history, ending on --end (default 1095; 0: roster only)
  --per-day N             mean punches per calendar day (default 1.6 per worker)
  --end YYYY-MM-DD        the last day (default: yesterday in the site's zone)
  --timezone ZONE         the site's IANA zone (default Asia/Shanghai)
  --site NAME             the site's name (default 示例工地)
  --terminals N           ZK terminals, an entry and an exit per gate (default 20)
  --terminal-host H       their address (default 127.0.0.1)
  --terminal-port P       the first one's port; the next ones count up (default 4370)
  --segment-max-bytes N   journal.segmentMaxBytes (default 16777216)
  --seed N                the random seed: the same options give the same history (default 1)
  --config FILE           where to write the configuration (default: D.config.json beside D)
`;

/** `edge-gateway seed-history …`: exit 0 with a JSON summary on stdout, 2 for an option that cannot work. */
export async function runSeedHistory(argv: readonly string[]): Promise<number> {
  let options: SeedOptions;
  try {
    options = readOptions(argv);
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(SEED_HISTORY_USAGE);
      return EXIT_OK;
    }
    process.stderr.write(`${(error as Error).message}\n\n${SEED_HISTORY_USAGE}`);
    return EXIT_USAGE;
  }
  const logger = createLogger('warn');
  try {
    const report = await seedHistory(options, logger, (line) =>
      process.stderr.write(`seed-history: ${line}\n`),
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return EXIT_OK;
  } catch (error) {
    process.stderr.write(`seed-history: ${(error as Error).message}\n`);
    return error instanceof SeedOptionError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

class HelpRequested extends Error {}

function readOptions(argv: readonly string[]): SeedOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    // parseArgs names the option in its own words ("Unknown option '--x'").
    throw new SeedOptionError('(options)', (error as Error).message);
  }
  const { values } = parsed;
  if (values.help) throw new HelpRequested();
  if (!values['data-dir']) throw new SeedOptionError('--data-dir', 'required');
  const dataDir = resolve(values['data-dir']);
  const timezone = values.timezone ?? 'Asia/Shanghai';
  if (!isIanaZone(timezone)) throw new SeedOptionError('--timezone', `not an IANA time zone: ${timezone}`);
  const workers = whole(values.workers, '--workers', 5000, 1, 100_000);
  const days = whole(values.days, '--days', 1095, 0, 3650);
  const most = Math.floor(2 * workers);
  const perDay = whole(
    values['per-day'],
    '--per-day',
    Math.min(most, Math.round(1.6 * workers)),
    1,
    most,
    () =>
      `at most ${most} for ${workers} workers (each present worker punches about ${PUNCHES_PER_SHIFT.toFixed(1)} times a day, and not all come)`,
  );
  const terminals = whole(values.terminals, '--terminals', 20, 2, 64);
  if (terminals % 2 !== 0)
    throw new SeedOptionError('--terminals', 'an even number: an entry and an exit per gate');
  const terminalPort = whole(values['terminal-port'], '--terminal-port', 4370, 1, 65536 - terminals);
  const segmentMaxBytes = whole(
    values['segment-max-bytes'],
    '--segment-max-bytes',
    16 * 1024 * 1024,
    4096,
    1024 ** 3,
  );
  const seed = whole(values.seed, '--seed', 1, 0, 0xffffffff);
  const endDay = values.end ?? utcMsToWall(Date.now() - 86_400_000, timezone).slice(0, 10);
  if (!isDay(endDay)) throw new SeedOptionError('--end', `not a date (YYYY-MM-DD): ${endDay}`);
  const siteName = values.site ?? '示例工地';
  if (siteName.length < 1 || siteName.length > 128) throw new SeedOptionError('--site', '1–128 characters');
  const terminalHost = values['terminal-host'] ?? '127.0.0.1';
  if (terminalHost.length === 0) throw new SeedOptionError('--terminal-host', 'must not be empty');
  return {
    dataDir,
    configFile: resolve(values.config ?? join(dirname(dataDir), `${basename(dataDir)}.config.json`)),
    siteName,
    timezone,
    workers,
    days,
    perDay,
    endDay,
    seed,
    terminals,
    terminalHost,
    terminalPort,
    segmentMaxBytes,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      'data-dir': { type: 'string' },
      workers: { type: 'string' },
      days: { type: 'string' },
      'per-day': { type: 'string' },
      end: { type: 'string' },
      timezone: { type: 'string' },
      site: { type: 'string' },
      terminals: { type: 'string' },
      'terminal-host': { type: 'string' },
      'terminal-port': { type: 'string' },
      'segment-max-bytes': { type: 'string' },
      seed: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
}

function whole(
  text: string | undefined,
  option: string,
  fallback: number,
  min: number,
  max: number,
  tooMany?: () => string,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new SeedOptionError(option, `a whole number from ${min} to ${max}, not "${text}"`);
  }
  if (value > max && tooMany) throw new SeedOptionError(option, tooMany());
  if (value < min || value > max)
    throw new SeedOptionError(option, `a whole number from ${min} to ${max}, not ${value}`);
  return value;
}

function isDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return (
    !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text && date.getUTCFullYear() >= 1990
  );
}

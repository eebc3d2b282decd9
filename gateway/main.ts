import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load';
import { tuneV8ForSmallBox } from './memory-settle';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, runGateway } from './run';
import { VERSION } from './version';

const USAGE = `edge-gateway ${VERSION}

usage:
  edge-gateway start --config FILE     run the gateway
  edge-gateway check-config [--config] FILE  validate a config file (prints "ok", or every problem; exit 2)
  edge-gateway lab [--port P]          the gateway with emulated terminals and platforms on loopback
  edge-gateway emulate KIND [options]  run one emulator (zk, modbus, adms, sichuan, deli); --help for its options
  edge-gateway version                 print the version
  edge-gateway self-check              load every part this build embeds (what the updater runs first)
  edge-gateway fleet watch|send …      the office's view of many sites on an MQTT broker (docs/fleet.md)
  edge-gateway setup-code --config FILE  print the one-time code that sets the first admin password (or --data-dir D)
  edge-gateway seed-history --data-dir D [options]  fill an empty data folder with a realistic history (--help)
`;

/** The command line; resolves with the exit code (long-running commands resolve when stopped). */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return EXIT_OK;
    case 'check-config':
      return checkConfig(rest);
    case 'start':
      return start(rest);
    case '--config':
      return start(argv);
    // Loaded on demand: a box running `start` never pays for the emulators' code and memory.
    case 'lab':
      return (await import('./lab')).runLab(rest);
    case 'emulate':
      return (await import('./emulate')).runEmulator(rest);
    case 'self-check':
      return (await import('./update/self-check')).runSelfCheck();
    case 'fleet':
      return (await import('./fleet/cli')).runFleet(rest);
    case 'setup-code':
      return printSetupCode(rest);
    case 'seed-history':
      return (await import('./history/cli')).runSeedHistory(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? EXIT_CONFIG : EXIT_OK;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return EXIT_CONFIG;
  }
}

function checkConfig(args: readonly string[]): number {
  const usage = 'usage: edge-gateway check-config FILE (or --config FILE, as `start` takes it)\n';
  if (args[0] === '--help' || args[0] === '-h') {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  // `--config FILE` too: an installer checks the file with the words the service starts it with.
  const file = args[0] === '--config' ? args[1] : args[0];
  if (!file || args.length > (args[0] === '--config' ? 2 : 1)) {
    process.stderr.write(usage);
    return EXIT_CONFIG;
  }
  const result = loadConfigFile(file);
  if (!result.ok) {
    process.stdout.write(`${result.problems.join('\n')}\n`);
    return EXIT_CONFIG;
  }
  process.stdout.write('ok\n');
  return EXIT_OK;
}

async function start(args: readonly string[]): Promise<number> {
  tuneV8ForSmallBox();
  const { values } = parseArgs({
    args: [...args],
    options: { config: { type: 'string', short: 'c' } },
    allowPositionals: false,
    strict: true,
  });
  const file = values.config ?? process.env.EDGE_GATEWAY_CONFIG;
  if (!file) {
    process.stderr.write('usage: edge-gateway start --config FILE\n');
    return EXIT_CONFIG;
  }
  const result = loadConfigFile(file);
  if (!result.ok) {
    process.stderr.write(`configuration ${file} is not valid:\n${result.problems.join('\n')}\n`);
    return EXIT_CONFIG;
  }
  return runGateway(result.config, { configFile: file });
}

/**
 * For the installer at the box: the first-run page asks for this code, which the gateway writes to
 * `<dataDir>/setup-code` (0600) and logs at start. Exit 0 with the code, 1 when there is none, 2
 * for a usage or configuration problem.
 */
async function printSetupCode(args: readonly string[]): Promise<number> {
  let values: { config?: string; 'data-dir'?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(
      `${(error as Error).message}\nusage: edge-gateway setup-code --config FILE | --data-dir DIR\n`,
    );
    return EXIT_CONFIG;
  }
  let dataDir = values['data-dir'];
  let configuredHash = false;
  if (!dataDir) {
    const file = values.config ?? process.env.EDGE_GATEWAY_CONFIG;
    if (!file) {
      process.stderr.write('usage: edge-gateway setup-code --config FILE | --data-dir DIR\n');
      return EXIT_CONFIG;
    }
    const result = loadConfigFile(file);
    if (!result.ok) {
      process.stderr.write(`configuration ${file} is not valid:\n${result.problems.join('\n')}\n`);
      return EXIT_CONFIG;
    }
    dataDir = result.config.dataDir;
    configuredHash = result.config.http.adminPasswordHash !== undefined;
  }
  const { readSetupCode, SETUP_CODE_FILE } = await import('./http/setup-code');
  const { ADMIN_PASSWORD_FILE } = await import('./http/admin-credentials');
  const dir = resolve(dataDir);
  let code: string | undefined;
  try {
    code = await readSetupCode(dir);
  } catch (error) {
    process.stderr.write(
      `cannot read ${join(dir, SETUP_CODE_FILE)}: ${(error as Error).message} (run as the gateway's user or root)\n`,
    );
    return EXIT_FAILURE;
  }
  if (code) {
    process.stdout.write(`${code}\n`);
    return EXIT_OK;
  }
  if (configuredHash) {
    process.stderr.write(
      'no setup code: the admin password is set in the configuration (http.adminPasswordHash)\n',
    );
  } else if (existsSync(join(dir, ADMIN_PASSWORD_FILE))) {
    process.stderr.write(
      `no setup code: the admin password is already set (to choose a new one, delete ${join(dir, ADMIN_PASSWORD_FILE)} and restart the gateway)\n`,
    );
  } else {
    process.stderr.write(`no setup code in ${dir} yet: start the gateway, it writes one on its first run\n`);
  }
  return EXIT_FAILURE;
}

// Runs when executed directly (tsx, or the bundled binary), not when imported by tests.
const invokedDirectly =
  process.argv[1] !== undefined &&
  /(?:^|[/\\])(main\.ts|edge-gateway[^/\\]*|gateway\.c?js)$/.test(process.argv[1]);
if (invokedDirectly || process.env.EDGE_GATEWAY_SEA === '1') {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}

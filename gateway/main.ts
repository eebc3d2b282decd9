import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, runGateway } from './run';
import { VERSION } from './version';

const USAGE = `edge-gateway ${VERSION}

usage:
  edge-gateway start --config FILE     run the gateway
  edge-gateway check-config FILE       validate a config file (prints "ok", or every problem; exit 2)
  edge-gateway lab [--port P]          the gateway with emulated terminals and platforms on loopback
  edge-gateway emulate KIND [options]  run one emulator (zk, modbus, adms, sichuan, deli); --help for its options
  edge-gateway version                 print the version
  edge-gateway self-check              load every part this build embeds (what the updater runs first)
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
  const file = args[0];
  if (!file) {
    process.stderr.write('usage: edge-gateway check-config FILE\n');
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

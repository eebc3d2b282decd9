import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load';
import type { GatewayConfig } from '../config/schema';
import { Gateway } from './controller';
import { createLogger } from './logger';
import type { Logger } from './model';
import { UnsupportedPartError } from './parts';
import { VERSION } from './version';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

const USAGE = `edge-gateway ${VERSION}

usage:
  edge-gateway start --config FILE     run the gateway
  edge-gateway check-config FILE       validate a config file (prints "ok", or every problem; exit 2)
  edge-gateway lab [--port P]          the gateway with emulated terminals and platforms on loopback
  edge-gateway emulate KIND [options]  run one emulator (zk, modbus, adms, sichuan, deli); --help for its options
  edge-gateway version                 print the version
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

/** Runs a gateway until SIGTERM/SIGINT, then shuts it down in order (journal flushed, sockets closed). */
export async function runGateway(
  config: GatewayConfig,
  options: {
    configFile?: string;
    httpPort?: number;
    afterStart?: (gateway: Gateway) => Promise<void>;
    beforeStop?: () => Promise<void>;
    logger?: Logger;
  } = {},
): Promise<number> {
  const logger = options.logger ?? createLogger(config.log.level);
  guardProcess(logger);
  const stopRequest = stopSignal(logger);
  const gateway = new Gateway(config, logger, {
    httpPort: options.httpPort,
    processMetrics: true,
    configFile: options.configFile,
    requestExit: stopRequest.request,
  });
  try {
    await gateway.start();
    await options.afterStart?.(gateway);
  } catch (error) {
    if (error instanceof UnsupportedPartError) {
      process.stderr.write(`${error.message}\n`);
      await gateway.stop().catch(() => undefined);
      return EXIT_CONFIG;
    }
    logger.error(
      { error: (error as Error).message, stack: (error as Error).stack },
      'gateway failed to start',
    );
    await gateway.stop().catch(() => undefined);
    return EXIT_FAILURE;
  }
  const code = await stopRequest.stopped;
  await options.beforeStop?.();
  await gateway.stop();
  return code;
}

/** Resolves with the exit code on SIGTERM/SIGINT (0) or when a part asks to stop (a self-update: 75). */
function stopSignal(logger: Logger): { stopped: Promise<number>; request: (code: number) => void } {
  let request: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    const finish = (code: number) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // A second signal while stopping means "now".
      process.once('SIGTERM', () => process.exit(EXIT_FAILURE));
      process.once('SIGINT', () => process.exit(EXIT_FAILURE));
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping');
      finish(EXIT_OK);
    };
    request = (code) => {
      logger.info({ code }, 'stopping to restart');
      finish(code);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return { stopped, request: (code) => request(code) };
}

let guarded = false;
/**
 * A bug in one part must not take the box down: punches keep flowing through the others.
 * Every stray error is logged with its stack so it can be fixed.
 */
function guardProcess(logger: Logger): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason) => {
    logger.error(
      { error: reason instanceof Error ? reason.stack : String(reason) },
      'unhandled rejection (kept running)',
    );
  });
  process.on('uncaughtException', (error) => {
    logger.error({ error: error.stack ?? String(error) }, 'uncaught exception (kept running)');
  });
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

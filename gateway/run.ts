import type { GatewayConfig } from '../config/schema';
import { Gateway } from './controller';
import { createLogger } from './logger';
import type { Logger } from './model';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
/** After an uncaught exception or unhandled rejection (EX_SOFTWARE); the unit's Restart=on-failure starts it again. */
export const EXIT_CRASH = 70;
/** How long a crashing process waits for the journal's pending appends before it exits anyway. */
const CRASH_FLUSH_MS = 2_000;

/** Runs a gateway until SIGTERM/SIGINT, then shuts it down in order (journal flushed, sockets closed). */
export async function runGateway(
  config: GatewayConfig,
  options: {
    configFile?: string;
    httpPort?: number;
    afterStart?: (gateway: Gateway) => Promise<void>;
    /** After the gateway has stopped: lab mode's emulated terminals and platforms. */
    afterStop?: () => Promise<void>;
    logger?: Logger;
    /** Lab mode has no service manager behind it, so a crash message must not promise a restart. */
    lab?: boolean;
  } = {},
): Promise<number> {
  const logger = options.logger ?? createLogger(config.log.level);
  const stopRequest = stopSignal(logger);
  const gateway = new Gateway(config, logger, {
    httpPort: options.httpPort,
    processMetrics: true,
    configFile: options.configFile,
    requestExit: stopRequest.request,
  });
  // Until start() has opened the journal there is nothing to flush.
  guardProcess(logger, () => gateway.flushJournal(), options.lab === true);
  installTestCrash();
  try {
    await gateway.start();
    await options.afterStart?.(gateway);
  } catch (error) {
    logger.error(
      { error: (error as Error).message, stack: (error as Error).stack },
      'gateway failed to start',
    );
    await gateway.stop().catch(() => undefined);
    return EXIT_FAILURE;
  }
  const code = await stopRequest.stopped;
  await gateway.stop();
  await options.afterStop?.();
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
 * A bug that escapes every part leaves the process in a state nobody designed, so it does not carry
 * on. Every acknowledged punch is already on disk; the journal gets a short bound to write the
 * appends still queued, then the process exits with EXIT_CRASH and systemd starts it clean (terminal
 * cursors and upstream cursors are durable, so it resumes where it was). An unhandled rejection is
 * treated the same: it is a loop or a reply that died without anyone noticing, just as undefined.
 */
function guardProcess(logger: Logger, flushJournal: () => Promise<void>, lab: boolean): void {
  if (guarded) return;
  guarded = true;
  let crashing = false;
  const crash = (kind: string, reason: unknown) => {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    if (crashing) {
      logger.error({ error: error.stack ?? error.message }, `${kind} while exiting: ${error.message}`);
      return;
    }
    crashing = true;
    const restart = lab
      ? 'lab mode: nothing restarts it, run `npm start` again'
      : 'the installed service (systemd, Restart=on-failure) starts it again';
    logger.error(
      { error: error.stack ?? error.message, exitCode: EXIT_CRASH },
      `${kind}: ${error.message}; flushing the journal and exiting (${restart})`,
    );
    let bound: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => {
      bound = setTimeout(() => resolve(`not flushed within ${CRASH_FLUSH_MS} ms`), CRASH_FLUSH_MS);
    });
    const flushed = Promise.resolve()
      .then(flushJournal)
      .then(
        () => 'flushed',
        (flushError: unknown) => `not flushed (${(flushError as Error).message})`,
      );
    void Promise.race([flushed, timedOut]).then((outcome) => {
      clearTimeout(bound);
      logger.error({ exitCode: EXIT_CRASH }, `journal ${outcome}; exiting with ${EXIT_CRASH}`);
      process.exit(EXIT_CRASH);
    });
  };
  process.on('uncaughtException', (error) => crash('uncaught exception', error));
  process.on('unhandledRejection', (reason) => crash('unhandled rejection', reason));
}

/**
 * Test-only, from source only (the bundler sets EDGE_GATEWAY_SEA, so the binary drops this): with
 * NODE_ENV=test and EDGE_GATEWAY_TEST_CRASH=exception|rejection, SIGUSR2 makes the process fail as
 * a bug would, at the moment the test chooses (once it has seen punches journaled), not after a
 * guessed delay.
 */
function installTestCrash(): void {
  const kind = process.env.EDGE_GATEWAY_TEST_CRASH;
  if (process.env.EDGE_GATEWAY_SEA === '1' || process.env.NODE_ENV !== 'test' || !kind) return;
  process.on('SIGUSR2', () => {
    const error = new Error(`test crash (EDGE_GATEWAY_TEST_CRASH=${kind})`);
    if (kind === 'rejection') void Promise.reject(error);
    else
      setImmediate(() => {
        throw error;
      });
  });
}

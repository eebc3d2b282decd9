import { EXIT_OK, EXIT_USAGE } from './office';
import { runSend, SEND_USAGE } from './send';
import { runWatch, WATCH_USAGE } from './watch';

/** `edge-gateway fleet watch|send …`: the office's side of the fleet link (docs/fleet.md). */
export async function runFleet(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'watch':
      return runWatch(rest);
    case 'send':
      return runSend(rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${WATCH_USAGE}\n${SEND_USAGE}`);
      return EXIT_OK;
    default:
      process.stderr.write(
        `${command === undefined ? 'fleet needs a command' : `unknown fleet command "${command}"`}\n\n${WATCH_USAGE}\n${SEND_USAGE}`,
      );
      return EXIT_USAGE;
  }
}

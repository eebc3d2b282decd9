/**
 * One update offer applied in a process of its own, for what only a fresh process has:
 * NODE_EXTRA_CA_CERTS is read once at start, NODE_TLS_REJECT_UNAUTHORIZED acts on the whole process.
 *
 *   node --import tsx test/build/update-child.ts BINARY URL SHA256 VERSION
 *
 * Prints the UpdateResult as JSON.
 */
import pino from 'pino';
import { Updater } from '../../gateway/update/updater';

const [binaryPath, url, checksum, version] = process.argv.slice(2);
if (!binaryPath || !url || !checksum || !version) {
  process.stderr.write('usage: update-child.ts BINARY URL SHA256 VERSION\n');
  process.exit(2);
}
const updater = new Updater({
  logger: pino({ level: 'silent' }),
  binaryPath,
  exit: () => undefined,
  restartDelayMs: 0,
  currentVersion: '1.0.0',
});
const result = await updater.applyOffer({ version, url, checksum });
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);

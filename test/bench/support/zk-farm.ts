/**
 * A child process hosting N emulated ZK terminals, so a benchmark measures the gateway's memory,
 * not the emulators'. Talks over the IPC channel: sends `{ports}` once listening, answers
 * `'status'` with each terminal's user count, template count for one PIN, and commands received.
 */
import { ZkEmulator } from '../../../adapters/zk/emulator';

const count = Number(process.argv[2] ?? 10);
const probePin = process.argv[3] ?? '1';

async function main(): Promise<void> {
  const emulators = Array.from({ length: count }, () => new ZkEmulator({ users: 0, records: 0 }));
  const ports = await Promise.all(emulators.map((e) => e.start()));
  process.send?.({ ports });
  process.on('message', (message) => {
    if (message === 'status') {
      process.send?.({
        users: emulators.map((e) => e.users().length),
        templates: emulators.map((e) => e.templates(probePin).length),
        commands: emulators.map((e) => e.stats.commands),
      });
    }
    if (message === 'stop') void Promise.all(emulators.map((e) => e.stop())).then(() => process.exit(0));
  });
}

void main();

/**
 * A child process holding what a seeded box talks to, so the benchmark measures the gateway's
 * memory, not the emulators': N ZK terminals already holding the roster's workers (as a site's
 * terminals do after years), the Sichuan platform and the Deli platform with its broker. Sends
 * `{ports, sichuanUrl, brokerUrl}` over IPC once listening; `'stop'` ends it.
 *
 * argv: the users file (JSON array of `{pin, name, card}`), the terminal count, the site's zone.
 */
import { readFileSync } from 'node:fs';
import { ZkEmulator } from '../../../adapters/zk/emulator';
import type { EmulatedUserInput } from '../../../adapters/zk/emulator-state';
import { DeliEmulator } from '../../../cloud/deli/emulator';
import { SichuanEmulator } from '../../../cloud/sichuan/emulator';
import { testLogger } from '../../support/logger';
import { FARM_DELI, FARM_SICHUAN } from './history-platforms';

async function main(): Promise<void> {
  const [usersFile, countText, zone] = process.argv.slice(2);
  const users = JSON.parse(readFileSync(usersFile!, 'utf8')) as EmulatedUserInput[];
  const emulators = Array.from(
    { length: Number(countText) },
    () =>
      new ZkEmulator({
        users,
        records: 0,
        timeZone: zone,
        encoding: 'gb18030',
        userCapacity: Math.max(10_000, users.length + 1000),
      }),
  );
  const ports = await Promise.all(emulators.map((e) => e.start()));
  const sichuan = new SichuanEmulator({ ...FARM_SICHUAN, host: '127.0.0.1', port: 0 });
  const sichuanUrl = await sichuan.start();
  const deli = new DeliEmulator({ ...FARM_DELI, embedded: true, roster: [], logger: testLogger('deli') });
  await deli.start();
  process.send?.({ ports, sichuanUrl, brokerUrl: deli.brokerUrl });
  process.on('message', (message) => {
    if (message !== 'stop') return;
    void Promise.all([...emulators.map((e) => e.stop()), sichuan.stop(), deli.stop()]).then(() =>
      process.exit(0),
    );
  });
}

void main();

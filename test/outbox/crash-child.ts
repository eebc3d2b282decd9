/**
 * The process the outbox crash test kills: one outbox draining the journal in `dataDir` to one
 * platform, its cursor in the real cursor log, on a disk made slow (every fdatasync held `syncMs`).
 * Prints `ready` once delivering; SIGTERM stops it in order, SIGKILL is the crash.
 *
 * usage: node --import tsx test/outbox/crash-child.ts <dataDir> <sichuan|deli> <endpoint> <cursorSaveBatches> <syncMs>
 */
import { CursorLog } from '../../gateway/outbox/cursor-log';
import { testLogger } from '../support/logger';
import { openJournal, outboxFor, platformClient, platformConfig } from './rig';

async function main(): Promise<void> {
  const [dataDir, name, endpoint, saveBatches, syncMs] = process.argv.slice(2);
  if (!dataDir || (name !== 'sichuan' && name !== 'deli') || !endpoint || !saveBatches || !syncMs)
    throw new Error('usage: crash-child.ts <dataDir> <sichuan|deli> <endpoint> <cursorSaveBatches> <syncMs>');
  const logger = testLogger(`crash-${name}`);
  const config = platformConfig(name, dataDir, endpoint, { cursorSaveBatches: Number(saveBatches) });
  const journal = openJournal(dataDir, logger);
  await journal.open();
  const cursors = new CursorLog({
    dir: dataDir,
    logger,
    beforeSync: () => new Promise((r) => setTimeout(r, Number(syncMs))),
  });
  await cursors.open();
  const upstream = await platformClient(name, config, logger);
  const outbox = outboxFor(upstream, journal, cursors, config, logger);
  outbox.start();
  process.stdout.write(`ready ${outbox.cursor}\n`);
  process.once('SIGTERM', () => {
    void (async () => {
      await outbox.stop();
      await upstream.stop();
      await cursors.close();
      await journal.close();
      process.exit(0);
    })();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`crash child failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

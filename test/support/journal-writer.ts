/**
 * Child process for the crash test: appends batches to a journal forever and prints
 * `ACK <batchId> <count>` after each append has resolved (pipes are synchronous on Linux).
 */

import type { PunchDraft } from '../../gateway/model';
import { PunchJournal } from '../../gateway/store/journal';
import { testLogger } from './logger';

const [dir, runId] = process.argv.slice(2);
if (!dir || !runId) throw new Error('usage: journal-writer DIR RUN_ID');

const journal = new PunchJournal({
  dir,
  segmentMaxBytes: 64 * 1024,
  retentionDays: 90,
  clock: { now: () => Date.now() },
  logger: testLogger(),
});

async function loop(): Promise<void> {
  await journal.open();
  process.stdout.write('READY\n');
  for (let batch = 0; ; batch++) {
    const size = 1 + ((batch * 7919) % 60);
    const drafts: PunchDraft[] = Array.from({ length: size }, (_, i) => ({
      key: `${runId}-${batch}-${i}`,
      terminalId: 't1',
      pin: String(i),
      workerId: null,
      direction: 'in',
      method: 'fp',
      atMs: Date.now(),
      source: 'poll',
      flags: ['unmatched'],
      receivedMs: Date.now(),
    }));
    // Several appends in flight at once exercise the group commit too.
    const halves = [drafts.slice(0, size >> 1), drafts.slice(size >> 1)];
    const results = await Promise.all(halves.map((h) => journal.append(h)));
    process.stdout.write(`ACK ${runId}-${batch} ${results[0]!.length + results[1]!.length}\n`);
  }
}
void loop();

/**
 * A child for test/store/reconciler-records.test.ts: saves one terminal's reconciler record over
 * and over, each save noting one more worker (PIN n with the digest of n), and prints `ACK n` once
 * the save with workers 1…n has resolved. The test kills it at random moments.
 *
 * argv: the records folder, the terminal id.
 */
import { createHash } from 'node:crypto';
import { ReconcilerRecords } from '../../gateway/store/reconciler-records';
import { StateStore } from '../../gateway/store/state';
import { testLogger } from './logger';

/** The digest noted for worker n (the test computes the same). */
function digestOf(n: number): string {
  return createHash('sha256').update(`worker ${n}`).digest('hex').slice(0, 24);
}

async function main(): Promise<void> {
  const [dir, terminalId] = process.argv.slice(2) as [string, string];
  const state = new StateStore(`${dir}/state.json`);
  await state.open();
  const records = new ReconcilerRecords({ dir, state, logger: testLogger() });
  await records.open();
  const record = await records.load(terminalId);
  let n = record.digests.size;
  process.stdout.write('READY\n');
  for (;;) {
    n++;
    record.digests.set(String(n), digestOf(n));
    await record.save();
    process.stdout.write(`ACK ${n}\n`);
  }
}

void main();

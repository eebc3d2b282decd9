/**
 * A backlog drained through the real outbox to each platform's emulator over real sockets, with the
 * cursor log on a disk as slow as an SD card (every fdatasync held 30 ms through the log's
 * `beforeSync` hook). The outbox must not wait for a sync per batch, and at every instant the cursor
 * on disk must be within `cursorSaveBatches` batches of what the platform has received: a power
 * cut at that instant re-sends at most that many batches.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import type { UpstreamName } from '../../gateway/model';
import { CursorLog } from '../../gateway/outbox/cursor-log';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { DELI, fillJournal, openJournal, outboxFor, platformClient, platformConfig, SICHUAN } from './rig';

const SYNC_MS = 30;

let dir: string;
let cleanup: () => Promise<void>;
const stops: Array<() => Promise<void>> = [];
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('outbox-persist-'));
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await cleanup();
});

/** A platform emulator and how many punches it has received so far (duplicates included). */
async function platform(name: UpstreamName): Promise<{ endpoint: string; received: () => number }> {
  if (name === 'sichuan') {
    const emulator = new SichuanEmulator({ ...SICHUAN, random: () => 0.5 });
    const endpoint = await emulator.start();
    stops.push(() => emulator.stop());
    return { endpoint, received: () => emulator.state().punches.length };
  }
  const emulator = new DeliEmulator({ ...DELI, embedded: true, logger: testLogger('deli-emu') });
  await emulator.start();
  stops.push(() => emulator.stop());
  return {
    endpoint: emulator.brokerUrl,
    received: () => emulator.checkins.reduce((n, c) => n + c.users.length, 0),
  };
}

/** Drains `punches` to `name`'s emulator; `cursorSaveBatches` as given, or the gateway's default. */
async function drain(name: UpstreamName, punches: number, cursorSaveBatches?: number) {
  const logger = testLogger(name);
  const { endpoint, received } = await platform(name);
  const config = platformConfig(
    name,
    dir,
    endpoint,
    cursorSaveBatches === undefined ? {} : { cursorSaveBatches },
  );
  const journal = openJournal(dir, logger);
  await journal.open();
  stops.push(() => journal.close());
  await fillJournal(journal, 1, punches);
  // Syncs during which the platform received more punches: the outbox went on sending meanwhile.
  let syncsOverlapped = 0;
  const cursors = new CursorLog({
    dir,
    logger,
    beforeSync: async () => {
      const before = received();
      await new Promise((r) => setTimeout(r, SYNC_MS));
      if (received() > before) syncsOverlapped++;
    },
  });
  await cursors.open();
  stops.push(() => cursors.close());
  const upstream = await platformClient(name, config, logger);
  stops.push(() => upstream.stop());
  const outbox = outboxFor(upstream, journal, cursors, config, logger);
  const key = `outbox.${name}`;

  // Where a restart after a power cut at this instant would resume, against what the platform has.
  let worstLag = 0;
  const sample = () => {
    const resumeAt = cursors.durableCursor(key) ?? 0;
    worstLag = Math.max(worstLag, Math.max(received(), outbox.cursor) - resumeAt);
  };
  const sampler = setInterval(sample, 1);
  outbox.start();
  stops.push(() => outbox.stop());
  try {
    const deadline = Date.now() + 60_000;
    while (outbox.cursor < punches) {
      if (Date.now() > deadline) throw new Error(`${name}: drain stuck at ${outbox.cursor}/${punches}`);
      sample();
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    clearInterval(sampler);
  }
  await outbox.stop();
  return {
    syncsOverlapped,
    worstLag,
    received: received(),
    commits: cursors.commits,
    batch: upstream.maxBatch,
    bound: config.outbox.cursorSaveBatches,
    cursors,
  };
}

describe('outbox cursor persistence on a slow disk', () => {
  for (const [name, punches] of [
    ['sichuan', 3000],
    ['deli', 6000],
  ] as const) {
    it(`${name}: drains without a sync per batch, and the cursor on disk stays within cursorSaveBatches`, async () => {
      const result = await drain(name, punches);
      const bound = result.bound;
      expect(bound).toBe(32);
      const batches = punches / result.batch;
      // Everything arrived, once (a drain without a crash sends nothing twice).
      expect(result.received).toBe(punches);
      // A save per batch would be `batches` commits, each with the outbox waiting and the platform
      // receiving nothing; here a save starts every 8 batches at most and deliveries go on beside it.
      expect(result.commits).toBeLessThanOrEqual(Math.ceil(batches / (bound / 4)) + 3);
      expect(result.syncsOverlapped).toBeGreaterThanOrEqual(Math.floor(result.commits / 2));
      // The documented bound, sampled every millisecond: never more than 32 batches (the one in
      // flight included) past the cursor on disk; and the slow disk did let saves trail behind.
      expect(result.worstLag).toBeLessThanOrEqual(bound * result.batch);
      expect(result.worstLag).toBeGreaterThanOrEqual(4 * result.batch);
      // Stopped: the cursor is on disk.
      expect(result.cursors.durableCursor(`outbox.${name}`)).toBe(punches);
    });
  }

  it('cursorSaveBatches 1 keeps the cursor on disk before the next batch goes (at most the batch in flight)', async () => {
    const result = await drain('sichuan', 300, 1);
    expect(result.received).toBe(300);
    expect(result.worstLag).toBeLessThanOrEqual(result.batch);
    expect(result.commits).toBe(300 / result.batch);
    expect(result.syncsOverlapped).toBe(0);
  });
});

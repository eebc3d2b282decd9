import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZkDriver } from '../../adapters/zk/driver';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { terminalSchema, type ZkTerminalConfig } from '../../config/schema';
import { EventBus } from '../../gateway/events';
import { GatewayMetrics } from '../../gateway/metrics';
import type { PunchCursor } from '../../gateway/model';
import { DedupIndex } from '../../gateway/pipeline/dedup-index';
import { PunchPipeline } from '../../gateway/pipeline/pipeline';
import { PunchJournal } from '../../gateway/store/journal';
import { StateStore } from '../../gateway/store/state';
import { TerminalSupervisor } from '../../gateway/terminals/supervisor';
import { scanJournal } from '../support/journal-scan';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

/** Holds the journal's next fdatasync until released: the window in which a kill loses the write. */
class SyncGate {
  private armed = false;
  private release: (() => void) | undefined;
  private refuse: ((error: Error) => void) | undefined;
  private entered: (() => void) | undefined;
  readonly reached = new Promise<void>((resolve) => {
    this.entered = resolve;
  });

  arm(): void {
    this.armed = true;
  }

  readonly beforeSync = (): Promise<void> => {
    if (!this.armed) return Promise.resolve();
    this.armed = false;
    this.entered?.();
    return new Promise((resolve, reject) => {
      this.release = resolve;
      this.refuse = reject;
    });
  };

  open(): void {
    this.release?.();
  }

  /** The held write fails, as it would on a disk that fills up or goes read-only under it. */
  fail(): void {
    this.refuse?.(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
  }
}

let dir: string;
let cleanup: () => Promise<void>;
const stops: Array<() => Promise<void>> = [];
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('terminal-cursor-'));
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await cleanup();
});

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A ZK terminal with 5 punches in its log, supervised, its first catch-up done; journal writes can be held. */
async function rig() {
  const logger = testLogger('cursor');
  const clock = { now: () => Date.now() };
  const terminal = new ZkEmulator({ port: 0, users: 3, records: 5 });
  await terminal.start();
  stops.push(() => terminal.stop());
  const gate = new SyncGate();
  const journal = new PunchJournal({
    dir: join(dir, 'journal'),
    segmentMaxBytes: 1 << 20,
    retentionDays: 90,
    clock,
    logger,
    beforeSync: gate.beforeSync,
  });
  await journal.open();
  stops.push(() => journal.close());
  const dedup = new DedupIndex(31, clock.now);
  await dedup.load(journal);
  const metrics = new GatewayMetrics();
  const bus = new EventBus();
  const pipeline = new PunchPipeline({
    journal,
    dedup,
    terminals: new Map([['zk-1', { id: 'zk-1', kind: 'zk', direction: 'state', timezone: 'UTC' }]]),
    workers: { resolve: () => undefined },
    bus,
    clock,
    logger,
    metrics,
    retryHeldMs: 200,
  });
  stops.push(async () => pipeline.stop());
  const state = new StateStore(join(dir, 'state.json'));
  await state.open();
  const cursor = state.slot<PunchCursor | null>('terminal.zk-1.cursor');
  const config = terminalSchema.parse({
    id: 'zk-1',
    driver: 'zk',
    direction: 'state',
    host: '127.0.0.1',
    port: terminal.port,
    timeoutMs: 2000,
  }) as ZkTerminalConfig;
  const supervisor = new TerminalSupervisor({
    driver: new ZkDriver(config, { logger, clock }),
    // Only the tests' own catch-ups read the log after the first one.
    options: { pollSeconds: 3600, clockToleranceSeconds: 30, syncClock: false, timezone: 'UTC' },
    pipeline,
    cursor,
    bus,
    metrics,
    clock,
    logger,
  });
  supervisor.start();
  stops.push(() => supervisor.stop());
  // Runs first: a failed assertion must not leave a write, the supervisor or the journal stuck.
  stops.push(async () => gate.open());
  // The whole first catch-up, its cursor write included: a catch-up asked for meanwhile would join it.
  await until('the first catch-up ended', () => supervisor.status().lastCatchUpAt !== undefined);
  const records = () => (cursor.get() as { records?: number } | null | undefined)?.records;
  expect(records()).toBe(5);
  expect(journal.lastSeq).toBe(5);
  return {
    terminal,
    gate,
    journal,
    supervisor,
    records,
    /** What a kill would leave: the state file as it is on disk. */
    recordsOnDisk: async () => {
      const document = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
      return document['terminal.zk-1.cursor']?.records as number | undefined;
    },
    /** The journal as a restart would read it: PIN and path of every line. */
    stored: async () => {
      const lines: string[] = [];
      await scanJournal(journal, (punch) => lines.push(`${punch.pin}/${punch.source}`));
      return lines;
    },
    /**
     * A worker punches; the real-time path claims the punch and its journal write stops before its
     * fsync. Then a catch-up starts and reads the whole log, where all it finds new is that punch.
     */
    async punchHeldThenCatchUp() {
      gate.arm();
      terminal.addPunch({ pin: '2' });
      await gate.reached;
      const commandsBefore = terminal.stats.commands;
      const catchUp = { done: false, promise: Promise.resolve() };
      catchUp.promise = supervisor.catchUpNow().then(() => {
        catchUp.done = true;
      });
      await until('the catch-up read the log', () => terminal.stats.commands >= commandsBefore + 2);
      await new Promise((r) => setTimeout(r, 400));
      return catchUp;
    },
  };
}

describe('terminal cursor and the journal', () => {
  it('a catch-up that finds only a punch taken live waits for its journal write before moving the cursor', async () => {
    const t = await rig();
    const catchUp = await t.punchHeldThenCatchUp();
    expect(await t.recordsOnDisk()).toBe(5);
    expect(t.records()).toBe(5);
    expect(catchUp.done).toBe(false);
    expect(t.journal.lastSeq).toBe(5);

    t.gate.open();
    await catchUp.promise;
    expect(t.records()).toBe(6);
    expect(await t.recordsOnDisk()).toBe(6);
    expect(t.journal.lastSeq).toBe(6);
    // Stored once, by the real-time path that took it first.
    const stored = await t.stored();
    expect(stored).toHaveLength(6);
    expect(stored.at(-1)).toBe('2/realtime');
  });

  it('when that journal write fails instead, the cursor stays until the punch is stored', async () => {
    const t = await rig();
    const catchUp = await t.punchHeldThenCatchUp();
    t.gate.fail();
    await catchUp.promise;
    // The catch-up ends without moving the cursor: the terminal's log still holds the punch.
    expect(t.records()).toBe(5);
    expect(await t.recordsOnDisk()).toBe(5);
    expect(t.supervisor.status().lastError).toMatch(/journal unavailable: ENOSPC/);
    expect(t.supervisor.status().online).toBe(true);
    // The pipeline keeps the refused punch and stores it once the journal takes writes again.
    await until('the held punch stored', () => t.journal.lastSeq === 6);
    await t.supervisor.catchUpNow();
    expect(t.records()).toBe(6);
    expect(await t.recordsOnDisk()).toBe(6);
    const stored = await t.stored();
    expect(stored).toHaveLength(6);
    expect(stored.at(-1)).toBe('2/realtime');
  });
});

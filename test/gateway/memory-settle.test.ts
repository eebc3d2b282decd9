import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { EventBus } from '../../gateway/events';
import { MemorySettle } from '../../gateway/memory-settle';
import { toTerminalUser } from '../../gateway/roster/reconcile-plan';
import { Roster } from '../../gateway/roster/roster';
import { BlobStore } from '../../gateway/store/blobs';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

let stop: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stop.reverse()) await s();
  stop = [];
});

/** A real pino logger whose lines the test reads. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe('start-up memory', () => {
  it('is given back once every terminal is read and through its first roster pass', async () => {
    const { dir, cleanup } = await tempDir('settle-');
    stop.push(cleanup);
    const roster = new Roster({
      file: join(dir, 'roster.json'),
      blobs: new BlobStore(join(dir, 'blobs')),
      bus: new EventBus(),
      clock: { now: () => Date.now() },
      logger: testLogger(),
    });
    await roster.open();
    await roster.apply(
      Array.from({ length: 3000 }, (_, i) => ({
        source: 'local' as const,
        op: 'upsert' as const,
        identity: { gatewayId: `w${i}` },
        name: `工人${i}`,
      })),
    );
    // The terminals hold the roster already: a pass lists 3,000 users each and writes nothing.
    const users = roster.list().map(toTerminalUser);
    const emulators = [0, 1].map(() => new ZkEmulator({ users, records: 0, encoding: 'gb18030' }));
    for (const e of emulators) {
      await e.start();
      stop.push(() => e.stop());
    }
    const config = validateConfig({
      site: { name: 'settle' },
      dataDir: dir,
      http: { host: '127.0.0.1', port: 0 },
      terminals: emulators.map((e, i) => ({
        id: `gate-${i}`,
        driver: 'zk',
        direction: 'in',
        host: '127.0.0.1',
        port: e.port,
        transport: 'tcp',
        encoding: 'gb18030',
      })),
    });
    if (!config.ok) throw new Error(config.problems.join('\n'));
    const { logger, lines } = capturingLogger();
    const gateway = new Gateway(config.config, logger);
    stop.push(() => gateway.stop());
    await gateway.start();
    const settled = await waitFor(
      async () => lines.find((l) => l.msg === 'start-up memory settled'),
      30_000,
      'the start-up memory to be settled',
    );
    // It came after the work it waits for, not on a timer that gave up.
    expect(settled.gaveUpWaiting).toBe(false);
    for (const terminal of gateway.health().terminals) {
      expect(terminal.lastCatchUpAt).toBeDefined();
      expect(terminal.roster?.lastSyncedAt).toBeDefined();
      expect(terminal.roster?.lastSyncedAt).toBeLessThanOrEqual(settled.time as number);
    }
    expect(settled.heapUsedMb as number).toBeLessThan(settled.heapUsedMbBefore as number);
  }, 60_000);

  it('does not wait for ever on a terminal that never answers', async () => {
    let collected = 0;
    const { logger, lines } = capturingLogger();
    const settle = new MemorySettle({
      settled: () => false,
      logger,
      giveUpMs: 200,
      checkEveryMs: 20,
      collect: () => {
        collected++;
      },
    });
    settle.start();
    await waitFor(async () => (collected > 0 ? true : undefined), 5000, 'the collection');
    await new Promise((r) => setTimeout(r, 100));
    settle.stop();
    expect(collected).toBe(1);
    expect(lines.find((l) => l.msg === 'start-up memory settled')).toMatchObject({ gaveUpWaiting: true });
  });
});
